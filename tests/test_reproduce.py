"The reproduction end to end: CLI and papermill forms, run folders, failure marking, no overwrite; the card CLI."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest, yaml
from conftest import run_cli, run_main, needs_mirror, ROOT, MIRROR

from sts_study.settings import PACKAGE_CARDS as CARDS  # the published cards ship with the package

def _model_index(readme):
    fm = yaml.safe_load(readme.read_text().split('---')[1])
    return {m['type']: m['value'] for m in fm['model-index'][0]['results'][0]['metrics']}

@needs_mirror
def test_reproduce_cli_and_papermill_agree(tmp_path):
    a = tmp_path/'cli'
    r = run_cli('reproduce', 'korean-gte', '--profile', 'smoke', '--seed', '3', '--out', a)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (a/'STATUS').read_text().startswith('complete')
    for f in ('run.ipynb', 'params.yaml', 'metrics.json', 'README.md', 'comparison.md', 'log.csv', 'plots/training.png',
              'plots/scatter_dev.png', 'plots/metrics.png', 'plots/consumption.png'):
        assert (a/f).exists() and (a/f).stat().st_size > 0, f
    assert not (a/'model').exists()  # smoke runs keep no model
    m = json.loads((a/'metrics.json').read_text())
    assert _model_index(a/'README.md') == m['dev']  # the card's metrics are metrics.json's
    b = tmp_path/'pm'
    env = {**os.environ, 'STS_STUDY_MIRROR': str(MIRROR)}
    pm = subprocess.run([str(Path(sys.executable).parent/'papermill'), 'nbs/12_reproduce_card.ipynb', str(tmp_path/'pm.ipynb'), '-p', 'card', 'korean-gte',
                         '-p', 'profile', 'smoke', '-p', 'seed', '3', '-p', 'out', str(b)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert pm.returncode == 0, pm.stderr[-3000:]
    assert json.loads((b/'metrics.json').read_text())['dev'] == m['dev']

@needs_mirror
def test_failed_run_is_marked_and_never_overwritten(tmp_path):
    out = tmp_path/'run'
    # a hub model that is nowhere (the hub offline): the recipe is valid, the run fails inside the notebook
    r = run_cli('reproduce', 'hebrew-mbert', '--profile', 'smoke', '--out', out, '-p', 'model.base', 'nobody/no-such-model', env={'HF_HUB_OFFLINE': '1'})
    assert r.returncode == 1 and f'failed: {out}\n' in r.stderr, r.stderr[-3000:]
    assert (out/'STATUS').read_text().startswith('failed') and 'nobody/no-such-model' in (out/'STATUS').read_text()
    assert not (out/'metrics.json').exists() and (out/'run.ipynb').exists()
    before = sorted(p.name for p in out.iterdir())
    r2 = run_cli('reproduce', 'hebrew-mbert', '--profile', 'smoke', '--out', out)
    assert r2.returncode == 1 and 'never overwritten' in r2.stderr
    assert sorted(p.name for p in out.iterdir()) == before and (out/'STATUS').read_text().startswith('failed')

@needs_mirror
def test_sigterm_before_the_kernel_stops_the_run(tmp_path):
    "SIGTERM to `sts-study reproduce` while its kernel starts (PROCESS still names the command): the run stops at once, exit 130, marked interrupted (it used to be lost and the run went on)."
    out = tmp_path/'run'
    env = {**os.environ, 'STS_STUDY_MIRROR': str(MIRROR), 'STS_STUDY_OUTPUTS': str(tmp_path/'outputs')}
    p = subprocess.Popen([str(Path(sys.executable).parent/'sts-study'), 'reproduce', 'hebrew-mbert', '--profile', 'smoke', '--out', str(out)],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (out/'PROCESS').exists() and p.poll() is None: time.sleep(0.05)
    assert (out/'PROCESS').read_text().split()[1] == str(p.pid)  # the command's own: the kernel has not said it runs the notebook
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 130 and f'interrupted: {out}\n' in err, err[-3000:]
    assert (out/'STATUS').read_text().startswith('interrupted\nSIGTERM before training could save a checkpoint'), (out/'STATUS').read_text()
    assert not (out/'run.json').exists() and not (out/'log.csv').exists()

@pytest.mark.parametrize('card', ['korean-gte-kornli-korsts.md', 'hebrew-mbert-hebnli.md'])
def test_card_parse(card):
    "`card parse` (the CLI's `main`, in process: a console script spends ~10 s importing), as JSON and as text."
    r = run_main('card', 'parse', CARDS/card, '--json')
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d['missing'] == [] and len(d['hyperparameters']) == 109
    assert d['provenance']['writer'] == 'fit' and d['provenance']['st_version'] == '3.0.1'  # both cards came from model.fit()
    assert ('  written by model.fit() (its optimizer and schedule are not the printed hyperparameters); sentence-transformers 3.0.1; evidence: columns '
            'sentence_0, sentence_1, … (fit() converts its InputExamples); unnamed datasets; multi_dataset_batch_sampler round_robin among the '
            'non-default hyperparameters (fit() always sets it)') in run_main('card', 'parse', CARDS/card).stdout.splitlines()

def test_card_diff():
    "`card diff K H` (the CLI's `main`, in process): each metric's delta (H − K), the 4 hyperparameters and 2 framework versions that differ, 16 in all; a card against itself: none."
    r = run_main('card', 'diff', CARDS/'korean-gte-kornli-korsts.md', CARDS/'hebrew-mbert-hebnli.md')
    lines = r.stdout.splitlines()
    assert (r.returncode, lines[0], lines[4], lines[12]) == (0, 'metrics (reproduced - published)', 'spearman_cosine     0.8621     0.1138      -0.7483',
                                                             'spearman_max        0.8621     0.1896      -0.6725')
    assert lines[14:21] == ['hyperparameters that differ', 'argument                     published      reproduced',
                            '---------------------------  -------------  -------------', 'per_device_train_batch_size  8              16',
                            'per_device_eval_batch_size   8              16', 'num_train_epochs             10             1',
                            'batch_sampler                no_duplicates  batch_sampler']
    assert [l for l in lines if l.startswith(('PyTorch', 'Datasets'))] == ['PyTorch                2.4.0+cu121  2.3.1+cu121', 'Datasets               2.21.0       2.20.0']
    assert lines[-1] == '16 difference(s)'
    d = json.loads(run_main('card', 'diff', CARDS/'korean-gte-kornli-korsts.md', CARDS/'hebrew-mbert-hebnli.md', '--json').stdout)
    assert (d['differences'], len(d['metrics']), sorted(d['hyperparameters'])) == (16, 10, ['batch_sampler', 'num_train_epochs', 'per_device_eval_batch_size', 'per_device_train_batch_size'])
    r = run_main('card', 'diff', CARDS/'hebrew-mbert-hebnli.md', CARDS/'hebrew-mbert-hebnli.md')
    assert (r.returncode, r.stdout.splitlines()[-1], r.stdout.count(' +0.0000')) == (0, 'no differences', 10)

def test_card_parse_broken(tmp_path):
    p = tmp_path/'broken.md'; p.write_text('# no front matter\n')
    r = run_cli('card', 'parse', p)
    assert r.returncode == 1 and 'broken.md: no YAML front matter' in r.stderr
    text = (CARDS/'korean-gte-kornli-korsts.md').read_text()
    p.write_text(text.replace('### Framework Versions', '### Versions'))
    r = run_cli('card', 'parse', p)
    assert r.returncode == 1 and 'missing section(s): Training Details/Framework Versions' in r.stderr
    r = run_cli('card', 'parse', p, '--partial')
    assert r.returncode == 0 and 'missing: Training Details/Framework Versions' in r.stdout

def test_findings_with_no_runs_says_what_it_needs(tmp_path):
    "The findings notebook on an empty outputs folder ends with a message naming the runs and commands, not a traceback."
    empty = tmp_path/'outputs'; empty.mkdir()
    out = tmp_path/'findings.ipynb'
    p = subprocess.run([str(Path(sys.executable).parent/'papermill'), 'nbs/15_findings_report.ipynb', str(out), '-p', 'runs_dir', str(empty), '-p', 'n_resamples', '50'],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    text = json.dumps([c.get('outputs') for c in json.loads(out.read_text())['cells']])
    assert 'No complete `cpu` runs' in text and 'make findings' in text and 'Traceback' not in text

@pytest.mark.parametrize('key,value,says', [('args.learning_rat', '2e-5', "args.learning_rat: unknown training argument (did you mean 'learning_rate'?)"),
                                            ('args.learning_rate', 'abc', "args.learning_rate: expected a number, got 'abc' (str)"),
                                            ('stop_after_step', '3', "did you mean 'stop_after_steps'?"),
                                            ('model.base', './no/such/model', "model.base: model './no/such/model' not found: no such folder")])
def test_bad_override_fails_before_any_folder(tmp_path, key, value, says):
    "A bad -p override: exit 2, the key named (with the nearest known one), and no run folder."
    r = run_cli('reproduce', 'hebrew-mbert', '--profile', 'smoke', '-p', key, value, env={'STS_STUDY_OUTPUTS': tmp_path/'outputs'})
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert not (tmp_path/'outputs').exists()
