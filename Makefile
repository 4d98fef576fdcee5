# Two commands: `make test` and `make reproduce`. Each creates .venv when missing and installs the package, with its
# dev, lab and infer extras, at the pinned versions of constraints.txt. CPU installs get torch==2.13.0; GPU users install their own torch into
# .venv first (see README), and it is kept.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PROFILE ?= $(or $(STS_STUDY_PROFILE),$(shell sed -n 's/^profile *= *\([a-z]*\).*/\1/p' settings.ini))
TORCH ?= torch==2.13.0

.PHONY: test reproduce findings control install lab clean-venv faults
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
# the cards ran, and the printed hyperparameters: `as-printed`), over SEEDS; then the findings notebook over outputs/,
# which also writes the README's results section and its figures (docs/findings/). On the cpu profile every run is
# its card's whole schedule compressed into F_STEPS steps with F_EVALS dev evaluations (the last): 30 runs, each
# ~100 s of loading, evaluating (a pass over 1,500 dev pairs takes ~22 s on 2 cores) and writing, plus ~1.4 s a step, so that
# `make findings` stays within 90 minutes on 2 cores. `make reproduce` runs the cpu profile's own, larger budget.
SEEDS ?= 42 1 2
F_STEPS ?= 24
F_EVALS ?= 1
F_BUDGET := $(if $(filter cpu,$(PROFILE)),-p schedule.compress_to $(F_STEPS) -p schedule.max_evals $(F_EVALS))
F_NB := $(if $(filter cpu,$(PROFILE)),-p budget $(F_STEPS))
findings: install
	set -e; for s in $(SEEDS); do for r in "" as-printed; do \
	  for v in "" proportional; do v2=$$(echo "$$r+$$v" | sed 's/^+//; s/+$$//'); \
	    $(BIN)/sts-study reproduce korean-gte --profile $(PROFILE) $${v2:+--variant $$v2} --seed $$s $(F_BUDGET); done; \
	  for v in "" graded mnrl-pairs; do v2=$$(echo "$$r+$$v" | sed 's/^+//; s/+$$//'); \
	    $(BIN)/sts-study reproduce hebrew-mbert --profile $(PROFILE) $${v2:+--variant $$v2} --seed $$s $(F_BUDGET); done; \
	done; done
	$(BIN)/papermill nbs/15_findings_report.ipynb $$($(BIN)/python -c "from sts_study.settings import get_settings; print(get_settings().outputs)")/findings.ipynb -p profile $(PROFILE) -p readme README.md $(F_NB)

# the positive control (card M: all-MiniLM-L6-v2 on STS-B English, its real model and data): derive the 4-bit stand-in,
# card M's whole run (the cpu profile: the card's 2,157 steps) over CONTROL_SEEDS, then the calibration runs (real and
# stand-in, scores / 5 and raw 0-5 scores, each seed, CAL_STEPS steps each: a complete short schedule, not a prefix), then
# nbs/17_control_report.ipynb over outputs/, which rewrites the README's "Positive control" section and its figures (docs/control/).
CONTROL_SEEDS ?= 42 1 2
CAL_STEPS ?= 200
STAND_IN ?= data/stand-ins/all-MiniLM-L6-v2-q4
control: install
	test -d $(STAND_IN) || $(BIN)/sts-study model derive-q4 sentence-transformers/all-MiniLM-L6-v2 $(STAND_IN)
	set -e; for s in $(CONTROL_SEEDS); do $(BIN)/sts-study reproduce english-minilm --profile cpu --seed $$s; done
	set -e; for s in $(CONTROL_SEEDS); do for m in sentence-transformers/all-MiniLM-L6-v2 $(STAND_IN); do for v in published raw-scores; do \
	  $(BIN)/sts-study reproduce english-minilm --profile cpu --seed $$s $$([ $$v = raw-scores ] && echo --variant raw-scores) -p model.base $$m -p args.max_steps $(CAL_STEPS); \
	done; done; done
	$(BIN)/papermill nbs/17_control_report.ipynb $$($(BIN)/python -c "from sts_study.settings import get_settings; print(get_settings().outputs)")/control.ipynb -p readme README.md

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
