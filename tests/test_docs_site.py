"""The documentation site's sources as docs/site/stage.py lays them out (no Sphinx, no browser: `make docs` builds them and
tests/test_docs_browser.py checks the site): the notebooks in the index's reading order with nbdev's directives applied,
the README's notebook links pointing at the pages beside it, an API page per module with show_doc's parameter table, and
the CLI's help of every subcommand."""
import importlib.util, json, re
from pathlib import Path
import nbformat, pytest
from conftest import ROOT

_spec = importlib.util.spec_from_file_location('docs_stage', ROOT/'docs'/'site'/'stage.py')
stage = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(stage)

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    dst = tmp_path_factory.mktemp('site')/'_proc'
    return dst, stage.stage(dst)

def test_directives():
    "nbdev's `#|` lines: read at the top of a cell only, and dropped from what the page shows."
    assert stage.directives('#| export\n#| slow\nx = 1\n#| hide') == {'export': '', 'slow': ''}
    assert stage.directives('#| default_exp train') == {'default_exp': 'train'}
    assert stage.strip_directives('#| export\ndef f(): pass') == 'def f(): pass'
    assert stage.defined_names('A, B = 1, 2\ndef f(): pass\nclass C: pass\nf()') == ['A', 'B', 'f', 'C']

def test_notebooks_in_reading_order(site):
    "Every notebook is staged, the index's hidden table of contents lists them in its reading order, and its README links point beside it."
    dst, order = site
    assert order == sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb') if p.name != 'index.ipynb')
    assert sorted(p.name for p in dst.glob('*.ipynb')) == sorted([*order, 'index.ipynb'])
    index = nbformat.read(dst/'index.ipynb', as_version=4)
    toc = index.cells[-1].source
    assert re.search(r':caption: The notebooks, in reading order\n(.*?)\n```', toc, re.S)[1].split('\n') == [f'{Path(n).stem} <{Path(n).stem}>' for n in order]
    md = '\n'.join(c.source for c in index.cells if c.cell_type == 'markdown')
    assert '](../README.md' not in md and md.count('](README.md#') == 5  # the five README sections the index links (tests/test_index.py)

def test_nbdev_directives_applied(site):
    "07_train: its `#| default_exp` and `#| hide` cells run unseen, each `#| export` cell is followed by links to its API entries; 13_bench's `#| slow` cell is not run; the parameterised notebooks are not run."
    dst, _ = site
    nb = nbformat.read(dst/'07_train.ipynb', as_version=4)
    src = nbformat.read(ROOT/'nbs'/'07_train.ipynb', as_version=4)
    assert sum('remove-cell' in c.metadata.get('tags', []) for c in nb.cells) == sum(
        c.cell_type == 'code' and bool({'hide', 'default_exp'} & set(stage.directives(c.source))) for c in src.cells)
    assert not any(c.source.lstrip().startswith('#|') for c in nb.cells if c.cell_type == 'code')
    api = [c.source for c in nb.cells if c.source.startswith('API: ')]
    assert api[0] == 'API: {py:obj}`~sts_study.train.train_texts`, {py:obj}`~sts_study.train.build_model`, {py:obj}`~sts_study.train.model_source`'
    assert any('{py:obj}`~sts_study.train.run_recipe`' in a for a in api)
    tables = nbformat.read(dst/'01_tables.ipynb', as_version=4)  # a show_doc cell: its output shown, not its call; the API links after it
    i = next(i for i, c in enumerate(tables.cells) if c.source == 'show_doc(format_table)')
    assert (tables.cells[i].metadata.tags, tables.cells[i - 1].source.startswith('def format_table('), tables.cells[i + 1].source) == (
        ['remove-input'], True, 'API: {py:obj}`~sts_study.tables.format_table`')
    bench = nbformat.read(dst/'13_bench.ipynb', as_version=4)
    assert [c.source.split('\n')[0] for c in bench.cells if 'skip-execution' in c.metadata.get('tags', [])] == [
        "vs = engine_vs_stock('korean-gte', 'cpu', steps=40)"]
    off = sorted(p.name for p in dst.glob('*.ipynb') if json.loads(p.read_text())['metadata'].get('mystnb') == {'execution_mode': 'off'})
    assert off == ['12_reproduce_card.ipynb', '15_findings_report.ipynb', '17_control_report.ipynb']

def test_readme_and_figures(site):
    "The README's links to notebooks name the pages beside it, and every figure it shows is staged."
    dst, _ = site
    readme = (dst/'README.md').read_text(encoding='utf-8')
    assert '](nbs/' not in readme and '| [`07_train`](07_train.ipynb) |' in readme
    figs = re.findall(r'\]\((docs/[^)]+\.png)\)', readme)
    assert figs == re.findall(r'\]\((docs/[^)]+\.png)\)', (ROOT/'README.md').read_text(encoding='utf-8')) and figs
    assert all((dst/f).read_bytes() == (ROOT/f).read_bytes() for f in figs)
    # the README links SECURITY.md: staged beside it, as a page of the site
    assert '[SECURITY.md](SECURITY.md)' in readme and (dst/'SECURITY.md').read_bytes() == (ROOT/'SECURITY.md').read_bytes()

def test_api_page(site):
    "api/train.md: run_recipe's entry has its signature, docstring and show_doc's table (type, default, docments comment per parameter)."
    dst, _ = site
    assert sorted(p.stem for p in (dst/'api').glob('*.md')) == sorted(['index', *(p.stem for p in (ROOT/'sts_study').glob('[a-z]*.py'))])
    page = (dst/'api'/'train.md').read_text(encoding='utf-8')
    entry = page.split('````{py:function} run_recipe', 1)[1].split('\n````', 1)[0]
    assert entry.startswith('(r, out, seed=42, device=None, resume=False, save_model=True, n_resamples=1000, callbacks=None, bf16=None, keep_checkpoints=False)\n')
    assert '\nTrain `r` and evaluate before and after; returns (and writes to out/run.json) the run record.\n' in entry
    assert '| seed | `int` | `42` | seeds model init (tiny), data draws, sampler and trainer |' in entry
    assert '| out | `Path \\| str` |  | run folder |' in entry
    assert entry.endswith('| **Returns** | `RunRecord` | |  |')
    recipe = (dst/'api'/'recipe.md').read_text(encoding='utf-8')
    assert "| normalize | `bool` | `False` | append a Normalize module: unit-length embeddings |" in recipe  # a dataclass's fields

def test_cli_page(site):
    "command-line.md: `sts-study --help` and every subcommand's, nested ones too, as argparse prints them."
    from sts_study.cli import build_parser
    dst, _ = site
    page = (dst/'command-line.md').read_text(encoding='utf-8')
    heads = re.findall(r'^#+ `(sts-study[^`]*)`$', page, re.M)
    want = ['sts-study']
    for name, sp in stage._subparsers(build_parser()):
        want.append(f'sts-study {name}')
        want += [f'sts-study {name} {sub}' for sub, _ in stage._subparsers(sp)]
    assert heads == want
    assert 'sts-study card audit' in heads and 'usage: sts-study card audit' in page
