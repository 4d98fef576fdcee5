"""Run folders, notebooks and downloads are data, never code (issue 31, items 4-6 and the smaller ones about settings,
run files and run folders): each crafted input is refused or neutralised, the refusal names the file and why, and
nothing ran: no marker file, no folder changed, no notebook served trusted without its signature."""
import asyncio, json, logging, os, socket, warnings
from pathlib import Path
import pytest, yaml
from conftest import run_main

from sts_study.runs import run_params, process_start
from sts_study.sources import serve_folder, get_source, first_seen_path

EVIL_KEY = "x = 1\nimport os; os.system('touch {marker}')\n_"

def _run_folder(d:Path, status='failed\nboom\n', **params) -> Path:
    "A run folder as `begin_run` leaves it (params.yaml naming it, STATUS), with `params` added to or replacing its parameters."
    d.mkdir(parents=True)
    (d/'params.yaml').write_text(yaml.safe_dump({**run_params('hebrew-mbert', 'smoke', None, 42, {}, d.resolve()), **params}))
    (d/'STATUS').write_text(status)
    return d

# item 4: code through a run folder

def test_resume_refuses_a_params_key_that_is_code(tmp_path):
    "A params.yaml key papermill would write into the parameter cell as code: exit 2 naming the file and the key; the folder as it was, no marker."
    marker = tmp_path/'MARKER'
    run = _run_folder(tmp_path/'outputs/run', **{EVIL_KEY.format(marker=marker): 1})
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    r = run_main('resume', run)
    key = EVIL_KEY.format(marker=marker).replace('\n', '\\n')
    assert r.returncode == 2, r.stderr
    assert r.stderr == (f'sts-study: error: {run}/params.yaml: key "{key}": not a parameter of the reproduction notebook '
                        f'(it takes card, profile, variant, seed, overrides, out)\n')
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before and not marker.exists()

@pytest.mark.parametrize('params,says', [
    ({'overrides': {'args': {'learning_rat': 2e-5}}}, "its recipe and overrides do not validate: recipe hebrew-mbert"),
    ({'seed': '1; import os'}, "key 'seed': expected int, got '1; import os' (str)"),
    ({'out': '/somewhere/else'}, "key 'out': '/somewhere/else' is not this folder (a run folder resumes where it was made)")])
def test_resume_validates_params_before_anything(tmp_path, params, says):
    "Overrides are validated as `-p` overrides are, types and the folder are checked: exit 2, the file named, STATUS unchanged, no run.ipynb."
    run = _run_folder(tmp_path/'run', **params)
    r = run_main('resume', run)
    assert r.returncode == 2 and r.stderr.startswith(f'sts-study: error: {run}/params.yaml: ') and says in r.stderr, r.stderr
    assert (run/'STATUS').read_text() == 'failed\nboom\n' and sorted(p.name for p in run.iterdir()) == ['STATUS', 'params.yaml']
    if 'learning_rat' in str(params): assert "args.learning_rat: unknown training argument (did you mean 'learning_rate'?)" in r.stderr

def test_resume_refuses_a_set_papermill_would_write_unescaped(tmp_path):
    "A YAML `!!set` in the overrides: papermill writes a set as its str(), quotes unescaped; refused as not a plain value."
    marker = tmp_path/'MARKER'
    run = _run_folder(tmp_path/'run')
    (run/'params.yaml').write_text((run/'params.yaml').read_text().replace('overrides: {}', f"overrides: {{args: !!set {{'a\"; open(\"{marker}\", \"w\"); \"': null}}}}"))
    r = run_main('resume', run)
    assert r.returncode == 2 and f"{run}/params.yaml: key overrides.args: a set is not a plain YAML value" in r.stderr, r.stderr
    assert not marker.exists() and (run/'STATUS').read_text() == 'failed\nboom\n'

# item 5: JupyterLab trust, the pre-save hook's folder, card text rendered as Markdown

SCRIPT = {'output_type': 'update_display_data', 'metadata': {}, 'transient': {'display_id': 'a'},
          'data': {'text/html': '<img src=x onerror="fetch(`/api/kernels`)">', 'application/javascript': 'alert(1)'}}

def _contents_manager(root:Path):
    "jupyter_server's file contents manager with the study's class on top, the study's pre-save hook, signatures in memory."
    pytest.importorskip('jupyter_server', reason='the lab extra is not installed (pip install -e .[lab])')
    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
    from nbformat.sign import NotebookNotary, MemorySignatureStore
    from sts_study.lab import contents_manager_class, pre_save
    cm = contents_manager_class(AsyncLargeFileManager)(root_dir=str(root))  # the server's default, as `make lab` runs it
    cm.notary = NotebookNotary(store_factory=MemorySignatureStore, secret=b'test', algorithm='sha256')
    cm.pre_save_hook = pre_save
    return cm

