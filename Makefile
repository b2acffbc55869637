# Playbook Builder — the two commands a user needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_EXTRAS := runtime,webapp,local
TEST_EXTRAS := runtime,webapp,local,telemetry,dev
FRONTEND_SOURCES := $(shell find frontend -path frontend/node_modules -prune -o -type f \( -name '*.vue' -o -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.json' \) -print 2>/dev/null)

.PHONY: run test bench install install-test frontend lint clean

## run: install everything, create the local database and demo user, start runtime + webapp.
## The Python install and the frontend's install + build run side by side (-j2).
run:
	@$(MAKE) --no-print-directory -j2 install frontend
	@PATH="$(abspath $(BIN)):$$PATH" exec $(BIN)/python scripts/local_setup.py --serve

## test: install what the tests need (Python, Node, Postgres, Chromium) and run every test.
test: install-test frontend
	bash scripts/system-deps.sh
	$(BIN)/ruff check agent_runtime webapp attachments tests bench scripts
	$(BIN)/mypy agent_runtime webapp attachments
	cd frontend && npm test
	bash scripts/with-postgres.sh $(BIN)/python -m pytest

## bench: the benchmarks; JSON results under bench/results/.
bench: install-test
	bash scripts/system-deps.sh
	bash scripts/bench-deps.sh
	bash scripts/with-postgres.sh $(BIN)/python -m bench

## lint: ruff and mypy (also part of `make test`).
lint: install-test
	$(BIN)/ruff check agent_runtime webapp attachments tests bench scripts
	$(BIN)/mypy agent_runtime webapp attachments

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# --no-compile: Python compiles what it imports on first use, instead of pip compiling every file.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check --no-compile -e '.[$(RUN_EXTRAS)]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -e '.[$(TEST_EXTRAS)]'
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --prefer-offline --no-audit --no-fund
	touch $@

webapp/static/builder/index.html: frontend/node_modules/.installed $(FRONTEND_SOURCES)
	cd frontend && npm run build

## frontend: build the Vue app into webapp/static/builder (served at /builder).
frontend: webapp/static/builder/index.html

clean:
	rm -rf $(VENV) frontend/node_modules webapp/static/builder var
