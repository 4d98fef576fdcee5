"The positive control (card M: all-MiniLM-L6-v2 on STS-B English, its real model and data) end to end."
import csv, json, re, subprocess, sys
from pathlib import Path
import numpy as np, pytest
from conftest import ROOT, MIRROR, run_cli, needs_mirror, slow
from sts_study.record import RunRecord

MINILM = 'sentence-transformers/all-MiniLM-L6-v2'
needs_minilm = pytest.mark.skipif(MIRROR is None or not (MIRROR/MINILM/'model.safetensors').exists(), reason=f'no mirror copy of {MINILM} (set STS_STUDY_MIRROR)')

def _eval_minilm_test() -> dict:
    "What `sts-study eval --json` says of the real MiniLM on STS-B English test, run through the CLI's `main` in this process (a console script spends ~10 s importing)."
    import contextlib, io
    from sts_study.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out): main(['eval', '--model', MINILM, '--data', 'stsb-en', '--split', 'test', '--json', '--n-resamples', '10'])
    return json.loads(out.getvalue())

@needs_minilm
def test_zero_shot_stsb_test_reproduces_mteb():
    "`sts-study eval` of the real MiniLM on STS-B English test: MTEB's published 0.8203, and its ten values as the library's evaluator gives them (the opt-in test below compares them)."
    out = _eval_minilm_test()
    assert (out['n'], out['model_source']['source'], out['model_source']['stand_in']) == (1379, 'mirror', False)
    assert round(out['metrics']['spearman_cosine'], 4) == 0.8203
    lib = dict(pearson_cosine=0.827406423723051, spearman_cosine=0.8203246731235654, pearson_manhattan=0.8249144460444837, spearman_manhattan=0.8194552526855261,
               pearson_euclidean=0.8255616726532607, spearman_euclidean=0.8203246731235654, pearson_dot=0.8274064239355591, spearman_dot=0.8203246731235654,
               pearson_max=0.8274064239355591, spearman_max=0.8203246731235654)  # stock EmbeddingSimilarityEvaluator's, measured by the opt-in test below
    assert list(out['metrics']) == list(lib)
    for k, v in lib.items(): assert abs(out['metrics'][k] - v) < 1e-6, (k, out['metrics'][k], v)

@slow
@needs_minilm
def test_zero_shot_stsb_test_equals_stock_evaluator():
    """`sts-study eval` of the real MiniLM on STS-B English test: its ten values equal stock sentence-transformers' evaluator within 1e-6.
    Opt-in: it encodes the 1,379 pairs a second time; in the default suite tests/test_workbench.py makes the same comparison
    through the console script on local files, and the test above checks the ten values this one compares."""
    out = _eval_minilm_test()
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
    from sts_study.data import load_data
    from sts_study.record import METRICS
    test = load_data('stsb-en', 'test')
    lib = EmbeddingSimilarityEvaluator(test['sentence1'], test['sentence2'], test['score'], name='t',
                                       similarity_fn_names=['cosine', 'manhattan', 'euclidean', 'dot'])(SentenceTransformer(str(MIRROR/MINILM), device='cpu'))
    for k in METRICS: assert abs(out['metrics'][k] - lib[f't_{k}']) < 1e-6, (k, out['metrics'][k], lib[f't_{k}'])

