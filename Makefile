# Flowdesk – `make run` installs, loads the demo and starts the server; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-test browser run serve migrate demo test test-fast lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

# The browser tests drive Debian's chromium (Playwright cannot download browsers here);
# the CJK font makes Chinese pages readable in screenshots.
browser:
	@command -v chromium >/dev/null && fc-list | grep -qi wqy || { \
	  apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

migrate: install
	$(BIN)/flowdesk migrate --no-input

demo: migrate
	$(BIN)/flowdesk demo

run: demo
	$(BIN)/flowdesk collectstatic --no-input --verbosity 0
	$(BIN)/flowdesk serve --host $(HOST) --port $(PORT)

# The whole suite: unit, service layer, property-based (slow) and, with DATABASE_URL pointing at
# PostgreSQL, the concurrency tests.
test: install-test browser
	$(BIN)/pytest

# Everything but the slow property-based, browser and fuzz tests, for the edit-test loop.
test-fast: install-test
	$(BIN)/pytest -m "not slow and not browser and not fuzz"

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
