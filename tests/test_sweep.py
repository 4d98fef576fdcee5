"""Sweeps (issue 34): a sweep file is checked before anything starts; --dry-run lists exactly the runs the Makefile's
loops made; a completed sweep run again starts nothing; a failed run is named, the others complete, and the next sweep
resumes it in its own folder; a Ray sweep that loses its worker node mid-run ends with the serial sweep's numbers
(opt-in: STS_STUDY_RAY=1)."""
import importlib.util, json, os, shlex, subprocess, threading, time
from pathlib import Path
import pytest
from conftest import run_cli, run_main, needs_mirror, slow, ROOT

RAY = bool(os.environ.get('STS_STUDY_RAY'))

# The Makefile's loops before `sts-study sweep` (issue 34), verbatim but for the command they ran, which here echoes its
# arguments: what `make findings` / `make control` started, one line a run
FINDINGS_LOOP = r'''SEEDS="42 1 2"; F_BUDGET="$1"; PROFILE="$2"; BIN=echo
for s in $SEEDS; do for r in "" as-printed; do \
  for v in "" proportional; do v2=$(echo "$r+$v" | sed 's/^+//; s/+$//'); \
    $BIN reproduce korean-gte --profile $PROFILE ${v2:+--variant $v2} --seed $s $F_BUDGET; done; \
  for v in "" graded mnrl-pairs; do v2=$(echo "$r+$v" | sed 's/^+//; s/+$//'); \
    $BIN reproduce hebrew-mbert --profile $PROFILE ${v2:+--variant $v2} --seed $s $F_BUDGET; done; \
done; done'''
CONTROL_LOOP = r'''CONTROL_SEEDS="42 1 2"; CAL_STEPS=200; STAND_IN=data/stand-ins/all-MiniLM-L6-v2-q4; BIN=echo
for s in $CONTROL_SEEDS; do $BIN reproduce english-minilm --profile cpu --seed $s; done
for s in $CONTROL_SEEDS; do for m in sentence-transformers/all-MiniLM-L6-v2 $STAND_IN; do for v in published raw-scores; do \
  $BIN reproduce english-minilm --profile cpu --seed $s $([ $v = raw-scores ] && echo --variant raw-scores) -p model.base $m -p args.max_steps $CAL_STEPS; \
done; done; done'''

def params(argv:list) -> str:
    "The parameters a `sts-study reproduce ARGV` run gets (what its params.yaml holds but the folder), as the CLI parses them."
    from sts_study.cli import build_parser
    from sts_study.runs import parse_overrides
    a = build_parser().parse_args(argv)
    return json.dumps([a.card, a.profile, a.variant, a.seed, parse_overrides(a.p or [])], sort_keys=True)

def loop_runs(script:str, *args) -> list:
    out = subprocess.run(['bash', '-c', script, 'loop', *args], capture_output=True, text=True, check=True).stdout
    return [params(shlex.split(l)) for l in out.splitlines()]

def dry_run_runs(stdout:str) -> list:
    "The runs a --dry-run says it would start (each line `new: sts-study reproduce ...`)."
    return [params(shlex.split(l.split(': ', 1)[1])[1:]) for l in stdout.splitlines() if l.startswith('new: ')]

@pytest.mark.parametrize('profile, budget', [('smoke', ''), ('cpu', '-p schedule.compress_to 24 -p schedule.max_evals 1')])
def test_dry_run_lists_the_makefile_runs(tmp_path, monkeypatch, profile, budget):
    "`sweep findings --dry-run` lists exactly the 30 runs `make findings`' loop started (same parameters, the cpu budget included), and starts nothing."
    monkeypatch.setenv('STS_STUDY_OUTPUTS', str(tmp_path/'outputs'))
    r = run_main('sweep', 'findings', '--profile', profile, '--dry-run')
    assert r.returncode == 0, r.stderr
    want = loop_runs(FINDINGS_LOOP, budget, profile)
    assert len(want) == 30 and len(set(want)) == 30
    assert sorted(dry_run_runs(r.stdout)) == sorted(want)  # the same runs (the sweep's order: card K's seeds, then card H's)
    assert r.stdout.splitlines()[-1] == f'findings ({profile}): 30 runs: 30 new, 0 resume, 0 running, 0 complete; --dry-run: nothing started'
    assert not (tmp_path/'outputs').exists()

