"""Lay out the site's sources for Sphinx (`make docs`): the notebooks of nbs/ in the reading order of nbs/index.ipynb,
the README, the figures it shows, an API page per module of `sts_study` and the CLI's help, all under one folder
(`_proc/`, git-ignored) that `sphinx-build -c docs/site _proc _docs` reads. Nothing in the repository is changed.

Notebooks are read as data (nbformat) and copied with nbdev's directives applied the way nbdev's own site applies them:
`#| hide` and `#| default_exp` cells run but are not shown, `#| slow` cells are shown and not run (nbdev-test runs
them only with `--flags slow`), directive lines are dropped, a `show_doc(name)` cell shows its output (the signature
with its parameters' comments, and the docstring) and not its call, and each `#| export` cell and its show_doc cells are
followed by links to the API entries of what it defines. The parameterised notebooks (papermill's `parameters` tag: a whole run each) are shown, not
run. On the site the README sits beside the notebooks, so their `../README.md` links become `README.md` and the
README's `nbs/NAME.ipynb` links become `NAME.ipynb`: each names the same page on GitHub and on the site."""
import argparse, ast, importlib, inspect, os, re, reprlib, shutil, sys
from pathlib import Path

import nbformat
from fastcore.docments import docments

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r'^\| \[[^\]]+\]\(([^)]+\.ipynb)\) \|', re.M)  # a reading-order row of the index (as tests/test_index.py reads it)
DIRECTIVE = re.compile(r'^#\|\s*([\w-]+)(.*)$')
SHOW_DOC = re.compile(r'^show_doc\([\w.]+\)\s*$')  # a cell that only shows a name's documentation

def reading_order(index:Path) -> list[str]:
    "The notebooks the index's '## Reading order' table links, in its order (file names)."
    nb = nbformat.read(index, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == 'markdown' and c.source.startswith('## Reading order\n')]
    if len(cells) != 1: raise SystemExit(f'{index}: {len(cells)} markdown cells start with "## Reading order"')
    return ROW.findall(cells[0])

def directives(src:str) -> dict:
    "nbdev's `#| name args` lines at the top of a code cell, as {name: args}."
    out = {}
    for line in src.splitlines():
        m = DIRECTIVE.match(line.strip())
        if not m: break
        out[m[1]] = m[2].strip()
    return out

def strip_directives(src:str) -> str:
    "The cell's source without its leading `#|` lines."
    lines = src.splitlines()
    while lines and DIRECTIVE.match(lines[0].strip()): lines.pop(0)
    return '\n'.join(lines)

def defined_names(src:str) -> list[str]:
    "Top-level names a code cell defines (functions, classes, assignments), in order; [] when it does not parse."
    try: tree = ast.parse(src)
    except SyntaxError: return []
    names = []
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.append(n.name)
        elif isinstance(n, (ast.Assign, ast.AnnAssign)):
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                names += [e.id for e in ast.walk(t) if isinstance(e, ast.Name)]
    return names

def add_tag(cell, tag):
    tags = cell.metadata.setdefault('tags', [])
    if tag not in tags: tags.append(tag)

def stage_notebook(src:Path, dst:Path, public:dict):
    "Copy notebook `src` to `dst` with nbdev's directives applied (module docstring above); `public` maps module → its `__all__`."
    nb = nbformat.read(src, as_version=4)
    module, cells = None, []
    parameterised = any('parameters' in c.metadata.get('tags', []) for c in nb.cells)
    links = None  # the API links of the last `#| export` cell: they follow it and its show_doc cells
    for c in nb.cells:
        if c.cell_type == 'code' and SHOW_DOC.match(c.source):  # nbdev's `clean_show_doc`: the call hidden, its output shown
            add_tag(c, 'remove-input'); cells.append(c); continue
        if links: cells.append(links); links = None
        if c.cell_type == 'markdown':
            c.source = c.source.replace('](../README.md', '](README.md')
            cells.append(c); continue
        if c.cell_type != 'code': cells.append(c); continue
        d = directives(c.source)
        if 'default_exp' in d: module = d['default_exp'].split()[0]
        if 'hide' in d or 'default_exp' in d: add_tag(c, 'remove-cell')
        if 'slow' in d: add_tag(c, 'skip-execution')
        c.source = strip_directives(c.source)
        cells.append(c)
        if 'export' in d and module:
            names = [n for n in defined_names(c.source) if n in public.get(module, ())]
            if names: links = nbformat.v4.new_markdown_cell('API: ' + ', '.join(f'{{py:obj}}`~sts_study.{module}.{n}`' for n in dict.fromkeys(names)))
    if links: cells.append(links)
    nb.cells = cells
    for i, c in enumerate(nb.cells): c['id'] = f'c{i}'  # ids unique after the cells added above
    if parameterised: nb.metadata['mystnb'] = {'execution_mode': 'off'}  # a whole run: shown, not run
    nbformat.write(nb, dst)