def _nb(*outputs, tags=None):
    return {'nbformat': 4, 'nbformat_minor': 5, 'metadata': {}, 'cells': [
        {'cell_type': 'code', 'id': f'c{i}', 'execution_count': 1, 'metadata': {'tags': t} if t else {}, 'outputs': o, 'source': 'x = 1'}
        for i, (o, t) in enumerate([([], tags), (list(outputs), None)] if tags else [(list(outputs), None)])]}

def test_lab_serves_a_script_in_update_display_data_untrusted(tmp_path, caplog):
    "A notebook from elsewhere with an update_display_data script: served untrusted (no signature), saved unsigned."
    cm = _contents_manager(tmp_path)
    (tmp_path/'evil.ipynb').write_text(json.dumps(_nb(SCRIPT)))
    with caplog.at_level(logging.WARNING):
        m = asyncio.run(cm.get('evil.ipynb'))
        assert [c['metadata']['trusted'] for c in m['content']['cells']] == [False]
        asyncio.run(cm.save({'type': 'notebook', 'format': 'json', 'content': m['content']}, 'evil.ipynb'))  # saved as the browser sends it back
    import nbformat
    assert cm.notary.check_signature(nbformat.read(str(tmp_path/'evil.ipynb'), as_version=4)) is False  # not signed into the database
    assert [c['metadata']['trusted'] for c in asyncio.run(cm.get('evil.ipynb'))['content']['cells']] == [False]
    assert caplog.messages.count('Notebook evil.ipynb is not trusted') >= 2

def test_lab_pre_save_writes_only_into_a_run_folder_under_outputs(tmp_path, monkeypatch, caplog):
    "A template whose run record names a folder outside the outputs folder (with a STATUS file): nothing written there, the refusal logged."
    from sts_study.lab import run_folder_output
    monkeypatch.setenv('STS_STUDY_OUTPUTS', str(tmp_path/'outputs'))
    target = tmp_path/'home/.config'; target.mkdir(parents=True); (target/'STATUS').write_text('running\n')
    (tmp_path/'nbs').mkdir()
    cm = _contents_manager(tmp_path/'nbs')
    with caplog.at_level(logging.WARNING):
        asyncio.run(cm.save({'type': 'notebook', 'format': 'json', 'content': _nb(run_folder_output(target, token='t'), tags=['parameters'])}, 'reproduce.ipynb'))
    assert sorted(p.name for p in target.iterdir()) == ['STATUS']
    assert (f"reproduce.ipynb: run folder {target} is not under the outputs folder {tmp_path/'outputs'}; its run is not kept") in caplog.messages
    assert json.loads((tmp_path/'nbs/reproduce.ipynb').read_text())['cells'][1]['outputs'] == []  # the template kept clean
    run = _run_folder(tmp_path/'outputs/run', status='running\n')  # a real run folder under outputs/: kept there
    asyncio.run(cm.save({'type': 'notebook', 'format': 'json', 'content': _nb(run_folder_output(run, token='t'), tags=['parameters'])}, 'reproduce.ipynb'))
    assert (run/'run.ipynb').exists()

def test_card_text_in_comparison_renders_as_text(tmp_path):
    "A crafted card's framework version `4.42.4<img src=x onerror=...>` reaches comparison.md as text: rendered, no element."
    mistune = pytest.importorskip('mistune', reason='mistune (nbconvert, the lab extra) renders the Markdown here')
    from sts_study.card import parse_card, Card
    from sts_study.report import comparison_markdown
    from sts_study.settings import PACKAGE_CARDS
    evil = parse_card((PACKAGE_CARDS/'korean-gte-kornli-korsts.md').read_text().replace(
        '- Transformers: 4.42.4', '- Transformers: 4.42.4<img src=x onerror=alert(1)>').replace(
        '- `per_device_train_batch_size`: 8', '- `per_device_train_batch_size`: 8<script>alert(2)</script>'), 'evil.md')
    mine = Card(framework_versions={'Transformers': '4.42.4'}, hyperparameters={'per_device_train_batch_size': 64})
    from sts_study.record import RunRecord
    run = RunRecord(card='korean-gte', profile='smoke', seed=42, steps=1, before={}, after={}, cosine={}, gold={})
    md = comparison_markdown(run, evil, mine, '', {'n': 0}, [])
    html = mistune.html(md)
    assert '4.42.4&lt;img src=x onerror=alert(1)&gt;' in html and '8&lt;script&gt;alert(2)&lt;/script&gt;' in html, md
    assert '<img' not in html and '<script' not in html

