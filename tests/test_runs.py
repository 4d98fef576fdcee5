"Reading a run record back: which model's evaluations and cosines a run reports (its best-on-dev model's only where the recipe selects it)."
from sts_study.runs import reported, reported_cosine

def _run(rule, best=True):
    "A run record as `run_recipe` writes it, as far as these read it: after, best, selection and the cosines of each model."
    ev = lambda v: {sp: {'n': 3, 'metrics': {'spearman_cosine': v}} for sp in ('dev', 'test')}
    return dict(selection={'rule': rule, 'step': 7}, after=ev(0.5), best=ev(0.7) if best else None,
                cosine={'dev': [0.1, 0.2, 0.3], 'test': [0.4, 0.5, 0.6], **({'dev_best': [0.7, 0.8, 0.9], 'test_best': [0.3, 0.2, 0.1]} if best else {})})

def test_best_on_dev_reports_the_best_model():
    "A recipe that selects on dev (card K, as fit() saved its best checkpoint) reports the best model's evaluations and its cosines."
    r = _run('best_on_dev')
    assert reported(r) is r['best'] and reported(r)['dev']['metrics']['spearman_cosine'] == 0.7
    assert (reported_cosine(r, 'dev'), reported_cosine(r, 'test')) == ([0.7, 0.8, 0.9], [0.3, 0.2, 0.1])

def test_last_model_otherwise():
    "The last model's: a recipe that reports its last evaluation (card H), though a best was kept; a best-on-dev run whose best is missing; a record with no selection."
    for r in (_run('last'), _run('best_on_dev', best=False), {**_run('best_on_dev'), 'selection': None}):
        assert reported(r) is r['after']
        assert (reported_cosine(r, 'dev'), reported_cosine(r, 'test')) == ([0.1, 0.2, 0.3], [0.4, 0.5, 0.6])