# --- API pages: what nbdev's show_doc shows, as MyST markdown with Sphinx's Python domain (so entries are linkable) ---

def _anno(a) -> str:
    if a is inspect.Parameter.empty or a is None: return ''
    return a if isinstance(a, str) else inspect.formatannotation(a)

def _cell(s) -> str: return str(s).replace('|', '\\|').replace('\n', ' ')

def _default(v) -> str:
    if v is inspect.Parameter.empty: return ''
    if repr(v) == '<factory>': return '*(factory)*'
    return f'`{_cell(reprlib.repr(v))}`'

def param_table(obj) -> str:
    "show_doc's parameter table (name, type, default, details from the docments comments) for a function or class; '' when it takes no parameters."
    try: docs = docments(obj, full=True)
    except (TypeError, ValueError, OSError): return ''
    ret = docs.pop('return', None)
    docs.pop('self', None)
    rows = [f'| {n} | {("`" + _cell(_anno(d["anno"])) + "`") if _anno(d["anno"]) else ""} | {_default(d["default"])} | {_cell(d["docment"] or "")} |'
            for n, d in docs.items()]
    if ret and (_anno(ret['anno']) or ret['docment']) and not inspect.isclass(obj):
        rows.append(f'| **Returns** | {("`" + _cell(_anno(ret["anno"])) + "`") if _anno(ret["anno"]) else ""} | | {_cell(ret["docment"] or "")} |')
    if not rows: return ''
    return '\n'.join(['|  | Type | Default | Details |', '|---|---|---|---|', *rows])

def signature(obj) -> str:
    "The call signature without annotations (the table gives them); `()` when inspect cannot read one."
    try: sig = inspect.signature(obj)
    except (TypeError, ValueError): return '()'
    ps = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values() if p.name != 'self']
    ps = [p.replace(default=_Repr(p.default)) if p.default is not inspect.Parameter.empty else p for p in ps]
    return str(sig.replace(parameters=ps, return_annotation=inspect.Signature.empty))

class _Repr:
    "A default value printed short, as one line."
    def __init__(self, v): self.v = v
    def __repr__(self): return '<factory>' if repr(self.v) == '<factory>' else reprlib.repr(self.v).replace('\n', ' ')

def doc_of(obj) -> str:
    "The object's own docstring as written (markdown, as nbdev writes it), or '' without one: none inherited from a library's class."
    d = vars(obj).get('__doc__') if inspect.isclass(obj) else getattr(obj, '__doc__', None)
    return inspect.cleandoc(d) if d else ''

_SHORT = reprlib.Repr()  # a constant's value, shortened (Python 3.11's Repr takes no keywords)
_SHORT.maxstring = _SHORT.maxother = 120
_SHORT.maxdict = _SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxset = 8

def entry(name:str, obj, fence='````') -> str:
    "One API entry: the directive with the signature, the docstring and the parameter table (methods nested in classes)."
    if inspect.isclass(obj):
        own = [(n, v) for n, v in vars(obj).items() if not n.startswith('_') and (inspect.isfunction(v) or isinstance(v, (staticmethod, classmethod, property)))]
        is_exc = issubclass(obj, BaseException)
        sig = '' if is_exc else signature(obj)
        body = [doc_of(obj), '' if is_exc else param_table(obj)]
        for n, v in own:
            f = v.fget if isinstance(v, property) else getattr(v, '__func__', v)
            kind = 'property' if isinstance(v, property) else 'method'
            sub = [f'```{{py:{kind}}} {n}{"" if kind == "property" else signature(f)}', doc_of(f)]
            if kind == 'method': sub.append(param_table(f))
            body.append('\n\n'.join(filter(None, sub)) + '\n```')
        head = f'{fence}{{py:{"exception" if is_exc else "class"}}} {name}{sig}'
        return '\n\n'.join(filter(None, [head, *body])) + f'\n{fence}'
    if callable(obj):
        return '\n\n'.join(filter(None, [f'{fence}{{py:function}} {name}{signature(obj)}', doc_of(obj), param_table(obj)])) + f'\n{fence}'
    value = re.sub(r' at 0x[0-9a-f]+>', '>', _SHORT.repr(obj))  # no memory addresses: the page is the same on every build
    return f'{fence}{{py:data}} {name}\n:type: {type(obj).__name__}\n\n```text\n{value}\n```\n{fence}'

def api_page(module:str, notebook:str|None) -> str:
    "The API page of `sts_study.<module>`: its docstring, its source notebook, and an entry per name of its `__all__`."
    mod = importlib.import_module(f'sts_study.{module}')
    head = [f'# `sts_study.{module}`', '', inspect.getdoc(mod) or '']
    if notebook: head += ['', f'Source, documentation and tests: the notebook [{Path(notebook).stem}](../{notebook}).']
    head += ['', f'```{{py:module}} sts_study.{module}', '```']
    return '\n'.join(head) + '\n\n' + '\n\n'.join(entry(n, getattr(mod, n)) for n in mod.__all__) + '\n'

