"""`sts-study preflight`: the smoke profile's steps through the engine (CI), the refusals (exit 2, before any download
and without a run folder), and, opt-in (STS_STUDY_SLOW), the full profiles of cards K and H at their real shapes."""
import json
import pytest
from conftest import run_main, needs_mirror, slow

@pytest.fixture
def places(tmp_path, monkeypatch):
    "Outputs and cache in fresh folders: a preflight writes into neither."
    out, cache = tmp_path/'outputs', tmp_path/'cache'
    monkeypatch.setenv('STS_STUDY_OUTPUTS', str(out)); monkeypatch.setenv('STS_STUDY_CACHE', str(cache)); monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    return out, cache

def _untouched(places):
    "Nothing was written where runs and downloads go."
    return [p for p in places if p.exists() and any(p.rglob('*'))]

@needs_mirror
def test_smoke_preflight_runs_the_engine_and_plans(places):
    "Card H's smoke profile: 3 steps at its batch through the engine, a checkpoint resumed, the memory estimate within 20% of the measured peak."
    r = run_main('preflight', 'hebrew-mbert', '--profile', 'smoke', '--json')
    assert r.returncode == 0, r.stderr[-3000:]
    p = json.loads(r.stdout)
    ran, m, pl = p['ran'], p['measured'], p['plan']
    assert (ran['steps'], ran['batch_size'], ran['max_seq_length'], ran['checkpoint'], ran['bf16']) == (3, 16, 64, 'checkpoint-2', False)
    assert (ran['loss_classes'], ran['sampler'], ran['batch_sampler'], ran['optimizer']['implementation']) == ({'hebnli': 'CosineSimilarityLoss'}, 'round_robin', 'batch_sampler', 'fused')
    assert ran['resumed_optimizer_states'] == 37  # AdamW's state of each of the tiny encoder's 37 tensors, restored from the checkpoint
    assert ran['eval_rows'] == 32 and set(ran['evaluation']) >= {'eval_sts-dev_spearman_cosine'}
    assert 0.8 <= m['memory_ratio'] <= 1.2, (m['memory_estimate'], m['memory'])  # the plan's estimate vs the profiled peak, same batch
    assert (pl['steps'], pl['evaluations'], pl['checkpoints']) == (12, 3, 3)  # the smoke profile's compressed run
    assert p['downloads'] == [] and _untouched(places) == []

@needs_mirror
def test_sequence_longer_than_positions_is_refused(places):
    r = run_main('preflight', 'hebrew-mbert', '--profile', 'full', '-p', 'model.max_seq_length', '1024')
    assert r.returncode == 2
    assert "model.max_seq_length: 1024 is above google-bert/bert-base-multilingual-cased's 512 positions" in r.stderr
    assert _untouched(places) == []

@needs_mirror
def test_batch_that_cannot_fit_the_gpu_is_refused(places):
    r = run_main('preflight', 'hebrew-mbert', '--profile', 'full', '--gpu', 'L4', '-p', 'args.per_device_train_batch_size', '4096')
    assert r.returncode == 2, r.stderr[-2000:]
    assert '--gpu L4: a batch of 4096 does not fit its 24 GB under bf16' in r.stderr and 'the largest batch that fits is ' in r.stderr
    largest = int(r.stderr.split('the largest batch that fits is ')[1].split()[0])
    assert 0 < largest < 4096
    assert _untouched(places) == []

@needs_mirror
def test_unknown_loss_is_refused(places):
    r = run_main('preflight', 'hebrew-mbert', '--profile', 'full', '-p', 'train.hebnli.loss', 'CosineSimilarityLos')
    assert r.returncode == 2
    assert "train[hebnli].loss: 'CosineSimilarityLos' is not a sentence-transformers loss (did you mean 'CosineSimilarityLoss'?)" in r.stderr
    assert _untouched(places) == []

def test_remote_code_without_the_opt_in_is_refused(places):
    r = run_main('preflight', 'korean-gte', '--profile', 'full', '--variant', 'remote-code', '-p', 'model.trust_remote_code', 'false')
    assert r.returncode == 2
    assert "model.trust_remote_code: Alibaba-NLP/gte-multilingual-base is a 'new' model whose class is the repository's own code (NewModel)" in r.stderr
    assert _untouched(places) == []

def _full(card, places):
    r = run_main('preflight', card, '--profile', 'full', '--json')
    assert r.returncode == 0, r.stderr[-3000:]
    assert _untouched(places) == []
    return json.loads(r.stdout)

@slow
@needs_mirror
def test_full_preflight_card_k(places):
    "Card K at gte-multilingual-base's shape (random weights), batch 8, max_seq_length 8192, MNRL + CosineSimilarityLoss, round robin, fused AdamW, bf16."
    p = _full('korean-gte', places)
    ran = p['ran']
    assert (ran['batch_size'], ran['max_seq_length'], ran['bf16'], ran['optimizer']['implementation']) == (8, 8192, True, 'fused')
    assert ran['loss_classes'] == {'kornli-triplets': 'MultipleNegativesRankingLoss', 'korsts': 'CosineSimilarityLoss'}
    assert (ran['sampler'], ran['batch_sampler'], ran['made_up']) == ('round_robin', 'no_duplicates', ['kornli-triplets'])
    assert p['resolved']['shape']['params'] == 305_368_320
    assert p['plan']['steps'] == 14380 and 0.8 <= p['measured']['memory_ratio'] <= 1.2

@slow
@needs_mirror
def test_full_preflight_card_h(places):
    "Card H at mBERT's shape (random weights), batch 16, max_seq_length 512, CosineSimilarityLoss on raw labels, fused AdamW, bf16."
    p = _full('hebrew-mbert', places)
    ran = p['ran']
    assert (ran['batch_size'], ran['max_seq_length'], ran['bf16'], ran['optimizer']['implementation']) == (16, 512, True, 'fused')
    assert (ran['loss_classes'], ran['made_up']) == ({'hebnli': 'CosineSimilarityLoss'}, ['hebnli'])
    assert p['resolved']['shape']['params'] == 177_853_440
    assert p['plan']['steps'] == 18755 and 0.8 <= p['measured']['memory_ratio'] <= 1.2

@needs_mirror
def test_reproduce_preflight_refuses_without_a_run_folder(places):
    "`reproduce --preflight` is the preflight: the same refusal, and no run folder."
    r = run_main('reproduce', 'hebrew-mbert', '--profile', 'full', '--preflight', '-p', 'model.max_seq_length', '1024')
    assert r.returncode == 2 and "is above google-bert/bert-base-multilingual-cased's 512 positions" in r.stderr
    assert _untouched(places) == []
