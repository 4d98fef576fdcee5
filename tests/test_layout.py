"""The layout shows the architecture: each module's notebook is numbered above every module it imports (at the top or
inside a function), so data flows one way and there is no cycle; no notebook imports from the CLI, the top layer; the
card-reading modules do not load the training engine's libraries. And the notebooks read as nbdev's do: short functions,
every public name documented by `show_doc`, and no long export cell without an example after it."""
import ast, json, os, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def _numbers() -> dict:
    "module → the (number, letter) of the notebook it is exported from (read from the module's 'File to edit' header): 06a sits between 06 and 07."
    out = {}
    for f in (ROOT/'sts_study').glob('*.py'):
        m = re.search(r'File to edit: \.\./nbs/(\d+)([a-z]?)_\w+\.ipynb', f.read_text())
        if m: out[f.stem] = (int(m.group(1)), m.group(2))
    return out

def _imports(f:Path) -> set:
    "The sts_study modules `f` imports, anywhere in it."
    out = set()
    for n in ast.walk(ast.parse(f.read_text())):
        if isinstance(n, ast.ImportFrom):
            if n.level == 1 and n.module: out.add(n.module.split('.')[0])
            elif n.level == 1: out |= {a.name for a in n.names}
            elif (n.module or '').startswith('sts_study.'): out.add(n.module.split('.')[1])
            elif n.module == 'sts_study': out |= {a.name for a in n.names}
        elif isinstance(n, ast.Import): out |= {a.name.split('.')[1] for a in n.names if a.name.startswith('sts_study.')}
    return out

def test_every_import_points_down():
    "Every module imports only modules whose notebooks are numbered below its own (which also rules out cycles)."
    num = _numbers()
    assert len(num) == 28, sorted(num)  # every generated module has its notebook
    up = [(m, i, num[m], num[i]) for m in num for i in _imports(ROOT/'sts_study'/f'{m}.py') if i in num and i != m and num[i] >= num[m]]
    assert up == [], up

def test_no_notebook_imports_the_cli():
    "The CLI is the top layer: notebooks (modules and parameterised ones) and the shipped template never import from it."
    nbs = [*sorted((ROOT/'nbs').glob('*.ipynb')), ROOT/'sts_study/notebooks/reproduce.ipynb']
    offenders = [p.name for p in nbs if p.name != '19_cli.ipynb' and re.search(r'from sts_study\.cli import|import sts_study\.cli', p.read_text())]
    assert len(nbs) == 33 and offenders == [], (len(nbs), offenders)  # 28 module notebooks, 3 parameterised, the index, the shipped template

def test_no_function_longer_than_a_screen():
    "No function or method in sts_study/ is longer than 40 lines: each step of a run is a function of its own."
    long = [(f.name, n.name, n.end_lineno - n.lineno + 1) for f in sorted((ROOT/'sts_study').glob('*.py')) if f.name != '_modidx.py'
            for n in ast.walk(ast.parse(f.read_text())) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 40]
    assert long == [], long

LIGHT = ['audit', 'report', 'card', 'from_card']  # read cards and run folders: they need the schedule's arithmetic, not the engine

def test_card_modules_do_not_load_the_engine():
    "Importing audit, report, card or from_card, each in a fresh interpreter, loads neither torch nor transformers (`sys.modules`)."
    code = "import importlib, sys; importlib.import_module(sys.argv[1]); print([m for m in ('torch', 'transformers') if m in sys.modules])"
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), *filter(None, [os.environ.get('PYTHONPATH')])])}
    procs = {m: subprocess.Popen([sys.executable, '-c', code, f'sts_study.{m}'], cwd=ROOT, env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE) for m in LIGHT}
    out = {}
    for m, p in procs.items():
        o, e = p.communicate(timeout=120)
        out[m] = o.strip() if p.returncode == 0 else f'import failed: {e.strip().splitlines()[-1:]}'
    assert out == {m: '[]' for m in LIGHT}, out

DIRECTIVE = re.compile(r'^#\|\s*([\w-]+)')

def _directives(src:str) -> set:
    "nbdev's `#| name` lines at the top of a code cell."
    out = set()
    for line in src.splitlines():
        m = DIRECTIVE.match(line.strip())
        if not m: break
        out.add(m[1])
    return out

def _show_doc(src:str) -> bool: return bool(re.fullmatch(r'show_doc\([\w.]+\)\s*', src))

def _module_notebooks() -> dict:
    "module → its notebook's cells (code cells only), for every generated module."
    out = {}
    for f in (ROOT/'sts_study').glob('*.py'):
        m = re.search(r'File to edit: \.\./nbs/(\w+\.ipynb)', f.read_text())
        if m: out[f.stem] = [c for c in json.loads((ROOT/'nbs'/m[1]).read_text())['cells'] if c['cell_type'] == 'code']
    return out

def _src(c) -> str: return ''.join(c['source'])

def test_long_export_cells_have_examples():
    "An export cell over 60 lines is followed (after its show_doc cells) by an example: a code cell that is not exported."
    bare = []
    for mod, cells in sorted(_module_notebooks().items()):
        for i, c in enumerate(cells):
            if not _directives(_src(c)) & {'export', 'exports', 'exporti'} or len(_src(c).splitlines()) <= 60: continue
            nxt = next((d for d in cells[i+1:] if not _show_doc(_src(d))), None)
            if nxt is None or _directives(_src(nxt)) & {'export', 'exports', 'exporti'}: bare.append((mod, _src(c).splitlines()[1][:50], len(_src(c).splitlines())))
    assert bare == [], bare

def test_public_names_have_show_doc():
    "Every public function and class (a name of the module's `__all__` it defines with def or class) has a `show_doc(name)` cell in its notebook."
    missing = {}
    for mod, cells in sorted(_module_notebooks().items()):
        tree = ast.parse((ROOT/'sts_study'/f'{mod}.py').read_text())
        public = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == '__all__'), [])
        defs = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name in public]
        shown = {m for c in cells for m in re.findall(r'^show_doc\(([\w.]+)\)', _src(c), re.M)}
        if [n for n in defs if n not in shown]: missing[mod] = [n for n in defs if n not in shown]
    assert missing == {}, missing

def _mixes_imports(src:str) -> bool:
    "A cell whose top-level statements are some imports and some other statements (`%` and `!` lines aside)."
    code = '\n'.join('' if l.lstrip().startswith(('%', '!')) else l for l in src.splitlines())
    try: body = ast.parse(code).body
    except SyntaxError: return False
    imports = [isinstance(n, (ast.Import, ast.ImportFrom)) for n in body]
    return any(imports) and not all(imports)

def test_examples_import_in_cells_of_their_own():
    "In every notebook (nbs/, the parameterised ones and the shipped template among them), a code cell that is not exported either imports or does something else, not both (nbdev's FAQ)."
    mixed = [(p.name, c.get('id')) for p in sorted((ROOT/'nbs').glob('*.ipynb')) for c in json.loads(p.read_text())['cells']
             if c['cell_type'] == 'code' and not _directives(_src(c)) & {'export', 'exports', 'exporti'} and _mixes_imports(_src(c))]
    assert mixed == [], mixed
