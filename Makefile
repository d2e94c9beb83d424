# Convoc — the two commands a newcomer needs: `make run` and `make test`.
# Works on a fresh machine with Python 3.11+, make and git (packages come from PyPI).

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The first Python >= 3.11 found on the PATH (override with `make PYTHON=/path/to/python`).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	>/dev/null 2>&1 && echo $$p && break; done)

.PHONY: install run migrate demo serve lint format test test-sqlite test-postgres bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 ou plus récent est requis."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: migrate, load demo data on first run, serve API on http://127.0.0.1:$${CONVOC_PORT:-8000}
run: install
	$(BIN)/python -m app migrate
	$(BIN)/python -m app demo --if-empty
	$(BIN)/python -m app serve

migrate: install
	$(BIN)/python -m app migrate

demo: install
	$(BIN)/python -m app demo

lint: install
	$(BIN)/ruff format --check app tests migrations bench
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/mypy app bench
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format app tests migrations bench
	$(BIN)/ruff check --fix app tests migrations bench

## make test: lint, then the whole suite on SQLite and PostgreSQL
test: lint
	$(BIN)/pytest -n auto --dist loadfile

test-sqlite: install
	CONVOC_TEST_BACKENDS=sqlite $(BIN)/pytest -n auto --dist loadfile

test-postgres: install
	CONVOC_TEST_BACKENDS=postgres $(BIN)/pytest -n auto --dist loadfile

## make bench: every benchmark on PostgreSQL (long: minutes), then a table against the targets
bench: install
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