# item 6: unpinned downloads and plain-HTTP base URLs

def _forged_mirror(root:Path) -> Path:
    "KorNLI's two unpinned train files, forged (one row each), laid out as a mirror."
    for f in get_source('kornli-train').files:
        (root/f.key).parent.mkdir(parents=True, exist_ok=True)
        (root/f.key).write_text('sentence1\tsentence2\tgold_label\nforged\tforged\tentailment\n')
    return root

def test_unpinned_file_refused_then_pinned_on_first_use(tmp_path, monkeypatch):
    "A forged KorNLI train file from an HTTP mirror on this machine: refused (nothing cached); with --allow-unpinned its sha256"
    "is recorded and checked: a different copy later is refused; its row count is checked when it is read."
    base, srv = serve_folder(_forged_mirror(tmp_path/'m'))
    try:
        for k, v in dict(STS_STUDY_MIRROR=tmp_path/'empty', STS_STUDY_BASE_URL=base, STS_STUDY_CACHE=tmp_path/'cache').items(): monkeypatch.setenv(k, str(v))
        f = get_source('kornli-train').split_files('train')[0]
        r = run_main('data', 'fetch', '-q', 'kornli-train')
        assert r.returncode == 1 and r.stdout == ''
        assert (f'FAILED   kornli-train/train: {f.key} (kornli-train/train) has no sha256 pinned in the registry, so the downloaded copy '
                f'cannot be verified: refused.') in r.stderr, r.stderr
        assert not (tmp_path/'cache').exists()
        with warnings.catch_warnings(): warnings.simplefilter('ignore'); r = run_main('data', 'fetch', '-q', '--allow-unpinned', 'kornli-train')
        assert r.returncode == 0, r.stderr
        import hashlib
        sha = hashlib.sha256((tmp_path/'m'/f.key).read_bytes()).hexdigest()
        assert first_seen_path(f).read_text() == f'{sha}  {f.key}\n'
        (tmp_path/'m'/f.key).write_text('sentence1\tsentence2\tgold_label\nother\tforged\tentailment\n'); (tmp_path/'cache'/f.key).unlink()
        r = run_main('data', 'fetch', '-q', '--allow-unpinned', 'kornli-train')  # the flag never overrides what was seen
        assert r.returncode == 1 and f'checksum mismatch for {f.key} downloaded from {base}/{f.key}: expected sha256 {sha} (first seen' in r.stderr, r.stderr
        assert not (tmp_path/'cache'/f.key).exists()
    finally: srv.shutdown()

def test_row_count_checked_after_reading(tmp_path, monkeypatch):
    "An unpinned file the user accepted must still have the registry's rows."
    from sts_study.data import load_registry_dataset, DataError
    _forged_mirror(tmp_path/'m')
    for k, v in dict(STS_STUDY_MIRROR=tmp_path/'m', STS_STUDY_CACHE=tmp_path/'cache', STS_STUDY_ALLOW_UNPINNED='1').items(): monkeypatch.setenv(k, str(v))
    with warnings.catch_warnings(), pytest.raises(DataError) as e:
        warnings.simplefilter('ignore'); load_registry_dataset('kornli-train', 'train')
    assert str(e.value) == (f"{tmp_path}/m/kakaobrain/kor-nlu-datasets/KorNLI/snli_1.0_train.ko.tsv, line 0, field '<rows>': 1 rows, but the registry "
                            f"says 550,152 for kakaobrain/kor-nlu-datasets/KorNLI/snli_1.0_train.ko.tsv: not the file the study was written for")

@pytest.mark.parametrize('url,says', [('http://mirror.example/m', 'http://mirror.example/m is plain http:// to another machine'),
                                      ('ftp://mirror.example/m', 'ftp://mirror.example/m is not an https:// URL')])
def test_plain_http_base_url_refused(tmp_path, monkeypatch, url, says):
    "A base URL anyone on the way could answer: refused before anything is fetched (exit 1), naming the setting."
    monkeypatch.setenv('STS_STUDY_BASE_URL', url); monkeypatch.setenv('STS_STUDY_CACHE', str(tmp_path/'cache'))
    r = run_main('data', 'fetch', '-q', 'korsts')
    assert r.returncode == 1 and r.stderr == f'sts-study: error: settings: base_url: {says}' + (
        ' (anyone on the way can change the files): use https://, or http:// only to localhost, 127.0.0.1, ::1\n' if 'plain' in says else '\n'), r.stderr
    assert not (tmp_path/'cache').exists()

