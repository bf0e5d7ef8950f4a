# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.stamp-run
STAMP_TEST := $(VENV)/.stamp-test

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/imurehab demo --out demo-out

test: $(STAMP_TEST)
	$(BIN)/ruff check imurehab tests benchmarks
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP_TEST)
	$(BIN)/ruff check imurehab tests benchmarks
	$(BIN)/ruff format --check imurehab tests benchmarks

bench: $(STAMP_TEST)
	$(BIN)/python benchmarks/store.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache .ruff_cache .hypothesis