def test_control_sweep_is_the_makefile_runs():
    "control.yaml holds the 15 runs `make control`' loops started (the stand-in folder it names is made by `make control` first)."
    from sts_study.sweep import load_sweep
    s = load_sweep('control', check=False)
    assert [params(r.argv()) for r in s.runs] == loop_runs(CONTROL_LOOP)  # the same runs, in the same order
    assert (s.profile, len(s.runs), s.report) == ('cpu', 15, dict(notebook='nbs/17_control_report.ipynb', out='control.ipynb', parameters={'readme': 'README.md'}))

REFUSED = {  # a sweep file (its name, its text) → what `sweep FILE --profile smoke` prints on stderr, given the file's path
    'unknown keys': ('bad.yaml', 'runs:\n  - cards: [korean-gte]\n    seed: [1]\nreprot: {}\n', lambda f: (
        f'sts-study: error: sweep {f} cannot run:\n'
        "  reprot: unknown key of a sweep (did you mean 'report'?); known: description, profile, runs, budget, report\n"
        "  runs[0].seed: unknown key of a run grid (did you mean 'seeds'?); known: cards, variants, seeds, overrides\n"
        '  runs[0].seeds: a non-empty list of integer seeds, not None\n')),
    'a bad variant and override': ('bad.yaml', 'runs:\n  - cards: [korean-gte]\n    seeds: [1]\n    variants: [null, proportinal]\n  - cards: [hebrew-mbert]\n    seeds: [1]\n'
                                   '    overrides: [{stop_after_step: 3}]\n', lambda f: (
        f'sts-study: error: sweep {f} (smoke) cannot run:\n'
        "  korean-gte/proportinal/seed 1: korean-gte has no variant 'proportinal'; variants: prefix, as-printed, script, remote-code, proportional\n"
        f"  hebrew-mbert/published/seed 1 [stop_after_step=3]: recipe {ROOT}/sts_study/recipes/hebrew-mbert.yaml cannot run: "
        "stop_after_step: unknown recipe key (did you mean 'stop_after_steps'?)\n")),
    'code in the report': ('evil.yaml', 'runs:\n  - cards: [korean-gte]\n    seeds: [1]\nreport:\n  notebook: evil.ipynb\n  out: ../../escaped.ipynb\n'
                           '  parameters: {"x = 1\\nopen(\'MARKER\', \'w\')\\n_": 1}\n', lambda f: (
        f'sts-study: error: sweep {f} cannot run:\n'
        "  report.notebook: 'evil.ipynb' is not one of the study's own notebooks (nbs/NAME.ipynb): a sweep file runs no other notebook\n"
        "  report.out: '../../escaped.ipynb' is not a notebook file name (NAME.ipynb, written under outputs/)\n"
        "  report.parameters: \"x = 1\\nopen('MARKER', 'w')\\n_\" is not a parameter name (papermill writes each name into the notebook as code)\n")),
    'a duplicate key': ('evil.yaml', 'runs:\n  - cards: [korean-gte]\n    seeds: [1]\nruns: []\n', lambda f: f"sts-study: error: sweep {f} is not valid YAML: line 4: duplicate key 'runs'\n"),
}

@pytest.mark.parametrize('case', list(REFUSED))
def test_a_bad_sweep_file_exits_2_and_runs_nothing(tmp_path, monkeypatch, case):
    """Unknown keys named with the nearest known one, a bad variant and an unknown override of one run; and a sweep file is
    data (SECURITY.md): a report parameter whose name is code, a notebook of its own, an out outside outputs/, a duplicate
    key. Each: exit 2, every problem listed, nothing run, no run folder."""
    monkeypatch.setenv('STS_STUDY_OUTPUTS', str(tmp_path/'outputs'))
    monkeypatch.chdir(tmp_path)
    name, text, err = REFUSED[case]
    (f := tmp_path/name).write_text(text)
    r = run_main('sweep', f, '--profile', 'smoke')
    assert (r.returncode, r.stdout, r.stderr) == (2, '', err(f))
    assert not (tmp_path/'outputs').exists() and not (tmp_path/'MARKER').exists()