# the smaller ones: settings.ini, run files' modes, malformed run folders, reused pids

def test_settings_ini_in_a_shared_parent_is_not_read(tmp_path, monkeypatch):
    "A settings.ini planted in a parent folder (outside any checkout) does not redirect outputs."
    (tmp_path/'settings.ini').write_text(f"[study]\noutputs = {tmp_path/'planted'}\n")
    (tmp_path/'planted/evil-run').mkdir(parents=True); (tmp_path/'work').mkdir()
    monkeypatch.chdir(tmp_path/'work'); monkeypatch.delenv('STS_STUDY_OUTPUTS', raising=False); monkeypatch.delenv('STS_STUDY_SETTINGS', raising=False)
    from sts_study.settings import find_settings, get_settings
    assert find_settings(tmp_path/'work') is None and get_settings().outputs != tmp_path/'planted'
    r = run_main('runs')
    assert r.returncode == 0 and str(tmp_path/'planted') not in r.stdout

def test_run_files_never_touch_the_umask(tmp_path):
    "write_atomic gives the mode a plain open() gives without changing the process umask (a race with other threads), and fsyncs the folder."
    from sts_study.settings import write_atomic
    mask = os.umask(0o027); os.umask(mask)
    from unittest.mock import patch
    synced = []
    with patch('os.umask', side_effect=AssertionError('the process umask was changed')), patch('os.fsync', lambda fd: synced.append(os.path.isdir(f'/proc/self/fd/{fd}'))):
        p = write_atomic(tmp_path/'STATUS', 'complete\n')
    assert (p.read_text(), oct(p.stat().st_mode & 0o777), synced) == ('complete\n', oct(0o666 & ~mask), [False, True])

def test_runs_lists_malformed_folders_and_goes_on(tmp_path):
    "Malformed params.yaml, STATUS and metrics.json: each listed as malformed naming its file; the good run is listed too (exit 0)."
    _run_folder(tmp_path/'a-good')
    (tmp_path/'b-yaml').mkdir(); (tmp_path/'b-yaml/params.yaml').write_text('card: [\n')
    _run_folder(tmp_path/'c-status', status='rm -rf /\n')
    _run_folder(tmp_path/'d-metrics', status='complete\n'); (tmp_path/'d-metrics/metrics.json').write_text('[1]')
    _run_folder(tmp_path/'e-keys', evil=1)
    r = run_main('runs', tmp_path, '--json')
    assert r.returncode == 0, r.stderr
    rows = {x['folder']: (x['status'], x['problem']) for x in json.loads(r.stdout)}
    assert rows['a-good'] == ('failed', None)
    assert rows['b-yaml'][0] == 'malformed' and rows['b-yaml'][1].startswith(f"{tmp_path}/b-yaml/params.yaml: not a YAML file of parameters (ParserError")
    assert rows['c-status'] == ('malformed', f"{tmp_path}/c-status/STATUS: first line 'rm -rf /' is not one of running, failed, interrupted, complete")
    assert rows['d-metrics'] == ('malformed', f"{tmp_path}/d-metrics/metrics.json: not a JSON object")
    assert rows['e-keys'] == ('malformed', f"{tmp_path}/e-keys/params.yaml: key 'evil': not a parameter of the reproduction notebook (it takes card, profile, variant, seed, overrides, out)")
    r = run_main('runs', tmp_path)
    assert r.returncode == 0 and f"malformed: c-status: {tmp_path}/c-status/STATUS: first line 'rm -rf /'" in r.stdout

def test_reused_pid_is_not_the_run(tmp_path):
    "STATUS running, PROCESS naming a live pid that started at another time (the pid reused): the run reads interrupted."
    run = _run_folder(tmp_path/'run', status='running\n')
    me, start = os.getpid(), process_start(os.getpid())
    assert start is not None, 'no /proc here'
    (run/'PROCESS').write_text(f'{socket.gethostname()} {me} {start}\n')
    assert json.loads(run_main('runs', tmp_path, '--json').stdout)[0]['status'] == 'running'
    boot, ticks = start.rsplit('/', 1)
    (run/'PROCESS').write_text(f'{socket.gethostname()} {me} {boot}/{int(ticks) + 1}\n')  # this pid, a later process
    assert json.loads(run_main('runs', tmp_path, '--json').stdout)[0]['status'] == 'interrupted'
