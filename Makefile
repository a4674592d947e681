# Everything a fresh machine needs: `make demo` and `make test` create .venv and install.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench bench-quick clean help

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/ -/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## annotate bundled real variants against the bundled gnomAD excerpt
	$(BIN)/varidex demo

test: $(STAMP)  ## run the test suite, lint and type checks
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff and mypy only
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy

bench: $(STAMP)  ## varidex against bcftools and vcfanno at 1k-1M queries (long; writes benchmarks/RESULTS.md)
	$(BIN)/python benchmarks/bench.py

bench-quick: $(STAMP)  ## the same at 1k and 10k queries only
	$(BIN)/python benchmarks/bench.py --quick

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
