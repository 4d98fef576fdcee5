# Two commands: `make test` and `make reproduce`. Each creates .venv when missing and installs the package, with its
# dev and lab extras, at the pinned versions of constraints.txt. CPU installs get torch==2.13.0; GPU users install their own torch into
# .venv first (see README), and it is kept.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PROFILE ?= $(or $(STS_STUDY_PROFILE),$(shell sed -n 's/^profile *= *\([a-z]*\).*/\1/p' settings.ini))
TORCH ?= torch==2.13.0

.PHONY: test reproduce findings install lab clean-venv
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,lab]"
	touch $@

# fast suite: notebooks (nbdev-test) and the CLI / end-to-end tests (pytest)
test: install
	@before=$$(git diff -- sts_study | sha1sum); $(BIN)/nbdev-export; \
	  if [ "$$before" != "$$(git diff -- sts_study | sha1sum)" ]; then echo "nbdev-export changed sts_study/: the modules did not match the notebooks"; git status --short sts_study; exit 1; fi
	$(BIN)/nbdev-test --n-workers 2
	$(BIN)/pytest -q

# reproduce both cards with the profile from settings.ini / STS_STUDY_PROFILE
reproduce: install
	$(BIN)/sts-study reproduce korean-gte --profile $(PROFILE)
	$(BIN)/sts-study reproduce hebrew-mbert --profile $(PROFILE)

# the findings' extra runs (fixed variants, 3 seeds of one recipe), then the findings notebook over outputs/
# (run `make reproduce` first: the findings compare against its runs)
findings: install
	$(BIN)/sts-study reproduce korean-gte --profile $(PROFILE) --variant as-printed
	$(BIN)/sts-study reproduce hebrew-mbert --profile $(PROFILE) --variant as-printed
	$(BIN)/sts-study reproduce korean-gte --profile $(PROFILE) --variant proportional
	$(BIN)/sts-study reproduce hebrew-mbert --profile $(PROFILE) --variant graded
	$(BIN)/sts-study reproduce hebrew-mbert --profile $(PROFILE) --variant mnrl
	$(BIN)/sts-study reproduce hebrew-mbert --profile $(PROFILE) --variant graded --seed 1
	$(BIN)/sts-study reproduce hebrew-mbert --profile $(PROFILE) --variant graded --seed 2
	$(BIN)/papermill nbs/findings.ipynb $$($(BIN)/python -c "from sts_study.settings import get_settings; print(get_settings().outputs)")/findings.ipynb -p profile $(PROFILE)

# JupyterLab on nbs/ with the study's settings; notebooks are cleaned by nbdev on save (jupyter_server_config.py)
lab: install
	$(BIN)/jupyter lab --config=jupyter_server_config.py --notebook-dir=nbs $(LAB_ARGS)

clean-venv:
	rm -rf $(VENV)
