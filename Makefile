# wenzheng — `make help` lists every target.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
T ?= tests
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.DEFAULT_GOAL := help
.PHONY: help venv demo serve worker test test-pg test-browser lint format bench migrate clean

help: ## List every target
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=python3"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP) ## Create the virtual environment and install everything

demo: $(STAMP) ## Migrate an embedded SQLite database, seed the demo platform and serve it on :8000
	$(BIN)/wenzheng demo

serve: $(STAMP) ## Serve the app with the current settings
	$(BIN)/wenzheng serve

worker: $(STAMP) ## Run background jobs
	$(BIN)/wenzheng worker

migrate: $(STAMP) ## Upgrade the database schema to the latest migration
	$(BIN)/wenzheng db upgrade

test: $(STAMP) ## Run the whole suite on SQLite (one file: make test T=tests/test_audit.py)
	$(BIN)/pytest $(T)

test-pg: $(STAMP) ## Run the whole suite on PostgreSQL (PG_URL=... to point elsewhere)
	WENZHENG_TEST_DATABASE_URL=$(PG_URL) $(BIN)/pytest $(T)

test-browser: $(STAMP) ## Run only the browser tests (needs /usr/bin/chromium)
	$(BIN)/pytest -m browser tests/browser

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check wenzheng tests bench
	$(BIN)/ruff format --check wenzheng tests bench
	$(BIN)/mypy

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix wenzheng tests bench
	$(BIN)/ruff format wenzheng tests bench

bench: $(STAMP) ## Run the benchmarks and print their figures
	$(BIN)/python -m bench

eval: $(STAMP) ## Evaluate triage on ../shared/data (says so when absent)
	$(BIN)/wenzheng triage eval --data ../shared/data

clean: ## Remove the virtual environment, caches and the demo database
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
