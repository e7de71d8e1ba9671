# Tocsin: `make run` starts the server with its demo on SQLite; `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit jstest browser install services clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/tocsin serve --demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

services:
	scripts/services.sh

# Debian's Chromium drives the end-to-end tests (Playwright must not download its own).
browser:
	@test -x /usr/bin/chromium || { echo "installing chromium (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@test -x /usr/bin/chromium || { echo "chromium is required for the e2e tests" >&2; exit 1; }

jstest:
	cd clients/js && node --test test/
	cd clients/react && npm ci --no-audit --no-fund --silent && node --test test/

test: $(STAMP) services browser lint typecheck jstest
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
