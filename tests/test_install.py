"""Runs on any machine: the package installed from a wheel (not editable) reproduces from an empty folder, and a
smoke reproduction needs nothing but its data, served here over HTTP from 127.0.0.1 with no mirror at all."""
import json, os, subprocess, sys
import pytest, yaml
from conftest import ROOT, MIRROR, needs_mirror

CLI = 'import sys; from sts_study.cli import main; sys.exit(main(sys.argv[1:]))'

@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """The package built as a wheel and installed on its own into a folder (its dependencies are this environment's).
    Under pytest-xdist one build serves every worker: two builds of one checkout at once collide in its build/ folder."""
    from filelock import FileLock
    shared = tmp_path_factory.getbasetemp().parent if os.environ.get('PYTEST_XDIST_WORKER') else tmp_path_factory.getbasetemp()
    d = shared/'installed'
    with FileLock(str(shared/'installed.lock')):
        if not (d/'site').exists():
            subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', d/'wheel', ROOT],
                           check=True, capture_output=True)
            whl = next((d/'wheel').glob('sts_study-*.whl'))
            subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target', d/'site.part', whl], check=True, capture_output=True)
            (d/'site.part').rename(d/'site')
    return d/'site'

def run_installed(site, *args, cwd, env):
    "The installed package's CLI, run from `cwd` (the checkout is not importable: `site` comes first on the path)."
    e = {k: v for k, v in os.environ.items() if not k.startswith('STS_STUDY_')}
    e.update(PYTHONPATH=str(site), **{k: str(v) for k, v in env.items()})
    return subprocess.run([sys.executable, '-c', CLI, *map(str, args)], cwd=cwd, env=e, capture_output=True, text=True, timeout=900)

def check_complete(folder, published:float):
    "A complete run folder of the installed copy, with `published` (the card's dev spearman_cosine) read from the card the package ships."
    assert (folder/'STATUS').read_text().startswith('complete')
    run = json.loads((folder/'run.json').read_text())
    assert run['git_commit'] is None  # the kernel ran the installed copy, not the checkout
    m = json.loads((folder/'metrics.json').read_text())
    assert m['published_dev']['spearman_cosine'] == published  # the published card came from the package
    return run

def test_wheel_ships_cards_notebook_recipes(installed):
    "The wheel holds the published cards (byte-identical), the reproduction notebook, the recipes, the card template and the sources."
    pkg = installed/'sts_study'
    for f in ('cards/korean-gte-kornli-korsts.md', 'cards/hebrew-mbert-hebnli.md', 'notebooks/reproduce.ipynb',
              'cards/english-minilm-stsb.md', 'recipes/english-minilm.yaml', 'recipes/korean-gte.yaml', 'recipes/hebrew-mbert.yaml', 'templates/card.md.j2', 'sources.yaml'):
        assert (pkg/f).is_file(), f
    assert (pkg/'cards/korean-gte-kornli-korsts.md').read_bytes() == (ROOT/'sts_study/cards/korean-gte-kornli-korsts.md').read_bytes()

@needs_mirror
def test_installed_package_reproduces_from_empty_folder_over_http(installed, tmp_path):
    """pip-installed, run from an empty folder (no settings.ini) with no local mirror at all: the data comes over HTTP from
    127.0.0.1 (STS_STUDY_BASE_URL), checksummed into the cache; the run folder goes to ./outputs and completes."""
    from sts_study.sources import serve_folder
    url, srv = serve_folder(MIRROR)
    work = tmp_path/'empty'; work.mkdir()
    try: r = run_installed(installed, 'reproduce', 'hebrew-mbert', '--profile', 'smoke', cwd=work, env={'STS_STUDY_BASE_URL': url, 'STS_STUDY_CACHE': tmp_path/'cache'})
    finally: srv.shutdown()
    assert r.returncode == 0, r.stderr[-3000:]
    runs = list((work/'outputs').glob('hebrew-mbert-smoke-*'))
    assert len(runs) == 1 and [p.name for p in work.iterdir()] == ['outputs'], list(work.rglob('*'))[:20]
    run = check_complete(runs[0], 0.11384535231083545)  # card H's model-index
    assert run['model_source']['source'] == 'random' and yaml.safe_load((runs[0]/'params.yaml').read_text())['profile'] == 'smoke'
    cache = tmp_path/'cache'  # the run's data, downloaded (not read from a mirror); beside it, the zero-shot evaluations
    assert sorted(str(p.relative_to(cache)) for p in cache.rglob('*') if p.is_file() and p.relative_to(cache).parts[0] != 'evaluations') == [
        'ItayBoros/hebrew-negation-embeddings/data/probe/hebrew_stsb_dev.csv', 'ItayBoros/hebrew-negation-embeddings/data/probe/hebrew_stsb_test.csv', 'NNLP-IL/HebNLI/HebNLI_val.jsonl']
