import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
# The data comes from a local mirror named by STS_STUDY_MIRROR (CI: .ci/run sets it); nothing beside the checkout is assumed.
MIRROR = Path(os.environ['STS_STUDY_MIRROR']).resolve() if os.environ.get('STS_STUDY_MIRROR') else None
CPU_MODEL = 'intfloat/multilingual-e5-small'  # the cpu profile's encoder, resolved like every model (hub, mirror copy, stand-in)
# real generated cards of other people's models (CI: .ci/run points it at ../shared/cards/corpus)
CORPUS = Path(os.environ['STS_STUDY_CORPUS']).resolve() if os.environ.get('STS_STUDY_CORPUS') else None
SLOW = bool(os.environ.get('STS_STUDY_SLOW'))

needs_mirror = pytest.mark.skipif(MIRROR is None or not (MIRROR/'SHA256SUMS').exists(), reason='no mirror (set STS_STUDY_MIRROR)')
slow = pytest.mark.skipif(not SLOW, reason='expensive: set STS_STUDY_SLOW=1')

def run_cli(*args, env=None, cwd=ROOT, timeout=600):
    "Run the sts-study console script; returns CompletedProcess with text stdout/stderr."
    exe = Path(sys.executable).parent/'sts-study'
    e = {**os.environ, **({'STS_STUDY_MIRROR': str(MIRROR)} if MIRROR else {}), **{k: str(v) for k, v in (env or {}).items()}}
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, env=e, cwd=cwd, timeout=timeout)

def copy_tree_writable(src, dst):
    shutil.copytree(src, dst)
    for p in Path(dst).rglob('*'): p.chmod(0o755 if p.is_dir() else 0o644)
    return Path(dst)