def test_the_command_to_go_on_repeats_the_command_lines_options(tmp_path, monkeypatch):
    "`Sweep.again()`: the sweep's name (a shipped one) or file, with --profile and --trust-remote-code when they were given; Ctrl-C prints it."
    from sts_study import sweep
    assert sweep.load_sweep('findings', check=False).again() == 'sts-study sweep findings'
    assert sweep.load_sweep('findings', 'smoke', check=False, trust_remote_code=True).again() == 'sts-study sweep findings --profile smoke --trust-remote-code'
    def stopped(*a, **kw): raise KeyboardInterrupt
    monkeypatch.setattr(sweep, 'run_sweep', stopped)
    r = run_main('sweep', 'findings', '--profile', 'smoke')
    assert (r.returncode, r.stderr) == (130, 'stopped: `sts-study sweep findings --profile smoke` again resumes the interrupted runs\n')

@needs_mirror
def test_failed_run_named_others_complete_then_resumed_and_skipped(tmp_path, monkeypatch):
    """One run made to fail (a model that is nowhere: a bad override): the other completes, exit 1, the failure named; the
    same sweep again skips the complete run and resumes the failed one in its own folder (not from zero); without the bad
    run, the sweep is complete: a third run starts nothing and says so."""
    outputs, f = tmp_path/'outputs', tmp_path/'tiny.yaml'
    good = 'runs:\n  - cards: [korean-gte]\n    seeds: [1]\n'
    f.write_text(good + '  - cards: [hebrew-mbert]\n    seeds: [1]\n    overrides: [{model.base: nobody/no-such-model}]\n')
    monkeypatch.setenv('STS_STUDY_OUTPUTS', str(outputs)); monkeypatch.setenv('HF_HUB_OFFLINE', '1')  # (the sweeps run in this process, their runs each in its own)
    r = run_main('sweep', f, '--profile', 'smoke', '--parallel', '2')
    assert r.returncode == 1, r.stdout + r.stderr
    folders = sorted(p.name for p in outputs.iterdir())
    assert len(folders) == 2 and folders[0].startswith('hebrew-mbert-smoke-') and folders[1].startswith('korean-gte-smoke-')
    assert "failed: hebrew-mbert/published/seed 1 [model.base=nobody/no-such-model]: FileNotFoundError: model 'nobody/no-such-model' not found" in r.stdout
    assert 'complete: korean-gte/published/seed 1: dev ' in r.stdout
    assert r.stdout.splitlines()[-2:] == ['tiny (smoke): 2 runs: 1 complete (0 already complete before, 1 run now), 1 failed',
                                          f'tiny: not every run is complete: the report is not run; `sts-study sweep {f} --profile smoke` again resumes what failed']
    assert [l.split()[:1] for l in run_main('runs', outputs).stdout.splitlines()[2:]] == [[folders[0]], [folders[1]]]
    r2 = run_main('sweep', f, '--profile', 'smoke')  # again: the complete run skipped, the failed one resumed in its folder
    assert r2.returncode == 1 and r2.stdout.splitlines()[0] == 'tiny (smoke): 1 of 2 runs to run on local (1 complete already)', r2.stdout
    assert sorted(p.name for p in outputs.iterdir()) == folders and (outputs/folders[0]/'run.1.ipynb').exists()  # resumed: no new folder
    f.write_text(good)
    r3 = run_main('sweep', f, '--profile', 'smoke')
    assert r3.returncode == 0, r3.stdout + r3.stderr
    assert r3.stdout.splitlines()[0] == 'tiny (smoke): all 1 runs complete already: no run started'
    assert sorted(p.name for p in outputs.iterdir()) == folders

def _flat(folder:Path) -> dict:
    "Every reported metric of a complete run folder (after / best × dev / test × metric)."
    rec = json.loads((folder/'run.json').read_text())
    return {f'{rep}.{sp}.{k}': v for rep in ('after', 'best') if rec.get(rep) for sp in ('dev', 'test') for k, v in rec[rep][sp]['metrics'].items()}

