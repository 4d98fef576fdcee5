"""A reproducible study of fine-tuning sentence-transformers for Korean and Hebrew STS, and its package

Modules:

- `sts_study.bench`: Training-speed benchmark of the two cards' model shapes: samples/s, tokens/s, peak memory and model FLOP utilisation for the stock fp32 sentence-transformers path and faster variants, with a loss-parity check.
- `sts_study.card`: Model cards as data: parse a sentence-transformers card into a structured object, render a run as a card in the same layout (plus a Reproduction section), and diff two cards.
- `sts_study.cli`: The `sts-study` command: `data`, `eval`, `train`, `card`, `reproduce` and `bench`, each a thin layer over the package's functions.
- `sts_study.data`: Loaders that turn the registry's files into `datasets.Dataset`s with canonical columns, the converters the two cards' recipes need (NLI → triplets, NLI → labelled pairs), and dataset statistics in the cards' form.
- `sts_study.metrics`: The ten STS metrics the cards print, computed exactly as sentence-transformers' `EmbeddingSimilarityEvaluator` computes them, plus what a careful study adds: bootstrap intervals, paired comparisons, a genre breakdown.
- `sts_study.plots`: The study's figures: training curves, predicted cosine against gold, reproduced against published metrics, and how many rows of each dataset a recipe actually used.
- `sts_study.recipe`: A training recipe as data: the YAML under `sts_study/recipes/` loaded into a `Recipe`, with profiles (full, offline, smoke), variants (the study's fixes) and the mapping of the cards' 2024 training arguments to today's.
- `sts_study.reproduce`: One reproduction end to end into a self-contained run folder: the parameterised notebook `nbs/reproduce.ipynb` executed by papermill, and the functions it calls to write metrics, the card, the comparison and the plots.
- `sts_study.sources`: The registry of every upstream file the study uses, and checksummed fetching: local mirror first, then the network through pooch, into a cache under `data/`.
- `sts_study.train`: The fine-tuning engine: a recipe becomes model → data → loss → evaluator → args → trainer → save, with round-robin accounting, label-misuse checks, a CSV training log, checkpoints, resume and run metadata."""

__version__ = "0.1.0"
