"""Sphinx configuration of the documentation site (`make docs`: docs/site/stage.py lays the sources out in _proc/, then
`sphinx-build -W -c docs/site _proc _docs`).

Why these tools: nbdev's own builder needs Quarto, which does not install from a package registry; Sphinx and myst-nb
do, read the notebooks as they are (myst-nb runs them with the package's kernel and renders their outputs), and give
search (Sphinx's own index, no service), cross-references and a Python domain for the API entries.
Why the Book theme (sphinx-book-theme, PyData's theme underneath): the study is read in order. The Book theme keeps the
whole reading order in the left sidebar on every page, with previous/next links at the foot, and it is made for
notebook pages (Jupyter Book's theme); the PyData theme alone puts top-level pages in a navbar of tabs and leaves the
sidebar of a top-level page empty, which suits a library's reference more than a study read front to back."""
import os, sys
from pathlib import Path

from docutils import nodes
from docutils.transforms import Transform

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))  # the site's own extension (doclinks.py)

project = 'sts-study'
author = 'sts-study maintainers'
copyright = '2026, sts-study maintainers'
root_doc = 'index'
extensions = ['myst_nb', 'sphinxcontrib.mermaid', 'doclinks']
exclude_patterns = ['.jupyter_cache', 'jupyter_execute']

# MyST: the notebooks' and the README's markdown as GitHub renders it: headings get GitHub's anchors (the index links
# README sections by them), ```mermaid fences are diagrams
myst_heading_anchors = 4
myst_fence_as_directive = ['mermaid']
myst_enable_extensions = ['colon_fence']
suppress_warnings = ['myst.header']  # the README and notebooks step from ## to #### where GitHub renders them as written

# the notebooks run as the site is built (their outputs are the page's), each with the package's kernel, in _proc/
# (a sibling of nbs/, so their relative paths mean what they mean in nbs/). Executed afresh on every build: a cache keyed
# on a notebook's own cells would keep outputs that a change in a module it imports has made stale. A cell that fails
# fails the build, with its traceback.
nb_execution_mode = os.environ.get('STS_DOCS_EXECUTE', 'force')
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_output_stderr = 'remove'  # progress bars and library warnings written to stderr are not the notebook's results
# progress bars are not results either, and in a kernel they are ipywidgets, whose renderer myst-nb would load from a CDN:
# the kernels (which inherit this environment) draw none, and no page loads the widgets' script
for _k in ('TQDM_DISABLE', 'HF_DATASETS_DISABLE_PROGRESS_BARS', 'HF_HUB_DISABLE_PROGRESS_BARS'): os.environ[_k] = '1'
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [('html', 'application/vnd.jupyter.widget-view+json', None),
                              ('html', 'application/vnd.jupyter.widget-state+json', None)]

# mermaid from the site itself, never a CDN: `make docs` unpacks the pinned npm package into build/mermaid/ (the Makefile
# checks its sha256); the ES module and its chunks are copied into _static/mermaid/
MERMAID = Path(os.environ.get('STS_DOCS_MERMAID', ROOT/'build'/'mermaid'))
if not (MERMAID/'mermaid'/'mermaid.esm.min.mjs').exists():
    raise RuntimeError(f'{MERMAID}/mermaid/mermaid.esm.min.mjs is missing: build the site with `make docs`, which unpacks mermaid there')
html_static_path = [str(MERMAID)]
mermaid_use_local = 'mermaid/mermaid.esm.min.mjs'
mermaid_include_elk = mermaid_include_zenuml = False
mermaid_d3_zoom = False

html_theme = 'sphinx_book_theme'
html_title = 'sts-study'
html_favicon = 'favicon.svg'  # two overlapping sentences; without one, browsers ask for /favicon.ico and log its 404
html_theme_options = {'home_page_in_toc': True, 'show_navbar_depth': 1, 'show_toc_level': 2,
                      'use_download_button': False, 'use_fullscreen_button': False}
html_context = {'default_mode': 'auto'}  # light or dark as the reader's system prefers (unset, the theme's script logs an error)
html_show_sourcelink = False
html_copy_source = False

def _outputs_in_build(app):
    "myst-nb writes the executed notebooks' images beside the output folder (the repository root for _docs): into build/ instead."
    app.env.mystnb_config = app.env.mystnb_config.copy(output_folder=str(ROOT/'build'/'jupyter_execute'),
                                                       execution_cache_path=str(ROOT/'build'/'jupyter_cache'))

class _ShowDocRule(Transform):
    "show_doc's markdown opens with a rule (`---`: nbdev's Quarto pages separate entries so); docutils allows one only between sections, not in a cell's output: dropped there, before docutils' check (priority 830) warns."
    default_priority = 820
    def apply(self):
        for t in list(self.document.findall(nodes.transition)):
            if not isinstance(t.parent, (nodes.document, nodes.section)): t.parent.remove(t)

def setup(app):
    app.add_transform(_ShowDocRule)
    app.connect('builder-inited', _outputs_in_build, priority=900)  # after myst-nb's own builder-inited (priority 500)