def _by_run(outputs:Path) -> dict:
    from sts_study.sweep import params_key
    from sts_study.runs import read_params, get_status
    return {params_key(read_params(f)): f for f in sorted(outputs.iterdir()) if get_status(f) == 'complete'}

def _on_node(pid:int, node) -> bool:
    "Whether process `pid` descends from `node`'s raylet (a run's kernel, started by a task on that node)."
    import psutil
    raylet = node.all_processes['raylet'][0].process.pid
    try: return any(p.pid == raylet for p in psutil.Process(pid).parents())
    except psutil.Error: return False

def _kill_when_training(outputs:Path, cluster, node, seen:dict, min_step:int=45):
    "Wait until the run on `node` trains at step >= min_step (past its first checkpoint), then remove `node`: its run is lost mid-training."
    try:
        while not seen.get('done'):
            for p in outputs.glob('*/PROGRESS'):
                try: pr, pid = json.loads(p.read_text()), int((p.parent/'PROCESS').read_text().split()[1])
                except (ValueError, OSError, IndexError): continue
                if pr.get('phase') == 'training' and pr.get('step', 0) >= min_step and _on_node(pid, node):
                    seen.update(killed_at=(p.parent.name, pr['step'])); cluster.remove_node(node); return
            time.sleep(0.2)
    except Exception as e: seen['error'] = repr(e)

def _ports() -> dict:
    "Fixed free ports for a node's agents: with them its raylet does not wait for the agents' port files, which a loaded machine writes too late for Ray's fixed timeout (ray-project/ray#65983)."
    import socket
    names, socks = ('metrics_agent_port', 'metrics_export_port', 'dashboard_agent_listen_port', 'runtime_env_agent_port'), []
    for _ in names: socks.append(socket.socket()); socks[-1].bind(('127.0.0.1', 0))
    out = {n: s.getsockname()[1] for n, s in zip(names, socks)}
    for s in socks: s.close()
    return out

def _add_node(cluster, tries:int=8, **kw):
    """A node added to `cluster`. Its raylet gives the node's Python agents 15 s to start (hard-coded: ray-project/ray#65983),
    which a loaded shared machine can miss: a failed try's processes (this process's own children, by pid) are ended and
    the node started again."""
    import psutil
    before = {c.pid for c in psutil.Process().children(recursive=True)}
    for i in range(tries):
        try: return cluster.add_node(**kw, **_ports())
        except Exception:
            if i == tries - 1: raise
            for c in psutil.Process().children(recursive=True):
                if c.pid not in before:
                    try: c.kill()
                    except psutil.Error: pass

def _start_cluster():
    "A Ray cluster's head node (one CPU) on this machine."
    from ray.cluster_utils import Cluster
    c = Cluster(initialize_head=False)
    _add_node(c, num_cpus=1, include_dashboard=False)
    return c

