# The two commands: `make demo` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 8000
# the suite in parallel, one process per core, each file's tests in one process (so module
# fixtures are built once) and each process on its own database (tests/conftest.py)
PYTEST_XDIST ?= -n auto --dist loadfile

.PHONY: audit lock layers demo test test-sqlite test-postgres migrations-check system-deps serve seed lint bench clean-demo

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

instance/secret_key: | $(STAMP)
	$(BIN)/python -m matchmaker.secret

## make demo: venv, install, migrate a SQLite database, load seeds/, serve on 127.0.0.1:8000
demo: $(STAMP) instance/secret_key
	$(BIN)/matchmaker db upgrade
	MATCHMAKER_LOG_LEVEL=WARNING $(BIN)/matchmaker seed
	MATCHMAKER_SESSION_COOKIE_SECURE=false MATCHMAKER_REMEMBER_COOKIE_SECURE=false \
	  BIN=$(BIN) HOST=$(HOST) PORT=$(PORT) bash scripts/demo-serve.sh

## make test: the whole suite on SQLite, then on PostgreSQL
test: $(STAMP) system-deps layers audit migrations-check test-sqlite test-postgres

system-deps:
	@bash scripts/ensure-system-deps.sh

# known vulnerabilities in the pinned dependencies (requirements.lock): fails on one with a fix;
# pip-audit needs a vulnerability service, so without network it is skipped loudly
audit: $(STAMP)
	$(BIN)/python scripts/audit_deps.py

# requirements.lock: the venv's packages, pinned (after a change to pyproject.toml)
lock: $(STAMP)
	@{ sed -n '1,2p' requirements.lock; $(BIN)/pip freeze --exclude-editable | grep -v '^matchmaker'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

# the layering written in .importlinter: a new import circle fails here
layers: $(STAMP)
	$(BIN)/lint-imports

test-sqlite: $(STAMP)
	MATCHMAKER_TEST_DATABASE_URL= $(BIN)/pytest $(PYTEST_XDIST)

# tests/browser is left out here: its live servers run on SQLite files of their own whatever
# the suite's database, so this pass would repeat test-sqlite's browser tests unchanged
test-postgres: $(STAMP)
	@if $(BIN)/python scripts/db_reachable.py "$(PG_URL)"; then \
	  MATCHMAKER_TEST_DATABASE_URL="$(PG_URL)" $(BIN)/pytest $(PYTEST_XDIST) --ignore=tests/browser; \
	elif [ "$$CI" = "true" ]; then \
	  echo "!!! PostgreSQL at $(PG_URL) is unreachable: CI requires it" >&2; exit 1; \
	else \
	  echo "!!! PostgreSQL at $(PG_URL) is unreachable: the PostgreSQL run was SKIPPED" >&2; \
	fi

# models and migrations agree, and migrations go down and up again, on both databases
migrations-check: $(STAMP)
	@tmp=$$(mktemp -d); url="sqlite:///$$tmp/check.sqlite3"; \
	for u in "$$url" $$($(BIN)/python scripts/db_reachable.py "$(PG_URL)" && echo "$(PG_URL)"); do \
	  echo "migrations round trip on $${u%%@*}…"; \
	  [[ "$$u" == postgresql* ]] && $(BIN)/python scripts/db_reachable.py "$$u" --reset; \
	  MATCHMAKER_SECRET_KEY=check MATCHMAKER_DATABASE_URL="$$u" $(BIN)/matchmaker db upgrade || exit 1; \
	  MATCHMAKER_SECRET_KEY=check MATCHMAKER_DATABASE_URL="$$u" $(BIN)/matchmaker db check || exit 1; \
	  MATCHMAKER_SECRET_KEY=check MATCHMAKER_DATABASE_URL="$$u" $(BIN)/matchmaker db downgrade base || exit 1; \
	  MATCHMAKER_SECRET_KEY=check MATCHMAKER_DATABASE_URL="$$u" $(BIN)/matchmaker db upgrade || exit 1; \
	done; rm -rf $$tmp

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m benchmarks.bench_matcher --needs 10000
