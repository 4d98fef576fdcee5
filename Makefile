# Two commands: `make test` and `make reproduce`. Each creates .venv when missing and installs the package, with its
# dev, lab and infer extras, at the pinned versions of constraints.txt. CPU installs get torch==2.13.0; GPU users install their own torch into
# .venv first (see README), and it is kept.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PROFILE ?= $(or $(STS_STUDY_PROFILE),$(shell sed -n 's/^profile *= *\([a-z]*\).*/\1/p' settings.ini))
TORCH ?= torch==2.13.0

.PHONY: test reproduce findings control install lab clean-venv faults docs docs-serve docs-test audit-table
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,lab,infer]"
	touch $@

# fast suite: notebooks (nbdev-test) and the CLI / end-to-end tests (pytest), each in TEST_WORKERS processes that share
# the cores (CI's 2 cores: 2 processes of one torch thread each; tests/conftest.py does the same for pytest-xdist's
# workers). Expensive checks are opt-in (README: Tests).
TEST_WORKERS ?= 2
TEST_THREADS ?= $(shell n=$$(( $$(nproc) / $(TEST_WORKERS) )); echo $$(( n > 0 ? n : 1 )))
test: install
	@before=$$(git diff -- sts_study | sha1sum); $(BIN)/nbdev-export; \
	  if [ "$$before" != "$$(git diff -- sts_study | sha1sum)" ]; then echo "nbdev-export changed sts_study/: the modules did not match the notebooks"; git status --short sts_study; exit 1; fi
	OMP_NUM_THREADS=$(TEST_THREADS) MKL_NUM_THREADS=$(TEST_THREADS) $(BIN)/nbdev-test --n-workers $(TEST_WORKERS)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal

# reproduce both cards with the profile from settings.ini / STS_STUDY_PROFILE
reproduce: install
	$(BIN)/sts-study reproduce korean-gte --profile $(PROFILE)
	$(BIN)/sts-study reproduce hebrew-mbert --profile $(PROFILE)

# the findings: each fix against the recipe it fixes, under both readings of the cards (fit()'s reconstruction, what
# the cards ran, and the printed hyperparameters: `as-printed`), over three seeds: the 30 runs of the sweep file
# sts_study/sweeps/findings.yaml, then the findings notebook over outputs/, which also writes the README's results section
# and its figures (docs/findings/). On the cpu profile every run is its card's whole schedule compressed into 24 steps
# with one dev evaluation (the sweep's budget): each run ~100 s of loading, evaluating (a pass over 1,500 dev pairs
# takes ~22 s on 2 cores) and writing, plus ~1.4 s a step, so that `make findings` stays within 90 minutes on 2 cores.
# `make reproduce` runs the cpu profile's own, larger budget. Complete runs are skipped and failed or interrupted ones
# resumed, so `make findings` again finishes a sweep that stopped. SWEEP_ARGS: e.g. --parallel 2, or --engine ray
# --address auto (README: Sweeps).
SWEEP_ARGS ?=
findings: install
	$(BIN)/sts-study sweep findings --profile $(PROFILE) $(SWEEP_ARGS)

# the positive control (card M: all-MiniLM-L6-v2 on STS-B English, its real model and data): derive the 4-bit stand-in,
# then the 15 runs of sts_study/sweeps/control.yaml: card M's whole run (the cpu profile: the card's 2,157 steps) over
# three seeds, then the calibration runs (real and stand-in, scores / 5 and raw 0-5 scores, each seed, 200 steps each: a
# complete short schedule, not a prefix), then nbs/17_control_report.ipynb over outputs/, which rewrites the README's
# "Positive control" section and its figures (docs/control/). control.yaml names the stand-in's folder below.
STAND_IN := data/stand-ins/all-MiniLM-L6-v2-q4
control: install
	test -d $(STAND_IN) || $(BIN)/sts-study model derive-q4 sentence-transformers/all-MiniLM-L6-v2 $(STAND_IN)
	$(BIN)/sts-study sweep control $(SWEEP_ARGS)