@pytest.mark.skipif(importlib.util.find_spec('ray') is None, reason="ray is not installed: pip install -c constraints.txt -e '.[ray]'")
@pytest.mark.skipif(not RAY, reason='starts a two-node Ray cluster and five smoke runs (minutes): set STS_STUDY_RAY=1')
@needs_mirror
def test_ray_lost_worker_node_resumes_and_equals_serial(tmp_path):
    """A Ray cluster of two nodes on this machine (a head and a worker, one CPU each: one run on each); the worker node
    removed while its run trains: Ray retries the lost task on the head, which resumes the run from its checkpoint in its
    own folder; every run ends complete, with the numbers of a serial `--engine local` sweep of the same runs (1e-6)."""
    f = tmp_path/'lost.yaml'
    f.write_text('runs:\n  - cards: [korean-gte, hebrew-mbert]\n    seeds: [1]\n    overrides: [{schedule.compress_to: 120}]\n')
    cluster = _start_cluster()
    seen = {}
    try:
        worker = _add_node(cluster, num_cpus=1)
        th = threading.Thread(target=_kill_when_training, args=(tmp_path/'ray', cluster, worker, seen), daemon=True); th.start()
        r = run_cli('sweep', f, '--profile', 'smoke', '--engine', 'ray', '--address', cluster.address, env={'STS_STUDY_OUTPUTS': tmp_path/'ray'}, timeout=1500)
        seen['done'] = True; th.join()
    finally: cluster.shutdown()
    print(r.stdout[-3000:], r.stderr[-2000:], seen)
    assert r.returncode == 0 and 'killed_at' in seen, (r.stdout, r.stderr)
    ray_runs = _by_run(tmp_path/'ray')
    assert len(ray_runs) == 2 and len(list((tmp_path/'ray').iterdir())) == 2  # each run in one folder: resumed, not started again
    assert (tmp_path/'ray'/seen['killed_at'][0]/'run.1.ipynb').exists()  # the lost run was resumed in its folder
    resumed = json.loads((tmp_path/'ray'/seen['killed_at'][0]/'run.json').read_text())['resumed_from']
    assert Path(resumed).name in ('checkpoint-33', 'checkpoint-60', 'checkpoint-38', 'checkpoint-83'), resumed  # card K's checkpoints of its 120 steps, card H's: not from zero
    s = run_cli('sweep', f, '--profile', 'smoke', env={'STS_STUDY_OUTPUTS': tmp_path/'serial'})
    assert s.returncode == 0, s.stdout + s.stderr
    serial = _by_run(tmp_path/'serial')
    assert serial.keys() == ray_runs.keys()
    from sts_study.record import METRICS
    for k in serial:
        a, b = _flat(serial[k]), _flat(ray_runs[k])
        reps = sorted({x.split('.')[0] for x in a})  # 'after', and 'best' when the recipe selects on dev
        assert sorted(a) == sorted(b) == sorted(f'{rep}.{sp}.{m}' for rep in reps for sp in ('dev', 'test') for m in METRICS) and 'after' in reps, k
        assert not {m: (a[m], b[m]) for m in a if abs(a[m] - b[m]) > 1e-6}, k

REMOTE = ("model.trust_remote_code: True would run code from the repository of 'nobody/no-such-model'; a recipe never switches remote code "
          "on by itself: pass --trust-remote-code (or --variant remote-code) on the command line if you trust that code")

def _remote_sweep(tmp_path) -> tuple:
    "A sweep of one run whose recipe (a file of the user's) asks for remote code, pinned as remote code must be, from a model that is nowhere."
    import yaml
    f, p = tmp_path/'remote-sweep.yaml', tmp_path/'remote.yaml'
    p.write_text(yaml.safe_dump(dict(card='mine', model=dict(base='nobody/no-such-model', trust_remote_code=True, revision='a' * 40, code_revision='b' * 40, max_seq_length=32),
                                     train=[dict(name='korsts', data='korsts', split='train', convert='sts', loss='CosineSimilarityLoss', limit=16)],
                                     eval=dict(data='korsts', split='dev', limit=16), test=dict(data='korsts', split='test', limit=16),
                                     args=dict(per_device_train_batch_size=8, num_train_epochs=1)), sort_keys=False))
    f.write_text('runs:\n  - cards: [remote.yaml]\n    seeds: [1]\n')
    return f, p

def test_remote_code_run_is_refused_without_the_command_lines_opt_in(tmp_path, monkeypatch):
    """Without --trust-remote-code a sweep whose run asks for remote code is refused, as `reproduce` refuses it (exit 2,
    the opt-in named, nothing started); with it, the command the sweep gives the run carries it."""
    (f, p), outputs = _remote_sweep(tmp_path), tmp_path/'outputs'
    monkeypatch.setenv('STS_STUDY_OUTPUTS', str(outputs))
    r = run_main('sweep', f, '--profile', 'smoke')
    assert (r.returncode, r.stdout, r.stderr) == (2, '', f'sts-study: error: sweep {f} (smoke) cannot run:\n  remote/published/seed 1: recipe {p} cannot run: {REMOTE}\n')
    assert run_main('sweep', f, '--profile', 'smoke', '--dry-run').returncode == 2 and not outputs.exists()
    r = run_main('sweep', f, '--profile', 'smoke', '--trust-remote-code', '--dry-run')
    assert (r.returncode, r.stdout.splitlines()[0]) == (0, f'new: sts-study reproduce {p} --profile smoke --seed 1 --trust-remote-code'), r.stderr
    assert not outputs.exists()

