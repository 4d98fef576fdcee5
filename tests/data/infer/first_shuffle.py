"""Measure what fit()'s first shuffle does to a known-answer card's rows (README: Known answers).

fit() iterates the writer's own `DataLoader(shuffle=True)` (torch's global seed: `write_cards.py` sets 7) and freezes
that order into the dataset it hands the Trainer, which then shuffles again with seed 42 + epoch. The study's engine
has only the second shuffle. This script puts the first one in front of it (the recipe has no option for it yet) and
runs `sts-study recipe infer` on the true reading, so its rows can be compared with the card's:

    OMP_NUM_THREADS=1 python tests/data/infer/first_shuffle.py fit 8 tests/data/infer/warmup10.md --out /tmp/w10 \\
        --until 40 --budget 40 --seeds 1 --top 1 -p optimizer.lr 2e-5 -p optimizer.weight_decay 0.01 \\
        -p optimizer.scheduler WarmupLinear -p optimizer.fused false -p optimizer.warmup_steps 8 -p eval.limit 200

`fit` puts the writer's order first, `engine` leaves the engine's own; the second argument is the writer's batch size.
"""
import sys
import torch
from torch.utils.data import DataLoader
import sts_study.infer as infer
from write_cards import SEED as WRITER_SEED  # the torch seed the known-answer cards' writer set before fit()

def writer_order(n:int, batch_size:int, seed:int=WRITER_SEED) -> list:
    "The row order fit() froze: the writer's DataLoader(shuffle=True) iterated after torch.manual_seed(seed)."
    torch.manual_seed(seed)
    return [i for b in DataLoader(range(n), batch_size=batch_size, shuffle=True) for i in b.tolist()]

def main(argv):
    how, bs, card, rest = argv[0], int(argv[1]), argv[2], argv[3:]
    engine_data = infer.build_train_data
    def with_writer_order(r, seed=42):
        data = engine_data(r, seed)
        if how == 'fit':
            for k in list(data): data[k] = data[k].select(writer_order(len(data[k]), bs))
        return data
    infer.build_train_data = with_writer_order  # the trials' data (`infer.trial_run`)
    from sts_study.cli import main as cli
    cli(['recipe', 'infer', card, '--json', *rest])

if __name__ == '__main__': main(sys.argv[1:])
