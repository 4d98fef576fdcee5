"""JupyterLab in a real browser (headless Chromium), as a user finds it through `make lab`: open 12_reproduce_card.ipynb (it is
not marked modified), Run All with the smoke profile, Ctrl+S. The run folder is complete and holds the executed
notebook, the repository the server serves is clean in git, and the server logged no error and no untrusted save.
Opt-in (a browser and a whole smoke run: a few minutes on 2 cores): STS_STUDY_BROWSER=1, with /usr/bin/chromium and
the Python playwright package (`pip install -e .[browser]`; playwright's own browser download is not used)."""
import importlib.util, os, re, shutil, socket, subprocess, sys, time, json
from pathlib import Path
import pytest, requests
from conftest import ROOT, MIRROR, needs_mirror

BIN = Path(sys.executable).parent
CHROMIUM = Path('/usr/bin/chromium')
# without these a headless Chromium on a closed network hangs on its own connections
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']

def _skip_reason():
    if not os.environ.get('STS_STUDY_BROWSER'): return 'opt-in: set STS_STUDY_BROWSER=1 (JupyterLab in headless Chromium, a smoke run: minutes)'
    if not CHROMIUM.exists(): return f'no Chromium at {CHROMIUM} (apt-get install chromium)'
    if importlib.util.find_spec('playwright') is None: return 'the playwright package is not installed (pip install -e .[browser])'
    if importlib.util.find_spec('jupyterlab') is None: return 'the lab extra is not installed (pip install -e .[lab])'

_SKIP = _skip_reason()
pytestmark = [pytest.mark.skipif(_SKIP is not None, reason=str(_SKIP)), needs_mirror]

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _copy_repo(dst:Path) -> Path:
    "The working tree as git sees it (tracked and untracked files, not ignored ones), committed in a fresh repository at `dst`."
    names = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], cwd=ROOT, capture_output=True, check=True).stdout
    for f in filter(None, names.decode().split('\0')):
        s, d = ROOT/f, dst/f
        if not (s.exists() or s.is_symlink()): continue  # deleted in the working tree
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_symlink(): d.symlink_to(os.readlink(s))  # nbs/12_reproduce_card.ipynb links to the package's template
        else: shutil.copy2(s, d)
    git = lambda *a: subprocess.run(['git', *a], cwd=dst, check=True, capture_output=True, text=True).stdout
    git('init', '-q'); git('add', '-A'); git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'working tree')
    return dst

_JS_STATE = """() => {
  const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const last = cells[cells.length - 1];
  return {status: ind ? ind.getAttribute('data-status') : null,
          prompt: last ? (last.querySelector('.jp-InputPrompt') || {}).innerText || '' : '',
          last: last ? [...last.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\\n') : '',
          outputs: cells.map(c => [...c.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).join('\\n')).join('\\n----\\n')};
}"""

def test_lab_run_all_and_save(tmp_path):
    repo = _copy_repo(tmp_path/'repo')
    outputs, jup, log = tmp_path/'outputs', tmp_path/'jupyter', tmp_path/'server.log'
    port, token = _free_port(), 'sts-study-browser'
    env = {**os.environ, 'PYTHONPATH': str(repo), 'STS_STUDY_OUTPUTS': str(outputs), 'STS_STUDY_MIRROR': str(MIRROR),
           'JUPYTER_CONFIG_DIR': str(jup/'config'), 'JUPYTER_DATA_DIR': str(jup/'data'), 'JUPYTER_RUNTIME_DIR': str(jup/'runtime')}
    # `make lab`: jupyter lab --config=jupyter_server_config.py --notebook-dir=nbs $(LAB_ARGS), from the repository root;
    # LAB_ARGS here: a free port, a token, no browser of its own, and a fresh workspace and settings
    cmd = [str(BIN/'jupyter'), 'lab', '--config=jupyter_server_config.py', '--notebook-dir=nbs', f'--port={port}', '--ip=127.0.0.1',
           f'--IdentityProvider.token={token}', '--no-browser', '--allow-root',
           f'--LabApp.workspaces_dir={jup/"workspaces"}', f'--LabApp.user_settings_dir={jup/"settings"}']
    base = f'http://127.0.0.1:{port}'
    git_status = lambda: subprocess.run(['git', 'status', '--porcelain'], cwd=repo, capture_output=True, text=True, check=True).stdout
    with open(log, 'w') as err: server = subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=err)
    ctx = lambda: f'\n--- server log ---\n{log.read_text()[-8000:]}'
    from playwright.sync_api import sync_playwright
    try:
        for _ in range(240):
            try:
                if requests.get(f'{base}/api/status', headers={'Authorization': f'token {token}'}, timeout=2).ok: break
            except requests.ConnectionError: pass
            assert server.poll() is None, 'the server exited' + ctx()
            time.sleep(0.5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f'{base}/lab/tree/12_reproduce_card.ipynb?token={token}')
                page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=180_000)
                tab = page.locator('.lm-TabBar-tab', has_text='12_reproduce_card.ipynb').first
                page.wait_for_timeout(3000)  # Lab writes the kernel's metadata into the notebook as the kernel starts
                assert 'jp-mod-dirty' not in tab.get_attribute('class'), '12_reproduce_card.ipynb is marked modified as it opens' + ctx()
                page.get_by_role('menuitem', name='Run', exact=True).click()
                page.locator('.lm-Menu-item', has_text=re.compile(r'^Run All Cells')).click()
                t0, busy_seen, idle_since = time.time(), False, None
                while time.time() - t0 < 900:  # until the last cell ran, or the kernel stays idle (a cell failed, the rest did not run)
                    st = page.evaluate(_JS_STATE)
                    busy_seen |= st['status'] == 'busy'
                    idle = st['status'] == 'idle'
                    if idle and re.search(r'\[\d+\]', st['prompt']): break
                    idle_since = (idle_since or time.time()) if idle and busy_seen else None
                    if idle_since and time.time() - idle_since > 20: break
                    page.wait_for_timeout(2000)
                assert 'complete:' in st['last'], f'the run did not finish ({time.time()-t0:.0f} s):\n{st["outputs"][-6000:]}' + ctx()
                page.locator('.jp-Notebook').first.click(position={'x': 5, 'y': 5})  # focus the notebook (command mode)
                page.keyboard.press('Control+s')
                for _ in range(60):
                    if 'jp-mod-dirty' not in tab.get_attribute('class'): break
                    page.wait_for_timeout(500)
                assert 'jp-mod-dirty' not in tab.get_attribute('class'), 'Ctrl+S did not save' + ctx()
            finally: browser.close()
        runs = [p.parent for p in outputs.glob('*/STATUS')]
        assert len(runs) == 1, f'run folders under {outputs}: {runs}' + ctx()
        out = runs[0]
        assert (out/'STATUS').read_text().startswith('complete'), (out/'STATUS').read_text() + ctx()
        assert (out/'run.ipynb').exists(), f'no executed notebook in {out}: {sorted(p.name for p in out.iterdir())}' + ctx()
        ex = json.loads((out/'run.ipynb').read_text())
        assert 'complete:' in json.dumps(ex['cells'][-1]['outputs']) and all(c['execution_count'] for c in ex['cells'] if c['cell_type'] == 'code')
        assert git_status() == '', f'the save changed the repository:\n{git_status()}' + ctx()
        text = log.read_text()
        assert not re.search(r'^\[E ', text, re.M) and 'not trusted' not in text, 'the server logged an error or an untrusted save' + ctx()
    finally:
        server.terminate()
        try: server.wait(timeout=30)
        except subprocess.TimeoutExpired: server.kill(); server.wait()
