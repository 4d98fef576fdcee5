"The engine: resume after an interruption and determinism (two-process DDP: tests/test_long_runs.py, through `sts-study train --nproc 2`)."
import pytest
from conftest import needs_mirror, slow, crash_at

@needs_mirror
def test_resume_matches_uninterrupted(tmp_path):
    from sts_study.recipe import load_recipe
    from sts_study.train import run_recipe
    r = load_recipe('korean-gte', 'smoke')
    full = run_recipe(r, tmp_path/'full', n_resamples=20, save_model=False)
    with pytest.raises(KeyboardInterrupt):
        run_recipe(r, tmp_path/'cut', n_resamples=20, save_model=False, callbacks=[crash_at(15)])
    # the compressed smoke run evaluates at steps 7, 13, 19 and 24, with a checkpoint (and the best-on-dev weights so far) at each
    assert full.schedule['evals'] == [7, 13, 19, 24] and (tmp_path/'cut/checkpoints/checkpoint-13').exists()
    assert (tmp_path/'cut/best/best.pt').exists()
    resumed = run_recipe(r, tmp_path/'cut', n_resamples=20, save_model=False, resume=True)
    assert resumed.resumed_from.endswith('checkpoint-13') and resumed.steps == full.steps == 24
    assert resumed.selection == full.selection and full.selection['step'] == 7  # the best (before the cut) kept through the resume
    for rep in ('after', 'best'):
        for split in ('dev', 'test'):
            for k, v in getattr(full, rep)[split].metrics.items():
                assert abs(getattr(resumed, rep)[split].metrics[k] - v) < 1e-6, (rep, split, k)

@needs_mirror
@slow
def test_cpu_resume_matches_uninterrupted(tmp_path):
    "The cpu profile (card H graded, first 12 steps; ~3 min on 2 cores): killed at step 9, resumed, same metrics within 1e-6."
    from sts_study.recipe import load_recipe
    from sts_study.train import run_recipe
    ov = {'stop_after_steps': 12, 'schedule': {'compress_to': None}, 'args': {'eval_steps': 6, 'logging_steps': 3}, 'eval': {'limit': 300}, 'test': {'limit': 300}}
    r = load_recipe('hebrew-mbert', 'cpu', 'graded', ov)
    full = run_recipe(r, tmp_path/'full', n_resamples=100, save_model=False)
    with pytest.raises(KeyboardInterrupt):
        run_recipe(r, tmp_path/'cut', n_resamples=100, save_model=False, callbacks=[crash_at(9)])
    res = run_recipe(r, tmp_path/'cut', n_resamples=100, save_model=False, resume=True)
    assert res.resumed_from.endswith('checkpoint-6') and res.steps == full.steps == 12
    for s in ('dev', 'test'):
        for k, v in full.after[s].metrics.items(): assert abs(res.after[s].metrics[k] - v) < 1e-6, (s, k)

@needs_mirror
@slow
def test_gte_full_config_trains(tmp_path):
    "Card K's recipe (smoke data) on a randomly initialised native GteModel of gte-multilingual-base's full configuration."
    import math, time, csv
    from sts_study.recipe import load_recipe
    from sts_study.train import run_recipe
    from transformers import GteConfig
    cfg = {'vocab_size': GteConfig().vocab_size}  # transformers' GteConfig defaults are gte-multilingual-base's: 12 layers, 768, 250,048
    ov = {'model': {'base': 'random', 'architecture': 'gte', 'config': cfg, 'max_seq_length': 128}, 'stop_after_steps': 3,
          'args': {'logging_steps': 1, 'eval_steps': 3}, 'eval': {'limit': 50}, 'test': {'limit': 50}}
    t0 = time.time()
    rec = run_recipe(load_recipe('korean-gte', 'smoke', overrides=ov), tmp_path, n_resamples=10, save_model=False)
    losses = [float(x['loss']) for x in csv.DictReader(open(tmp_path/'log.csv')) if x.get('loss')]
    print(f"GteModel full config: {rec.steps} steps, losses {losses}, {time.time() - t0:.0f} s")
    assert rec.steps == 3 and 'GteModel' in rec.architecture and rec.output_dim == 768
    assert len(losses) == 3 and all(math.isfinite(l) for l in losses)
