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
    "A Jupyter server with the repository's save hook over a git copy of the notebooks and pyproject.toml."
    repo = tmp_path/'repo'; (repo/'nbs').mkdir(parents=True)
    shutil.copy(ROOT/'pyproject.toml', repo); shutil.copy(ROOT/'.gitignore', repo)
    for nb in (ROOT/'nbs').glob('*.ipynb'): shutil.copy(nb, repo/'nbs'/nb.name)
    git = lambda *a: subprocess.run(['git', *a], cwd=repo, check=True, capture_output=True, text=True).stdout
    git('init', '-q'); git('add', '-A'); git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'nbs')
    port, token = _free_port(), 'sts-study-test'
    p = subprocess.Popen([str(BIN/'jupyter'), 'server', f'--config={ROOT}/jupyter_server_config.py', f'--ServerApp.root_dir={repo}',
                          f'--port={port}', '--ip=127.0.0.1', f'--IdentityProvider.token={token}', '--no-browser', '--allow-root'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=repo)
    url, h = f'http://127.0.0.1:{port}/api/contents', {'Authorization': f'token {token}'}
    for _ in range(120):
        try:
            if requests.get(url, headers=h, timeout=2).ok: break
        except requests.ConnectionError: time.sleep(0.5)
    try: yield repo, url, h, git
    finally: p.terminate(); p.wait(timeout=30)

def test_save_without_edits_leaves_git_clean(server):
    repo, url, h, git = server
    names = sorted(p.name for p in (repo/'nbs').glob('*.ipynb'))
    assert len(names) >= 12
    for n in names:  # what JupyterLab does on save: PUT the notebook model it loaded
        m = requests.get(f'{url}/nbs/{n}', headers=h, params={'content': 1}).json()
        r = requests.put(f'{url}/nbs/{n}', headers=h, json={'type': 'notebook', 'format': 'json', 'content': m['content']})
        assert r.ok, (n, r.text[:300])
    assert git('status', '--porcelain') == ''

def test_save_cleans_metadata_and_keeps_parameters_tag(server):
    repo, url, h, git = server
    m = requests.get(f'{url}/nbs/reproduce.ipynb', headers=h, params={'content': 1}).json()['content']
    for c in m['cells']:
        if c['cell_type'] == 'code':
            c.update(execution_count=7, outputs=[{'output_type': 'stream', 'name': 'stdout', 'text': 'ran\n'}])
            c['metadata']['collapsed'] = True
    assert requests.put(f'{url}/nbs/reproduce.ipynb', headers=h, json={'type': 'notebook', 'format': 'json', 'content': m}).ok
    saved = json.loads((repo/'nbs/reproduce.ipynb').read_text())
    code = [c for c in saved['cells'] if c['cell_type'] == 'code']
    # nbdev's clean (as nbdev-clean does): execution counts and editor metadata go, outputs stay, papermill's tag survives
    assert all(c['execution_count'] is None and 'collapsed' not in c['metadata'] for c in code)
    assert any(c['metadata'].get('tags') == ['parameters'] for c in code)
    m['cells'] = [{**c, 'outputs': []} if c['cell_type'] == 'code' else c for c in m['cells']]  # the edit undone: clean again
    assert requests.put(f'{url}/nbs/reproduce.ipynb', headers=h, json={'type': 'notebook', 'format': 'json', 'content': m}).ok
    assert git('status', '--porcelain') == ''

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
    assert r.returncode != 0
    failed = [p.parent for p in (tmp_path/'outputs').glob('*/STATUS') if p.parent not in done]
    assert len(failed) == 1 and (failed[0]/'STATUS').read_text().startswith('failed') and 'nobody/no-such-model' in (failed[0]/'STATUS').read_text()
    r = run_cli('runs', tmp_path/'outputs', '--json')
    assert r.returncode == 0, r.stderr
    assert sorted(x['status'] for x in json.loads(r.stdout)) == ['complete', 'failed']