@needs_mirror
def test_card_m_smoke_run_compares_row_by_row_and_carries_hub_metadata(tmp_path):
    "Card M on smoke with the card's logging: its comparison lists the 43 published loss rows and the 3 column statistics; its card loads with huggingface_hub."
    out = tmp_path/'m'
    r = run_cli('reproduce', 'english-minilm', '--profile', 'smoke', '--out', out, '-p', 'args.max_steps', '100', '-p', 'args.logging_steps', '50')
    assert r.returncode == 0, r.stderr[-3000:]
    cmp = (out/'comparison.md').read_text()
    loss = cmp.split('#### Training loss, published vs reproduced\n\n', 1)[1].split('\n####', 1)[0]
    assert loss.startswith('0 of 43 published loss rows agree within 5% relative, 0 to the 4 decimals the card prints (41 have no reproduced row); the largest difference is at step ')
    assert len(re.findall(r'^\| [\d,]+ +\| \d\.\d{4} ', loss, re.M)) == 43  # every published row, reproduced beside it where the run logged that step
    assert re.search(r'^\| 100 +\| 0\.1391 \| 0\.0217 +\| \d\.\d{4} ', loss, re.M)
    stats = cmp.split('#### Dataset statistics, published vs reproduced', 1)[1].split('\n####', 1)[0]
    assert [m for m in re.findall(r'^\| glue +\| (\w+) ', stats, re.M)] == ['sentence1', 'sentence2', 'score']
    m = json.loads((out/'metrics.json').read_text())
    assert (m['loss_vs_published']['n'], m['loss_vs_published']['compared'], m['stats_vs_published']['n']) == (43, 2, 3)
    # the run's figure is the plot of this comparison, title included: drawn again from the card and the run's log, byte for byte;
    # and that plot shows the card's 43 published losses and the run's own at the 2 steps both logged
    from sts_study.card import read_card, loss_log
    from sts_study.report import loss_comparison
    from sts_study.plots import plot_loss_comparison
    from sts_study.settings import PACKAGE_CARDS
    card = read_card(PACKAGE_CARDS/'english-minilm-stsb.md')
    f = plot_loss_comparison(loss_comparison(card, out/'log.csv'), title='english-minilm (smoke): training loss, 0 of 43 published rows within 5%', path=tmp_path/'expected.png')
    ours = {int(r['step']): float(r['loss']) for r in csv.DictReader(open(out/'log.csv')) if r.get('loss')}
    pub, rep = f.axes[0].lines
    assert (list(pub.get_ydata()), list(rep.get_xdata()), list(rep.get_ydata())) == ([l for _, _, l in loss_log(card)], [50, 100], [ours[50], ours[100]])
    assert (out/'plots'/'loss_vs_published.png').read_bytes() == (tmp_path/'expected.png').read_bytes()
    from huggingface_hub import ModelCard
    card = ModelCard.load(out/'README.md')
    assert (card.data.base_model, card.data.language, card.data.datasets) == ('tiny', ['en'], ['nyu-mll/glue'])
    assert sorted({e.dataset_type for e in card.data.eval_results}) == ['sts-dev', 'sts-test'] and len(card.data.eval_results) == 20
    assert card.data.eval_results[10].metric_value == m['test']['pearson_cosine']

def _run_folder(root, seed, stand_in, variant, max_steps, noise, rng, gold):
    "A complete control run folder, as far as the control notebook reads it: STATUS, run.json, metrics.json, log.csv."
    f = root/f"english-minilm-cpu-{'q4' if stand_in else 'real'}-{variant or 'scaled'}-{max_steps}-{seed}"; f.mkdir()
    cos = {sp: (np.asarray(g) + rng.normal(0, noise, len(g))).tolist() for sp, g in gold.items()}
    from sts_study.record import METRICS
    ev = {sp: {'n': len(g), 'metrics': {k: 0.8 for k in METRICS}, 'ci': {k: [0.78, 0.82] for k in METRICS}} for sp, g in gold.items()}
    run = RunRecord(card='english-minilm', profile='cpu', variant=variant, seed=seed, stand_in=stand_in, recipe={'args': {'max_steps': max_steps}},
               steps=2157 if max_steps < 0 else max_steps, wall_seconds=600.0, train_sizes={'glue': 5749}, selection={'rule': 'last'}, best=None,
               model_source={'asked': 'sentence-transformers/all-MiniLM-L6-v2', 'stand_in': stand_in}, before=ev, after=ev, gold=gold,
               cosine={**cos, 'dev_before': (np.asarray(gold['dev']) + rng.normal(0, .3 + .1 * stand_in, len(gold['dev']))).tolist(),
                       'test_before': (np.asarray(gold['test']) + rng.normal(0, .3 + .1 * stand_in, len(gold['test']))).tolist()})
    (f/'run.json').write_text(json.dumps(run.to_json()))
    (f/'metrics.json').write_text(json.dumps({'loss_vs_published': {'n': 43, 'within': 42, 'tol': 0.05, 'largest': {'step': 750, 'published': 0.0161, 'reproduced': 0.0155, 'rel': -0.037}},
                                              'stats_vs_published': {'equal': 3, 'n': 3}}))
    from sts_study.card import read_card, log_values  # the card's own loss rows: a run that reproduces them exactly
    rows = log_values(read_card(ROOT/'sts_study/cards/english-minilm-stsb.md'))
    (f/'log.csv').write_text('step,epoch,loss\n' + ''.join(f'{r[1]},{r[0]},{r[2]}\n' for r in rows))
    (f/'STATUS').write_text('complete\n')
    return f.name