@slow
@needs_mirror
def test_remote_code_opt_in_reaches_the_run(tmp_path, monkeypatch):
    """With --trust-remote-code the run's process gets past its recipe's remote-code check (which refuses it without the
    opt-in, before any folder exists): its folder is made, and the run fails only where its model is nowhere (no model is
    loaded: no code runs); the sweep's hint to go on, and the resume it plans, carry the opt-in."""
    (f, _), outputs = _remote_sweep(tmp_path), tmp_path/'outputs'
    monkeypatch.setenv('STS_STUDY_OUTPUTS', str(outputs)); monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    r = run_main('sweep', f, '--profile', 'smoke', '--trust-remote-code')
    assert r.returncode == 1, r.stdout + r.stderr
    (run,) = outputs.iterdir()
    assert run.name.startswith('mine-smoke-') and (run/'STATUS').read_text().startswith("failed\nFileNotFoundError: model 'nobody/no-such-model' not found")
    assert r.stdout.splitlines()[-1] == f'remote-sweep: not every run is complete: the report is not run; `sts-study sweep {f} --profile smoke --trust-remote-code` again resumes what failed'
    r = run_main('sweep', f, '--profile', 'smoke', '--trust-remote-code', '--dry-run')
    assert r.stdout.splitlines()[0] == f'resume: sts-study resume {run} --trust-remote-code', r.stdout
    assert run_main('sweep', f, '--profile', 'smoke', '--dry-run').returncode == 2  # and the next sweep is refused without it

@pytest.mark.skipif(importlib.util.find_spec('ray') is None, reason="ray is not installed: pip install -c constraints.txt -e '.[ray]'")
@pytest.mark.skipif(not RAY, reason="starts Ray's local cluster, made to miss its start-up timeout (two minutes): set STS_STUDY_RAY=1")
def test_ray_that_cannot_start_says_so_in_one_line(tmp_path):
    """On a loaded machine a Ray node's Python agents can start too late for the raylet, and the node does not start
    (ray-project/ray#65983). Made so here (a sitecustomize that delays the agents 40 s, as a loaded machine's imports do):
    the sweep exits 1 with one line naming what failed and what to do, no traceback and no Ray log, nothing started, and
    none of the processes the failed start made left running."""
    import psutil
    (site := tmp_path/'site').mkdir()
    (site/'sitecustomize.py').write_text("import sys, time\nif any(str(a).endswith(('dashboard/agent.py', 'runtime_env/agent/main.py')) for a in sys.argv): time.sleep(40)\n")
    f, outputs = tmp_path/'one.yaml', tmp_path/'outputs'
    f.write_text('runs:\n  - cards: [korean-gte]\n    seeds: [1]\n')
    r = run_cli('sweep', f, '--profile', 'smoke', '--engine', 'ray', env={'STS_STUDY_OUTPUTS': outputs, 'PYTHONPATH': os.pathsep.join([str(site), *filter(None, [os.environ.get('PYTHONPATH')])])})
    assert (r.returncode, r.stdout) == (1, ''), r.stderr
    assert r.stderr == ("sts-study: error: Ray's local cluster did not start: The current node timed out during startup. This could happen because some of the "
                        "raylet failed to startup or the GCS has become overloaded. No run was started: on a loaded machine a Ray node can miss its start-up timeout; "
                        "start one yourself (`ray start --head`, again if it fails) and run the sweep with --address auto, or with --engine local\n")
    assert not outputs.exists()
    def ours(p, agents:bool):
        try: return p.environ().get('STS_STUDY_OUTPUTS') == str(outputs) and p.status() != psutil.STATUS_ZOMBIE and ('agent' in ' '.join(p.cmdline())) == agents
        except psutil.Error: return False
    for p in psutil.process_iter():
        if ours(p, agents=True): p.kill()  # this test's own sleepers (the delayed agents)
    assert [p.name() for p in psutil.process_iter() if ours(p, agents=False)] == []  # no raylet, GCS or worker left
