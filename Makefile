# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.stamp-run
STAMP_TEST := $(VENV)/.stamp-test
# The legacy official BIDS validator from the npm registry (tests/export/test_bids.py); project-local.
BIDS_VALIDATOR := .tools/bids-validator/node_modules/.bin/bids-validator
# Headless Chromium renders the HTML report in tests/report/test_physio_chromium.py (Debian's package).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

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

$(BIDS_VALIDATOR):
	npm install --prefix .tools/bids-validator --no-audit --no-fund --ignore-scripts --loglevel=error bids-validator@1.15.0

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

demo: $(STAMP_RUN)
	$(BIN)/imurehab demo --out demo-out

test: $(STAMP_TEST) $(BIDS_VALIDATOR) $(CHROMIUM)
	$(BIN)/ruff check imurehab tests benchmarks notebooks
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile

lint: $(STAMP_TEST)
	$(BIN)/ruff check imurehab tests benchmarks notebooks
	$(BIN)/ruff format --check imurehab tests benchmarks notebooks

bench: $(STAMP_TEST)
	$(BIN)/python benchmarks/store.py
	$(BIN)/python benchmarks/batch.py

clean:
	rm -rf $(VENV) .tools demo-out test-artefacts .pytest_cache .ruff_cache .hypothesis
