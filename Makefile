# Everything a fresh machine needs: `make demo` and `make test` create .venv and install.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test tools lint bench bench-quick clean help

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/ -/'

$(STAMP): pyproject.toml setup.py src/varidex/gnomad/_scan.c src/varidex/gnomad/formats/_text.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

tools:  ## Debian bcftools and tabix, used by the tests that compare with bcftools
	@if ! command -v bcftools >/dev/null || ! command -v tabix >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bcftools tabix >/dev/null; } \
	      || echo "note: could not install bcftools/tabix: the bcftools comparison tests will be skipped"; \
	  else \
	    echo "note: bcftools/tabix missing and not root: the bcftools comparison tests will be skipped (apt-get install bcftools tabix)"; \
	  fi; \
	fi

demo: $(STAMP)  ## annotate bundled real variants against the bundled gnomAD excerpt
	$(BIN)/varidex demo

test: $(STAMP) tools  ## run the test suite, lint and type checks
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
