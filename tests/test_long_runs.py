"Long runs: a signal checkpoints and stops a run honestly, a dead run is not shown as running, `sts-study resume` completes both."
import json, os, signal, subprocess, sys, time
from pathlib import Path
from conftest import run_cli, needs_mirror, slow, MIRROR

# card H's smoke recipe stretched to 144 steps (24 epochs, not compressed), so that a signal lands during training
LONG = ['-p', 'schedule.compress_to', 'null', '-p', 'args.num_train_epochs', '24', '-p', 'args.logging_steps', '2', '-p', 'args.eval_steps', '40']

def start(out, cwd):
    exe = Path(sys.executable).parent/'sts-study'
    env = {**os.environ, 'STS_STUDY_MIRROR': str(MIRROR)}
    return subprocess.Popen([str(exe), 'reproduce', 'hebrew-mbert', '--profile', 'smoke', *LONG, '--out', str(out)],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

def wait_for_training(out, rows=3, timeout=240):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if (out/'log.csv').exists() and len((out/'log.csv').read_text().splitlines()) > rows: return
        time.sleep(0.3)
    raise AssertionError(f'{out}: training did not start within {timeout} s')

def metrics(out): return json.loads((out/'metrics.json').read_text())

def sigterm_and_resume(out, cwd) -> int:
    "Start a run, SIGTERM it during training, check it stopped honestly (exit 130, STATUS interrupted, a checkpoint at the step it stopped, no metrics), resume it to completion; the step the signal landed at."
    p = start(out, cwd)
    wait_for_training(out)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 130, err[-2000:]
    status = (out/'STATUS').read_text()
    assert status.startswith('interrupted') and 'SIGTERM at step' in status and f'resume with: sts-study resume {out}' in err
    step = int(status.split('SIGTERM at step ')[1].split()[0])
    assert 0 < step < 144 and (out/'checkpoints'/f'checkpoint-{step}').exists() and not (out/'metrics.json').exists()  # the signal's step depends on timing
    r = run_cli('resume', out, cwd=cwd)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out/'STATUS').read_text().startswith('complete') and (out/'run.1.ipynb').exists()  # the interrupted execution kept beside the new one
    assert metrics(out)['steps'] == 144
    return step

@needs_mirror
def test_sigterm_checkpoints_and_resume_completes(tmp_path):
    """SIGTERM during training: the run checkpoints, says it was interrupted and how to resume (exit 130); `sts-study resume`
    completes it. That the resumed metrics equal an uninterrupted run's is checked in process in the default suite
    (tests/test_train.py, and nbs/07_train's SIGTERM example) and through the CLI by the opt-in test below."""
    sigterm_and_resume(tmp_path/'cut', tmp_path)

@needs_mirror
@slow
def test_sigterm_resume_matches_uninterrupted(tmp_path):
    "Through the CLI: a run stopped by SIGTERM and resumed gives the uninterrupted run's metrics within 1e-6 (opt-in: a third 144-step run)."
    ref = tmp_path/'ref'
    r = run_cli('reproduce', 'hebrew-mbert', '--profile', 'smoke', *LONG, '--out', ref, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    out = tmp_path/'cut'
    sigterm_and_resume(out, tmp_path)
    a, b = metrics(ref), metrics(out)
    assert b['steps'] == a['steps'] == 144
    for split in ('dev', 'test'):
        for k, v in a[split].items(): assert abs(b[split][k] - v) < 1e-6, (split, k, v, b[split][k])

@needs_mirror
def test_killed_run_shows_interrupted_and_resumes(tmp_path):
    "kill -9 of the command during training: STATUS still says running, `sts-study runs` shows it interrupted (its process is gone), `sts-study resume` completes it."
    out = tmp_path/'killed'
    p = start(out, tmp_path)
    wait_for_training(out)
    p.kill(); p.wait()  # kill -9 of the command: its kernel goes with it, STATUS still says running
    deadline = time.time() + 30
    while time.time() < deadline:
        row = next(x for x in json.loads(run_cli('runs', tmp_path, '--json').stdout) if x['folder'] == 'killed')
        if row['status'] != 'running': break
        time.sleep(1)
    assert (out/'STATUS').read_text().startswith('running') and row['status'] == 'interrupted', row
    r = run_cli('resume', out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out/'STATUS').read_text().startswith('complete') and metrics(out)['steps'] == 144

@needs_mirror
def test_train_two_processes_writes_one_run_folder(tmp_path):
    "`sts-study train --nproc=2`: two CPU processes under torchrun (gloo, DDP), one complete run folder written by rank 0."
    out = tmp_path/'ddp'
    r = run_cli('train', 'hebrew-mbert', '--profile', 'smoke', '--out', out, '--nproc=2', env={'OMP_NUM_THREADS': '1'}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out/'STATUS').read_text().startswith('complete')
    run = json.loads((out/'run.json').read_text())
    assert run['steps'] == 12 and run['consumed']['hebnli']['batches'] == 12  # the compressed smoke run: 12 steps whatever the processes (rank 0 counts its own batches)
    assert r.stdout.count('complete:') == 1  # one process reports
    assert sorted({p.name for p in out.iterdir()} - {'PROCESS', 'PROGRESS'}) == [  # rank 0's products, once (the run's bookkeeping aside)
        'README.md', 'STATUS', 'comparison.md', 'log.csv', 'metrics.json', 'params.yaml', 'plots', 'run.json']