def test_control_notebook_rewrites_readme_from_run_folders(tmp_path):
    "nbs/17_control_report.ipynb on 15 synthetic control run folders: every folder named, the loss table per seed, the calibration table with 4 questions, 2 figures."
    rng = np.random.default_rng(0)
    gold = {'dev': rng.random(120).tolist(), 'test': rng.random(100).tolist()}
    runs = tmp_path/'runs'; runs.mkdir()
    names = [_run_folder(runs, s, False, None, -1, .3, rng, gold) for s in (42, 1, 2)]
    names += [_run_folder(runs, s, si, v, 400, n, rng, gold) for s in (42, 1, 2)
              for si, v, n in ((False, None, .3), (True, None, .4), (False, 'raw-scores', .9), (True, 'raw-scores', 1.0))]
    (bad := runs/'broken').mkdir(); (bad/'STATUS').write_text('complete\n'); (bad/'metrics.json').write_text('{}'); (bad/'run.json').write_text('{"card": ')  # malformed: passed over, named
    readme = tmp_path/'README.md'
    readme.write_text('# kept\n<!-- control:begin -->\nstale\n<!-- control:end -->\nkept too\n')
    r = subprocess.run([str(Path(sys.executable).parent/'papermill'), str(ROOT/'nbs/17_control_report.ipynb'), str(tmp_path/'out.ipynb'),
                        '-p', 'runs_dir', str(runs), '-p', 'readme', str(readme), '-p', 'n_resamples', '50'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    said = ''.join(''.join(o.get('text', '')) for c in json.loads((tmp_path/'out.ipynb').read_text())['cells'] for o in c.get('outputs', []))
    assert f"passed over a malformed run folder: {bad/'run.json'}: Expecting value: line 1 column 10 (char 9)" in said, said[-3000:]
    text = re.sub(r' +', ' ', readme.read_text())
    assert text.startswith('# kept\n') and text.endswith('kept too\n') and 'stale' not in text
    assert all(f'`{n}`' in text for n in names)
    assert text.count('| 43 of 43 | 43 of 43 | step 50: 0.0286 published, 0.0286 reproduced (+0.0%) |') == 3  # the synthetic logs are the card's rows
    assert [q for q in re.findall(r'^\| (zero-shot|fine-tuned[^|]*|card H\'s bug[^|]*) \|', text, re.M)] == [
        'zero-shot', 'fine-tuned, scores / 5', "card H's bug, real model: raw 0–5 − scores / 5", "card H's bug, stand-in: raw 0–5 − scores / 5"]
    assert "- Card H's bug on both models: dev: raw − scaled is -" in text and 'MTEB publishes 0.8203' in text
    assert sorted(p.name for p in (tmp_path/'docs/control').glob('*.png')) == ['loss-seeds.png', 'stand-in-vs-real.png']

def test_derive_q4_cli_makes_a_labelled_stand_in(tmp_path, capsys):
    "`sts-study model derive-q4` (the CLI's `main`, in process) on a tiny saved encoder: a folder that resolves as a stand-in, with its README; an existing folder is refused (exit 1)."
    from sts_study.cli import main
    from sts_study.models import random_model, train_tokenizer, TINY, resolve_model
    random_model(train_tokenizer(['a small text to tokenise', 'another one']), 'bert', TINY, seed=0).save(str(tmp_path/'tiny'))
    main(['model', 'derive-q4', tmp_path/'tiny', tmp_path/'q4', '--for', 'org/tiny'])
    assert 'quantised 13 tensors' in capsys.readouterr().out
    assert resolve_model(str(tmp_path/'q4')).stand_in and (tmp_path/'q4'/'README.md').read_text().startswith('# A 4-bit-derived stand-in for org/tiny')
    with pytest.raises(SystemExit) as e: main(['model', 'derive-q4', tmp_path/'tiny', tmp_path/'q4'])
    assert e.value.code == 1 and 'exists' in capsys.readouterr().err

@slow
@needs_minilm
def test_card_m_cpu_reproduces_the_published_log(tmp_path):
    "Card M's whole run on the cpu profile (about 12 minutes on 2 cores): at least 90% of the 43 loss rows within 5%, every dataset statistic equal."
    out = tmp_path/'m'
    r = run_cli('reproduce', 'english-minilm', '--profile', 'cpu', '--out', out, timeout=3600)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out/'metrics.json').read_text())
    assert m['steps'] == 2157 and m['loss_vs_published']['compared'] == 43 and m['loss_vs_published']['within'] >= 39, m['loss_vs_published']
    assert m['stats_vs_published'] == {'equal': 3, 'n': 3}
