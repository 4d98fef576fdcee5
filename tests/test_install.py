"""Runs on any machine: the package installed from a wheel (not editable) reproduces from an empty folder, and a
smoke reproduction needs nothing but its data, served here over HTTP from 127.0.0.1 with no mirror at all."""
import json, os, subprocess, sys
from pathlib import Path
import pytest, yaml
from conftest import ROOT, MIRROR, needs_mirror

CLI = 'import sys; from sts_study.cli import main; sys.exit(main(sys.argv[1:]))'

@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    "The package built as a wheel and installed on its own into a folder (its dependencies are this environment's)."
    d = tmp_path_factory.mktemp('installed')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', d/'wheel', ROOT],
                   check=True, capture_output=True)
    whl = next((d/'wheel').glob('sts_study-*.whl'))
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', d/'site', whl], check=True, capture_output=True)
    return d/'site'

def run_installed(site, *args, cwd, env):
    "The installed package's CLI, run from `cwd` (the checkout is not importable: `site` comes first on the path)."
    e = {k: v for k, v in os.environ.items() if not k.startswith('STS_STUDY_')}
    e.update(PYTHONPATH=str(site), **{k: str(v) for k, v in env.items()})
    return subprocess.run([sys.executable, '-c', CLI, *map(str, args)], cwd=cwd, env=e, capture_output=True, text=True, timeout=900)

def check_complete(folder):
    assert (folder/'STATUS').read_text().startswith('complete')
    run = json.loads((folder/'run.json').read_text())
    assert run['git_commit'] is None  # the kernel ran the installed copy, not the checkout
    m = json.loads((folder/'metrics.json').read_text())
    assert m['published_dev']['spearman_cosine'] > 0  # the published card came from the package
    return run

def test_wheel_ships_cards_notebook_recipes(installed):
    pkg = installed/'sts_study'
    for f in ('cards/korean-gte-kornli-korsts.md', 'cards/hebrew-mbert-hebnli.md', 'notebooks/reproduce.ipynb',
              'cards/english-minilm-stsb.md', 'recipes/english-minilm.yaml', 'recipes/korean-gte.yaml', 'recipes/hebrew-mbert.yaml', 'templates/card.md.j2', 'sources.yaml'):
        assert (pkg/f).is_file(), f
    assert (pkg/'cards/korean-gte-kornli-korsts.md').read_bytes() == (ROOT/'sts_study/cards/korean-gte-kornli-korsts.md').read_bytes()

@needs_mirror
def test_installed_package_reproduces_from_empty_folder(installed, tmp_path):
    "pip-installed, from an empty folder with no settings.ini: the run folder goes to ./outputs and completes."
    work = tmp_path/'empty'; work.mkdir()
    r = run_installed(installed, 'reproduce', 'korean-gte', '--profile', 'smoke', cwd=work,
                      env={'STS_STUDY_MIRROR': MIRROR, 'STS_STUDY_CACHE': tmp_path/'cache'})
    assert r.returncode == 0, r.stderr[-3000:]
    runs = list((work/'outputs').glob('korean-gte-smoke-*'))
    assert len(runs) == 1, list(work.rglob('*'))[:20]
    run = check_complete(runs[0])
    assert run['model_source']['source'] == 'random'

@needs_mirror
def test_smoke_over_http_without_mirror(installed, tmp_path):
    "No local mirror at all: the data comes over HTTP from 127.0.0.1 (STS_STUDY_BASE_URL), checksummed into the cache."
    from sts_study.sources import serve_folder
    url, srv = serve_folder(MIRROR)
    try:
        work = tmp_path/'w'; work.mkdir()
        r = run_installed(installed, 'reproduce', 'hebrew-mbert', '--profile', 'smoke', '--out', work/'run', cwd=work,
                          env={'STS_STUDY_BASE_URL': url, 'STS_STUDY_CACHE': tmp_path/'cache'})
    finally: srv.shutdown()
    assert r.returncode == 0, r.stderr[-3000:]
    check_complete(work/'run')
    assert (tmp_path/'cache/NNLP-IL/HebNLI/HebNLI_val.jsonl').exists()  # downloaded, not read from a mirror
    assert yaml.safe_load((work/'run/params.yaml').read_text())['profile'] == 'smoke'
