# Flowdesk – `make run` installs, loads the demo and starts the server; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-test run serve migrate demo test test-fast lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

migrate: install
	$(BIN)/flowdesk migrate --no-input

demo: migrate
	$(BIN)/flowdesk demo

run: demo
	$(BIN)/flowdesk collectstatic --no-input --verbosity 0
	$(BIN)/flowdesk serve --host $(HOST) --port $(PORT)

# The whole suite: unit, service layer, property-based (slow) and, with DATABASE_URL pointing at
# PostgreSQL, the concurrency tests.
test: install-test
	$(BIN)/pytest

# Everything but the slow property-based tests, for the edit-test loop.
test-fast: install-test
	$(BIN)/pytest -m "not slow"

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
