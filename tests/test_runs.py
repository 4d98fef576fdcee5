"Reading a run record back: which model's evaluations and cosines a run reports (its best-on-dev model's only where the recipe selects it)."
import dataclasses
from sts_study.record import RunRecord, Evaluation

def _run(rule, best=True):
    "A run record as `run_recipe` writes it, as far as these read it: after, best, selection and the cosines of each model."
    ev = lambda v: {sp: Evaluation(n=3, metrics={'spearman_cosine': v}, ci={}) for sp in ('dev', 'test')}
    return RunRecord(card='korean-gte', profile='cpu', seed=42, steps=9, selection={'rule': rule, 'step': 7}, before=ev(0.1), after=ev(0.5),
                     best=ev(0.7) if best else None, gold={'dev': [0, 1, 2], 'test': [2, 1, 0]},
                     cosine={'dev': [0.1, 0.2, 0.3], 'test': [0.4, 0.5, 0.6], **({'dev_best': [0.7, 0.8, 0.9], 'test_best': [0.3, 0.2, 0.1]} if best else {})})

def test_best_on_dev_reports_the_best_model():
    "A recipe that selects on dev (card K, as fit() saved its best checkpoint) reports the best model's evaluations and its cosines."
    r = _run('best_on_dev')
    assert r.reports_best and r.reported() is r.best and r.reported()['dev'].metrics['spearman_cosine'] == 0.7
    assert (r.reported_cosine('dev'), r.reported_cosine('test')) == ([0.7, 0.8, 0.9], [0.3, 0.2, 0.1])

def test_last_model_otherwise():
    "The last model's: a recipe that reports its last evaluation (card H), though a best was kept; a best-on-dev run whose best is missing; a record with no selection."
    for r in (_run('last'), _run('best_on_dev', best=False), dataclasses.replace(_run('best_on_dev'), selection=None)):
        assert not r.reports_best and r.reported() is r.after and r.reported()['test'].metrics['spearman_cosine'] == 0.5
        assert (r.reported_cosine('dev'), r.reported_cosine('test')) == ([0.1, 0.2, 0.3], [0.4, 0.5, 0.6])

def test_a_record_survives_its_json():
    "What run.json holds comes back as the same record: the evaluations typed, `by_genre` only where there was one."
    r = _run('best_on_dev')
    back = RunRecord.from_json(r.to_json())
    assert back == r and back.best['dev'] == Evaluation(n=3, metrics={'spearman_cosine': 0.7}, ci={}) and 'by_genre' not in r.to_json()['after']['dev']
