"""Write the known-answer cards of `sts-study recipe infer`'s validation with sentence-transformers' own `model.fit()`.

Run with the python of the sentence-transformers to test (3.0.1: the environment tests/test_fit_reconstruction.py
describes; the installed one for the acceptance card), from the repository root:

    /tmp/st301/bin/python tests/data/infer/write_cards.py MIRROR OUT defaults warmup10 lr5e-5-w100 two-calls
    .venv/bin/python tests/data/infer/write_cards.py MIRROR OUT st6-two-calls

MIRROR holds sentence-transformers/all-MiniLM-L6-v2 and PhilipMay/stsb-multi-mt (STS-B English, read in place).
Each card trains on the first ROWS pairs of STS-B English train (scores / 5), CosineSimilarityLoss, batch BS, and
evaluates on the first DEV pairs of its dev split at every epoch end and every EVAL_STEPS steps (EmbeddingSimilarity-
Evaluator 'sts-dev'). fit() has no argument for the Trainer's logging interval (500 steps): the script sets it to LOG
(KNOWN: 10 or 40) so that a short run logs its loss; the card shows the interval in its Step column. Only the hidden arguments differ:
they are the answers the cards are written with (KNOWN below). The issue-size card (`stsb-two-calls`: SIZES) trains
on all 5,749 train pairs, batch 16 (360 steps an epoch), evaluates on all 1,500 dev pairs at each epoch end only, and
logs its loss every 500 steps (fit()'s own interval), as a user's script would:

    .venv/bin/python tests/data/infer/write_cards.py MIRROR OUT stsb-two-calls"""
import csv, math, os, sys
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import sentence_transformers as st
from sentence_transformers import SentenceTransformer, InputExample, losses
from sentence_transformers.evaluation import EmbeddingSimilarityEvaluator
from torch.utils.data import DataLoader

ROWS, DEV, BS, EVAL_STEPS, SEED = 320, 200, 8, 20, 7  # 40 steps an epoch
KNOWN = {  # card → (loss rows every LOG steps, its fit() calls: (epochs, fit() keyword arguments)); warm-up as a fraction of the call's run where 'warmup_frac'
    'defaults': (10, [(2, {})]),
    'warmup10': (10, [(2, dict(warmup_frac=0.1))]),
    'lr5e-5-w100': (10, [(2, dict(optimizer_params={'lr': 5e-5}, warmup_steps=100))]),
    'two-calls': (10, [(2, dict(warmup_frac=0.1)), (1, dict(warmup_frac=0.1))]),
    # the acceptance card: loss rows an epoch apart (a mean over every training pair, as the 500-step rows nearly were)
    'st6-two-calls': (40, [(2, dict(warmup_frac=0.1)), (1, dict(warmup_frac=0.1))]),
    # the case at its size: 4 epochs with the examples' 10% warm-up, then a second call of 1 epoch; fit()'s logging (None: 500 steps)
    'stsb-two-calls': (None, [(4, dict(warmup_frac=0.1)), (1, dict(warmup_frac=0.1))]),
}
SIZES = {'stsb-two-calls': (5749, 1500, 16, 0)}  # card → (ROWS, DEV, BS, EVAL_STEPS) where not the small cards'

def pairs(mirror, split, n):
    with open(Path(mirror)/f'PhilipMay/stsb-multi-mt/data/stsb-en-{split}.csv', newline='') as f:
        return [(a, b, float(s) / 5) for a, b, s in list(csv.reader(f))[:n]]

def logging_every(n):
    "fit()'s Trainer arguments with logging_steps n (fit() has no argument for it)."
    fm = sys.modules[SentenceTransformer.fit.__module__]
    A = getattr(fm, '_unpatched', None) or fm.SentenceTransformerTrainingArguments
    fm._unpatched = A
    class Logged(A):
        def __init__(self, *a, **k): super().__init__(*a, **{**k, 'logging_steps': n})
    fm.SentenceTransformerTrainingArguments = Logged

def write(mirror, out, name):
    import random, numpy as np, torch
    random.seed(SEED); np.random.seed(SEED); torch.manual_seed(SEED)
    model = SentenceTransformer(str(Path(mirror)/'sentence-transformers/all-MiniLM-L6-v2'), device='cpu')
    rows, ndev, bs, every = SIZES.get(name, (ROWS, DEV, BS, EVAL_STEPS))
    if name not in SIZES: model.max_seq_length = 64
    model.model_card_data.base_model = 'sentence-transformers/all-MiniLM-L6-v2'
    train = [InputExample(texts=[a, b], label=s) for a, b, s in pairs(mirror, 'train', rows)]
    dev = pairs(mirror, 'dev', ndev)
    ev = EmbeddingSimilarityEvaluator([a for a, _, _ in dev], [b for _, b, _ in dev], [s for _, _, s in dev], name='sts-dev')
    if KNOWN[name][0]: logging_every(KNOWN[name][0])
    for epochs, kw in KNOWN[name][1]:
        kw = dict(kw)
        if 'warmup_frac' in kw: kw['warmup_steps'] = math.ceil(kw.pop('warmup_frac') * (rows // bs) * epochs)
        model.fit([(DataLoader(train, batch_size=bs, shuffle=True), losses.CosineSimilarityLoss(model))], evaluator=ev, epochs=epochs,
                  evaluation_steps=every, show_progress_bar=name in SIZES, **kw)
    model.save(str(Path(out)/name))
    (Path(out)/f'{name}.md').write_text((Path(out)/name/'README.md').read_text())

if __name__ == '__main__':
    mirror, out, *names = sys.argv[1:]
    print('sentence-transformers', st.__version__)
    for n in names: write(mirror, out, n)
