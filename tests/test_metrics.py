"The metric suite end to end: `sts-study eval` against sentence-transformers' own evaluator."
import json
from conftest import run_cli, run_main, needs_mirror, slow, CPU_MODEL

@needs_mirror
@slow
def test_eval_cli_matches_library_evaluator():
    "KorSTS dev, the cpu profile's model (here its declared stand-in; 55 s, so opt-in: tests/test_control.py makes the same check on MiniLM in CI): the CLI's ten values equal EmbeddingSimilarityEvaluator's within 1e-6."
    r = run_cli('eval', '--model', CPU_MODEL, '--data', 'korsts', '--split', 'dev', '--json')
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out['n'] == 1500
    from sts_study.metrics import sts_evaluator
    from sts_study.record import METRICS
    from sts_study.models import load_model, resolve_model
    from sts_study.data import load_registry_dataset
    src = resolve_model(CPU_MODEL)
    assert out['model_source'] == src.record()  # what was asked for and what was used (a stand-in names its weights' sha256)
    lib = sts_evaluator(load_registry_dataset('korsts', 'dev'))(load_model(src))
    for k in METRICS:
        assert abs(out['metrics'][k] - lib[f'sts-dev_{k}']) < 1e-6, k
        lo, hi = out['ci'][k]
        assert lo < out['metrics'][k] < hi
    assert set(out['by_genre']) == {'main-captions', 'main-forums', 'main-news'}

def test_eval_missing_model():
    "`sts-study eval` of a model folder that is not there: one line naming it, exit 1."
    r = run_main('eval', '--model', './no/such/model', '--data', 'korsts', '--split', 'dev')
    assert (r.returncode, r.stdout, r.stderr) == (1, '', "sts-study: error: model './no/such/model' not found: no such folder\n")
