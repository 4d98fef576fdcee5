"""The engine's reconstruction of `model.fit()` against sentence-transformers 3.0.1's own fit(), run in a separate
environment with that version (the cards' version). Opt-in: STS_STUDY_ST301_PYTHON names its python, e.g.

    python3 -m venv /tmp/st301 && /tmp/st301/bin/pip install torch==2.13.0 sentence-transformers==3.0.1 \\
        transformers==4.42.4 accelerate==0.32.1 datasets==2.20.0 tokenizers==0.19.1 "numpy<2" "pyarrow<17"
    STS_STUDY_ST301_PYTHON=/tmp/st301/bin/python .venv/bin/pytest tests/test_fit_reconstruction.py

Same tiny model (dropout off), CosineSimilarityLoss, lr 1e-3 (to move the tiny model visibly), 5 warm-up steps, 20 epochs of one KorSTS pair (test row 0, gold 0.5; batch 1, so
t_total = 1 // 1 x 20 = 20): the learning rate of every step and the weights after the last agree within 1e-6.
One pair, because the two versions' samplers order the rows of a batch differently, and a different summation
order alone moves the weights: the same engine on 16 pairs a batch with two sampler seeds ends up to ~1e-5 apart
(rows of tokens with near-zero gradients, where Adam's normalised step magnifies rounding)."""
import csv, json, os, subprocess
import pytest
from conftest import needs_mirror

ST301 = os.environ.get('STS_STUDY_ST301_PYTHON')

FIT_301 = r'''
import csv, json, sys
from sentence_transformers import SentenceTransformer, InputExample, losses, models
from torch.utils.data import DataLoader
hf_dir, pairs, out = sys.argv[1:4]
assert __import__('sentence_transformers').__version__ == '3.0.1'
t = models.Transformer(hf_dir, max_seq_length=64)
model = SentenceTransformer(modules=[t, models.Pooling(t.get_word_embedding_dimension(), 'mean')], device='cpu')
ex = [InputExample(texts=[a, b], label=float(l)) for a, b, l in csv.reader(open(pairs), delimiter='\t', quoting=csv.QUOTE_NONE)]
lrs, orig = [], SentenceTransformer._get_scheduler
def recording(optimizer, scheduler, warmup_steps, t_total):
    s = orig(optimizer, scheduler, warmup_steps, t_total)
    step = s.step
    def rec(*a, **k):  # the rate the step just taken used (the optimizer steps, then the scheduler)
        lrs.append(s.get_last_lr()[0]); return step(*a, **k)
    s.step = rec
    return s
SentenceTransformer._get_scheduler = staticmethod(recording)
model.fit([(DataLoader(ex, batch_size=1, shuffle=False), losses.CosineSimilarityLoss(model))], epochs=20, warmup_steps=5, optimizer_params={'lr': 1e-3},
          show_progress_bar=False, checkpoint_path=None)
model.save(out + '/model')
json.dump({'lrs': lrs}, open(out + '/lrs.json', 'w'))
'''

@needs_mirror
@pytest.mark.skipif(not ST301, reason='needs a python with sentence-transformers 3.0.1: set STS_STUDY_ST301_PYTHON')
def test_fit_reconstruction_matches_st301(tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModel
    from sts_study.data import load_registry_dataset
    from sts_study.models import train_tokenizer, TINY, ARCHITECTURES
    from sts_study.recipe import load_recipe
    from sts_study.train import run_recipe
    rows = load_registry_dataset('korsts', 'test').select(range(1))  # gold 0.5: far from the random model's cosine, a real gradient
    with open(tmp_path/'pairs.tsv', 'w', newline='') as f:
        w = csv.writer(f, delimiter='\t', quoting=csv.QUOTE_NONE, escapechar='\\')
        for r in rows: w.writerow([r['sentence1'], r['sentence2'], r['score']])
    tok = train_tokenizer(list(rows['sentence1']) + list(rows['sentence2']))
    cfg = ARCHITECTURES['bert'](**TINY, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, vocab_size=len(tok), pad_token_id=tok.pad_token_id)
    import torch; torch.manual_seed(0)
    hf = tmp_path/'tiny'; AutoModel.from_config(cfg).save_pretrained(hf); tok.save_pretrained(hf)
    tc = json.loads((hf/'tokenizer_config.json').read_text())  # transformers 4.42 knows the plain fast tokenizer by its old name
    (hf/'tokenizer_config.json').write_text(json.dumps({**tc, 'tokenizer_class': 'PreTrainedTokenizerFast'}))

    p = subprocess.run([ST301, '-c', FIT_301, hf, tmp_path/'pairs.tsv', tmp_path/'st301'], capture_output=True, text=True, timeout=600,
                       env={k: v for k, v in os.environ.items() if k not in ('PYTHONPATH',)})
    assert p.returncode == 0, p.stderr[-3000:]
    theirs = json.loads((tmp_path/'st301/lrs.json').read_text())['lrs']

    ov = {'model': {'base': str(hf), 'max_seq_length': 64},
          'train': {'hebnli': {'data': 'korsts', 'split': 'test', 'convert': 'sts', 'limit': 1, 'label_map': None}},
          'allow_label_misuse': False, 'stop_after_epochs': None, 'stop_after_steps': None, 'schedule': {'compress_to': None},
          'optimizer': {'builder': 'fit', 'st_version': '3.0.1', 'warmup_steps': 5, 'lr': 1e-3, 'fused': False},  # 3.0.1's for-each AdamW
          'args': {'per_device_train_batch_size': 1, 'num_train_epochs': 20, 'logging_steps': 1, 'eval_steps': 1000},
          'eval': {'limit': 20}, 'test': {'limit': 20}}
    rec = run_recipe(load_recipe('hebrew-mbert', 'smoke', overrides=ov), tmp_path/'ours', seed=42, n_resamples=10)
    # transformers 5 logs the rate each step trained at
    ours = [float(x['learning_rate']) for x in csv.DictReader(open(tmp_path/'ours/log.csv')) if x.get('learning_rate')]
    assert rec.steps == 20 and rec.optimizer['t_total'] == 20
    assert len(ours) == len(theirs) == 20, (ours, theirs)
    assert max(abs(a - b) for a, b in zip(ours, theirs)) < 1e-12, list(zip(ours, theirs))
    a, b = load_file(tmp_path/'ours/model/model.safetensors'), load_file(tmp_path/'st301/model/model.safetensors')
    assert set(a) == set(b)
    diff = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    init = load_file(hf/'model.safetensors')
    moved = max(float((a[k].float() - init[k].float()).abs().max()) for k in a if k in init)
    print(f'20 steps: max |lr ours - lr 3.0.1| {max(abs(x - y) for x, y in zip(ours, theirs)):.1e}; max |w ours - w 3.0.1| {diff:.2e}; '
          f'max |w - w0| {moved:.2e}')
    assert moved > 1e-5  # the weights did move
    assert diff < 1e-6
