"""JupyterLab as a way in: notebooks saved through the Jupyter server (what JupyterLab's save does) stay clean in git,
and the reproduction notebook run cell by cell outside the CLI leaves a first-class run folder."""
import json, os, shutil, socket, subprocess, sys, time
from pathlib import Path
import pytest, requests
from conftest import ROOT, MIRROR, needs_mirror, run_cli

jupyter_server = pytest.importorskip('jupyter_server', reason='the lab extra is not installed (pip install -e .[lab])')
BIN = Path(sys.executable).parent

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture
def server(tmp_path):
    "A Jupyter server with the repository's config, laid out as `make lab` runs it: a git copy of the repository's notebooks and"
    "pyproject.toml, the server started in the copy's root and serving nbs/ (API paths are relative to nbs/); its outputs folder tmp_path/outputs."
    repo = tmp_path/'repo'; (repo/'nbs').mkdir(parents=True)
    shutil.copy(ROOT/'pyproject.toml', repo); shutil.copy(ROOT/'.gitignore', repo)
    for nb in (ROOT/'nbs').glob('*.ipynb'): shutil.copy(nb, repo/'nbs'/nb.name)
    git = lambda *a: subprocess.run(['git', *a], cwd=repo, check=True, capture_output=True, text=True).stdout
    git('init', '-q'); git('add', '-A'); git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'nbs')
    port, token, log = _free_port(), 'sts-study-test', tmp_path/'server.log'
    with open(log, 'w') as err:
        p = subprocess.Popen([str(BIN/'jupyter'), 'server', f'--config={ROOT}/jupyter_server_config.py', f'--ServerApp.root_dir={repo/"nbs"}',
                              f'--port={port}', '--ip=127.0.0.1', f'--IdentityProvider.token={token}', '--no-browser', '--allow-root'],
                             stdout=subprocess.DEVNULL, stderr=err, cwd=repo, env={**os.environ, 'STS_STUDY_OUTPUTS': str(tmp_path/'outputs')})
    url, h = f'http://127.0.0.1:{port}/api/contents', {'Authorization': f'token {token}'}
    for _ in range(120):
        try:
            if requests.get(url, headers=h, timeout=2).ok: break
        except requests.ConnectionError: time.sleep(0.5)
    try: yield repo, url, h, git, log
    finally: p.terminate(); p.wait(timeout=30)

def _log_clean(log, trust=True):
    "No error in the server's log (the hook failing on a path logs `[E ... Pre-save hook ... failed`), nor (`trust`) an untrusted save."
    text = log.read_text()
    assert '[E ' not in text and not (trust and 'not trusted' in text), text[-4000:]

def _get(url, h, name): return requests.get(f'{url}/{name}', headers=h, params={'content': 1}).json()['content']
def _put(url, h, name, nb):
    r = requests.put(f'{url}/{name}', headers=h, json={'type': 'notebook', 'format': 'json', 'content': nb})
    assert r.ok, (name, r.text[:300])

def test_save_without_edits_leaves_git_clean(server):
    repo, url, h, git, log = server
    names = sorted(p.name for p in (repo/'nbs').glob('*.ipynb'))
    assert names == sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb')) and '12_reproduce_card.ipynb' in names  # every notebook of the repository
    for n in names:  # what JupyterLab does on save: PUT the notebook model it loaded
        m = _get(url, h, n)
        # served with the kernel metadata JupyterLab writes once the kernel starts (else opening marks it modified)
        spec = requests.get(url.replace('/contents', '/kernelspecs'), headers=h).json()['kernelspecs']['python3']['spec']
        assert m['metadata']['kernelspec'] == {'display_name': spec['display_name'], 'language': 'python', 'name': 'python3'}, n
        assert m['metadata']['language_info']['version'] == sys.version.split()[0], n
        _put(url, h, n, m)
    assert git('status', '--porcelain') == ''
    _log_clean(log, trust=False)  # a notebook with rich outputs from elsewhere (unsigned here) is rightly not trusted

def test_save_cleans_metadata_and_keeps_parameters_tag(server):
    repo, url, h, git, log = server
    for n in ('12_reproduce_card.ipynb', '05_metrics.ipynb'):  # a template and a module notebook
        m = _get(url, h, n)
        for c in m['cells']:
            if c['cell_type'] == 'code':
                c.update(execution_count=7, outputs=[{'output_type': 'stream', 'name': 'stdout', 'text': 'ran\n'},
                                                     {'output_type': 'display_data', 'metadata': {}, 'data': {'text/markdown': '**ran**'}}])
                c['metadata'].update(collapsed=True, trusted=True)  # as JupyterLab sends a cell it ran
        _put(url, h, n, m)
        saved = json.loads((repo/'nbs'/n).read_text())
        code = [c for c in saved['cells'] if c['cell_type'] == 'code']
        # nbdev's clean (as nbdev-clean does): execution counts and editor metadata go, no trust flag in the file, papermill's tag survives
        assert all(c['execution_count'] is None and 'collapsed' not in c['metadata'] and 'trusted' not in c['metadata'] for c in code)
        # a module notebook keeps its outputs; a template is kept without (its run goes to the run folder)
        assert all(len(c['outputs']) == (0 if n == '12_reproduce_card.ipynb' else 2) for c in code), n
        m['cells'] = [{**c, 'outputs': []} if c['cell_type'] == 'code' else c for c in m['cells']]  # the edit undone: clean again
        _put(url, h, n, m)
    assert any(c['metadata'].get('tags') == ['parameters'] for c in json.loads((repo/'nbs/12_reproduce_card.ipynb').read_text())['cells'])
    assert git('status', '--porcelain') == ''
    _log_clean(log)  # the rich outputs of cells run in the browser are trusted: no "Notebook ... is not trusted"

