import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get('STS_STUDY_MIRROR') or ROOT.parent/'shared/mirror').resolve()
STANDIN = MIRROR/'sts-study/me5-small-q4-koheb'

needs_mirror = pytest.mark.skipif(not (MIRROR/'SHA256SUMS').exists(), reason='no mirror (set STS_STUDY_MIRROR)')

def run_cli(*args, env=None, cwd=ROOT, timeout=600):
    "Run the sts-study console script; returns CompletedProcess with text stdout/stderr."
    exe = Path(sys.executable).parent/'sts-study'
    e = {**os.environ, 'STS_STUDY_MIRROR': str(MIRROR), **(env or {})}
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, env=e, cwd=cwd, timeout=timeout)

def copy_tree_writable(src, dst):
    shutil.copytree(src, dst)
    for p in Path(dst).rglob('*'): p.chmod(0o755 if p.is_dir() else 0o644)
    return Path(dst)
