# Two commands for a fresh machine (Python 3.10+):
#   make demo   set up .venv, estimate and plot the lemonade dose-response curve (out/)
#   make test   set up .venv, run the test suite
# Also: make docs (the site, notebooks executed, warnings are errors), make notebooks (run them only).
# Both use the notebooks' fast mode unless DOWHY_E2B_FAST=0.
# torch 2.13.0 is installed first: it is a CPU wheel, and the package's own torch range accepts it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs
DOWHY_E2B_FAST ?= 1

.PHONY: setup demo test test-slow lint docs notebooks clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/python -m dowhy_e2b demo --out out

test: setup
	$(BIN)/python -m pytest

test-slow: setup
	$(BIN)/python -m pytest -m slow

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev,docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	DOWHY_E2B_FAST=$(DOWHY_E2B_FAST) $(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

notebooks: setup
	DOWHY_E2B_FAST=$(DOWHY_E2B_FAST) $(BIN)/python notebooks/run.py

clean:
	rm -rf $(VENV) out build *.egg-info .pytest_cache docs/_build docs/generated docs/notebooks docs/jupyter_execute