def test_template_run_is_saved_in_its_run_folder(server, tmp_path):
    "reproduce.ipynb saved after a run in Lab: the template untouched on disk, the executed copy in the run folder the run recorded."
    from sts_study.lab import run_folder_output
    repo, url, h, git, log = server
    from sts_study.runs import run_params
    import yaml
    run = tmp_path/'outputs/korean-gte-smoke-1'; run.mkdir(parents=True); (run/'STATUS').write_text('complete\n')  # a run folder under the server's outputs
    (run/'params.yaml').write_text(yaml.safe_dump(run_params('korean-gte', 'smoke', None, 42, {}, run.resolve())))
    (run/'run.ipynb').write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')  # another execution's (papermill's)
    m = _get(url, h, '12_reproduce_card.ipynb')
    png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='
    for i, c in enumerate(c for c in m['cells'] if c['cell_type'] == 'code'):
        c.update(execution_count=i+1, outputs=[{'output_type': 'stream', 'name': 'stdout', 'text': f'cell {i} at /tmp/x\n'},
                                               {'output_type': 'display_data', 'metadata': {}, 'data': {'image/png': png, 'text/plain': '<Figure>'}}])
        c['metadata']['trusted'] = True
        if 'begin_run' in ''.join(c['source']): c['outputs'].append(run_folder_output(run, token='lab-1'))
    m['metadata']['widgets'] = {'application/vnd.jupyter.widget-state+json': {'state': {}, 'version_major': 2, 'version_minor': 0}}
    for _ in range(2): _put(url, h, '12_reproduce_card.ipynb', m)  # saved twice (Ctrl+S, autosave): the same execution, one copy
    assert git('status', '--porcelain') == ''  # the template is as it was
    assert sorted(p.name for p in run.glob('*.ipynb')) == ['run.1.ipynb', 'run.ipynb']  # the earlier copy kept, as `sts-study resume` keeps it
    ex = json.loads((run/'run.ipynb').read_text())
    code = [c for c in ex['cells'] if c['cell_type'] == 'code']
    assert [c['execution_count'] for c in code] == list(range(1, len(code)+1))
    assert all(c['outputs'][1]['data']['image/png'] == png and 'trusted' not in c['metadata'] for c in code)
    assert any(c['metadata'].get('tags') == ['parameters'] for c in code)
    _log_clean(log)

@needs_mirror
def test_notebook_run_outside_cli_is_a_first_class_run(tmp_path):
    "reproduce.ipynb executed with nbconvert (as a Lab user would run it): a complete run; a failing one is marked failed."
    env = {**os.environ, 'STS_STUDY_MIRROR': str(MIRROR), 'STS_STUDY_OUTPUTS': str(tmp_path/'outputs')}
    nb = ROOT/'sts_study/notebooks/reproduce.ipynb'
    r = subprocess.run([str(BIN/'jupyter'), 'nbconvert', '--to', 'notebook', '--execute', nb, '--output-dir', tmp_path],
                       env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    done = [p.parent for p in (tmp_path/'outputs').glob('*/STATUS')]
    assert len(done) == 1 and (done[0]/'STATUS').read_text().startswith('complete')
    assert (done[0]/'params.yaml').exists() and (done[0]/'metrics.json').exists()
    out = json.loads((tmp_path/'reproduce.ipynb').read_text())
    text = json.dumps([c.get('outputs') for c in out['cells']])
    assert 'IProgress not found' not in text and 'DeprecationWarning' not in text
    # a forced failure (a hub model that is nowhere, the hub offline; the recipe itself is valid): the folder says failed, with the error
    bad = json.loads(nb.read_text())
    p = next(c for c in bad['cells'] if 'parameters' in c['metadata'].get('tags', []))
    p['source'] = ''.join(p['source']).replace('overrides = {}', "overrides = {'model': {'base': 'nobody/no-such-model'}}")
    (tmp_path/'bad.ipynb').write_text(json.dumps(bad))
    r = subprocess.run([str(BIN/'jupyter'), 'nbconvert', '--to', 'notebook', '--execute', tmp_path/'bad.ipynb', '--output-dir', tmp_path/'b'],
                       env={**env, 'HF_HUB_OFFLINE': '1'}, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 1 and 'CellExecutionError' in r.stderr, r.stderr[-3000:]
    failed = [p.parent for p in (tmp_path/'outputs').glob('*/STATUS') if p.parent not in done]
    assert len(failed) == 1 and (failed[0]/'STATUS').read_text().startswith('failed') and 'nobody/no-such-model' in (failed[0]/'STATUS').read_text()
    r = run_cli('runs', tmp_path/'outputs', '--json')
    assert r.returncode == 0, r.stderr
    assert sorted(x['status'] for x in json.loads(r.stdout)) == ['complete', 'failed']