# docs/audit.md: the card × check table of every card the study has, the study's cards and the corpus of real generated
# cards (STS_STUDY_CORPUS, e.g. ../shared/cards/corpus), with its legend (audit.write_audit_doc, nbs/16_audit.ipynb). Written
# here, never by the tests: the notebook's test compares the file with the table it computes, and fails until this is rerun.
audit-table: install
	@test -d "$(STS_STUDY_CORPUS)" || { echo "audit-table: set STS_STUDY_CORPUS to the card corpus folder (the table covers every card)"; exit 2; }
	$(BIN)/python -c "from sts_study.audit import write_audit_doc, corpus_cards; from sts_study.recipe import CARDS; from sts_study.settings import get_settings; \
	  s = get_settings(); print('wrote', write_audit_doc([s.cards/f for f in CARDS.values()] + corpus_cards('$(STS_STUDY_CORPUS)'), s.root/'docs'/'audit.md'))"

# JupyterLab on nbs/ with the study's settings; notebooks are cleaned by nbdev on save (jupyter_server_config.py)
lab: install
	$(BIN)/jupyter lab --config=jupyter_server_config.py --notebook-dir=nbs $(LAB_ARGS)

clean-venv:
	rm -rf $(VENV)

# fault injection (issue 23): kill -9 and SIGTERM at 32 moments across smoke runs' whole lives (data, zero-shot, training,
# checkpoints, model save, card), two at a time, then `runs`, `resume` and the cache checked; prints the table. Also the
# slow SIGTERM-at-many-steps, disk-full and concurrent-start tests. FAULTS_N=3 for a short run.
FAULTS_N ?=
faults: install
	STS_STUDY_FAULTS=1 STS_STUDY_FAULTS_N=$(FAULTS_N) $(BIN)/pytest -q -s tests/test_faults.py

# the documentation site (issue 36): docs/site/stage.py lays out nbs/ (in the reading order of nbs/index.ipynb), the README,
# an API page per module and the CLI's help in _proc/, and Sphinx (myst-nb, the Book theme; docs/site/conf.py says why) builds
# _docs/ from it with warnings as errors, running every notebook but the parameterised ones (as nbdev-test does; the data
# comes from STS_STUDY_MIRROR or the network, as for make test). The install step fetches what the build needs: the docs
# extra (pip) and mermaid (npm pack of a pinned version, sha256-checked, unpacked into build/mermaid/); the build itself
# reads only the working tree. STS_DOCS_EXECUTE=off builds in a minute without running the notebooks (no outputs).
MERMAID ?= 12.3.0
MERMAID_SHA256 ?= be0684e8d20bfc874df12c0f04927a5c482f57f2200eec54cca52a4583fd4040
MERMAID_TGZ := build/npm/mermaid-$(MERMAID).tgz
DOCS_JOBS ?= 2
DOCS_PORT ?= 8000
$(VENV)/.docs-installed: $(VENV)/.installed pyproject.toml constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e ".[docs]"
	touch $@

$(MERMAID_TGZ):
	rm -rf $(@D)/tmp && mkdir -p $(@D)/tmp
	cd $(@D)/tmp && npm pack --silent mermaid@$(MERMAID) >/dev/null
	echo "$(MERMAID_SHA256)  $(@D)/tmp/mermaid-$(MERMAID).tgz" | sha256sum --check --quiet -
	mv $(@D)/tmp/mermaid-$(MERMAID).tgz $@ && rmdir $(@D)/tmp

build/mermaid/.$(MERMAID): $(MERMAID_TGZ)
	rm -rf build/mermaid && mkdir -p build/mermaid/mermaid
	tar xzf $< -C build/mermaid/mermaid --strip-components=2 --exclude='*.map' package/dist/mermaid.esm.min.mjs package/dist/chunks/mermaid.esm.min
	touch $@

docs: $(VENV)/.docs-installed build/mermaid/.$(MERMAID)
	rm -rf _proc _docs
	$(BIN)/python docs/site/stage.py _proc
	$(BIN)/sphinx-build -W --keep-going -q -j $(DOCS_JOBS) -b html -c docs/site _proc _docs
	@echo "the site is in _docs/ (make docs-serve: http://127.0.0.1:$(DOCS_PORT)/)"

# serves _docs/ at http://127.0.0.1:$(DOCS_PORT)/
docs-serve:
	$(BIN)/python -m http.server --directory _docs --bind 127.0.0.1 $(DOCS_PORT)

# the site in headless Chromium (tests/test_docs_browser.py; the browser extra and Debian's /usr/bin/chromium)
docs-test: docs
	STS_STUDY_BROWSER=1 $(BIN)/pytest -q -s -p no:xdist tests/test_docs_browser.py