# --- the CLI page: `sts-study --help` and every subcommand's, from the parser itself ---

def _subparsers(p):
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction): yield from a.choices.items()

def cli_page() -> str:
    "`sts-study --help` and the help of each subcommand (nested ones too), as the parser prints them."
    os.environ['COLUMNS'] = '110'  # argparse wraps to the terminal's width: a fixed one for the page
    from sts_study.cli import build_parser
    out = ['# The `sts-study` command', '',
           'Every command and its options, as `--help` prints them (generated from the parser, `sts_study.cli.build_parser`, '
           'when the site is built). The [README](README.md) shows them in use.', '']
    def walk(p, path, depth):
        out.extend([f'{"#" * depth} `{" ".join(path)}`', '', '```text', p.format_help().rstrip(), '```', ''])
        for name, sp in _subparsers(p): walk(sp, path + [name], min(depth + 1, 4))
    walk(build_parser(), ['sts-study'], 2)
    return '\n'.join(out)

def module_of(nb:Path) -> str|None:
    "The module a notebook exports (`#| default_exp`), if any."
    for c in nbformat.read(nb, as_version=4).cells:
        if c.cell_type == 'code' and 'default_exp' in directives(c.source): return directives(c.source)['default_exp'].split()[0]

TOC = """

```{{toctree}}
:hidden:
:caption: The notebooks, in reading order
{nbs}
```

```{{toctree}}
:hidden:
:caption: Results and reference
README
SECURITY
api/index
command-line
```
"""

def stage(dst:Path):
    "Write the site's sources into `dst` (emptied first)."
    if dst.exists(): shutil.rmtree(dst)
    (dst/'api').mkdir(parents=True)
    nbs = ROOT/'nbs'
    order = reading_order(nbs/'index.ipynb')
    there = sorted(p.name for p in nbs.glob('*.ipynb') if p.name != 'index.ipynb')
    if sorted(order) != there: raise SystemExit(f'the reading order of nbs/index.ipynb and nbs/ differ: {sorted(set(order) ^ set(there))}')
    modules = {n: module_of(nbs/n) for n in order}
    public = {m: importlib.import_module(f'sts_study.{m}').__all__ for m in modules.values() if m}
    for n in ['index.ipynb', *order]: stage_notebook(nbs/n, dst/n, public)
    index = nbformat.read(dst/'index.ipynb', as_version=4)
    # the sidebar names each notebook as the reading order does (00_settings, …), not by its page's title
    index.cells.append(nbformat.v4.new_markdown_cell(TOC.format(nbs='\n'.join(f'{Path(n).stem} <{Path(n).stem}>' for n in order)).strip(), id='toc'))
    nbformat.write(index, dst/'index.ipynb')
    readme = (ROOT/'README.md').read_text(encoding='utf-8')
    (dst/'README.md').write_text(re.sub(r'\]\(nbs/([^)]+\.ipynb)', r'](\1', readme), encoding='utf-8')
    shutil.copy2(ROOT/'SECURITY.md', dst/'SECURITY.md')  # the README links it: the threat model, a page of the site too
    for fig in sorted(set(re.findall(r'\]\((docs/[^)]+\.(?:png|svg))\)', readme))):
        (dst/fig).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(ROOT/fig, dst/fig)
    mods = [(m, n) for n, m in modules.items() if m]
    for m, n in mods: (dst/'api'/f'{m}.md').write_text(api_page(m, n), encoding='utf-8')
    rows = '\n'.join(f'| {{py:mod}}`sts_study.{m}` | [{Path(n).stem}](../{n}) | {_cell((inspect.getdoc(importlib.import_module("sts_study." + m)) or "").split(chr(10)+chr(10))[0])} |' for m, n in mods)
    (dst/'api'/'index.md').write_text(
        '# API\n\nOne page per module of `sts_study`, in the order data flows (a module imports only from those above it). '
        'Each entry is what nbdev\'s `show_doc` shows: the signature, the docstring, and the parameters with their types, '
        'defaults and the comments beside them in the source (fastcore\'s docments).\n\n'
        f'| module | notebook | what it holds |\n|---|---|---|\n{rows}\n\n'
        '```{toctree}\n:hidden:\n' + '\n'.join(m for m, _ in mods) + '\n```\n', encoding='utf-8')
    (dst/'command-line.md').write_text(cli_page(), encoding='utf-8')
    return order

if __name__ == '__main__':
    dst = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT/'_proc'
    order = stage(dst)
    print(f'staged {len(order) + 1} notebooks, the README, SECURITY.md, {len(list((dst/"api").glob("*.md"))) - 1} API pages and the CLI page in {dst}')
