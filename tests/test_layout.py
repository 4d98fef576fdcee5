"""The layout shows the architecture: each module's notebook is numbered above every module it imports (at the top or
inside a function), so data flows one way and there is no cycle; no notebook imports from the CLI, the top layer."""
import ast, re
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
    assert len(num) == 26, sorted(num)  # every generated module has its notebook
    up = [(m, i, num[m], num[i]) for m in num for i in _imports(ROOT/'sts_study'/f'{m}.py') if i in num and i != m and num[i] >= num[m]]
    assert up == [], up

def test_no_notebook_imports_the_cli():
    "The CLI is the top layer: notebooks (modules and parameterised ones) and the shipped template never import from it."
    nbs = [*sorted((ROOT/'nbs').glob('*.ipynb')), ROOT/'sts_study/notebooks/reproduce.ipynb']
    offenders = [p.name for p in nbs if p.name != '19_cli.ipynb' and re.search(r'from sts_study\.cli import|import sts_study\.cli', p.read_text())]
    assert len(nbs) == 31 and offenders == [], (len(nbs), offenders)  # 26 module notebooks, 3 parameterised, the index, the shipped template

def test_no_function_longer_than_a_screen():
    "No function or method in sts_study/ is longer than 60 lines: each step of a run is a function of its own."
    long = [(f.name, n.name, n.end_lineno - n.lineno + 1) for f in sorted((ROOT/'sts_study').glob('*.py')) if f.name != '_modidx.py'
            for n in ast.walk(ast.parse(f.read_text())) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60]
    assert long == [], long
