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

# `make test` runs pytest in two processes (pytest-xdist, `-n 2`): each worker, and the console scripts, papermill kernels
# and torchrun processes it starts (they inherit the environment), gets its share of the cores, so that two workers do
# not each start a thread per core (on the 2 cores of CI: one thread each)
if os.environ.get('PYTEST_XDIST_WORKER_COUNT'):
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else (os.cpu_count() or 1)
    _threads = str(max(1, _cores // int(os.environ['PYTEST_XDIST_WORKER_COUNT'])))
    for _k in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ[_k] = _threads
    import torch
    torch.set_num_threads(int(_threads))

needs_mirror = pytest.mark.skipif(MIRROR is None or not (MIRROR/'SHA256SUMS').exists(), reason='no mirror (set STS_STUDY_MIRROR)')
slow = pytest.mark.skipif(not SLOW, reason='expensive: set STS_STUDY_SLOW=1')

def run_cli(*args, env=None, cwd=ROOT, timeout=600):
    "Run the sts-study console script; returns CompletedProcess with text stdout/stderr."
    exe = Path(sys.executable).parent/'sts-study'
    e = {**os.environ, **({'STS_STUDY_MIRROR': str(MIRROR)} if MIRROR else {}), **{k: str(v) for k, v in (env or {}).items()}}
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, env=e, cwd=cwd, timeout=timeout)

def run_main(*args):
    "What `run_cli(*args)` gives, from the CLI's `main` run in this process (a console script spends ~10 s importing the package): returncode, stdout and stderr."
    import contextlib, io
    from sts_study.cli import main
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: main([str(a) for a in args])
        except SystemExit as e: code = e.code if isinstance(e.code, int) else int(e.code is not None)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())

def copy_tree_writable(src, dst):
    shutil.copytree(src, dst)
    for p in Path(dst).rglob('*'): p.chmod(0o755 if p.is_dir() else 0o644)
    return Path(dst)

def crash_at(step):
    "A TrainerCallback that raises KeyboardInterrupt as training step `step` ends, before any checkpoint of that step (a crash): `run_recipe(..., callbacks=[crash_at(15)])`."
    from transformers import TrainerCallback
    class CrashAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if state.global_step == step: raise KeyboardInterrupt(f'simulated crash at step {step}')
    return CrashAt()
