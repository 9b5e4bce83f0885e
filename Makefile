# Flowdesk – `make run` installs, loads the demo and starts the server and a background worker;
# `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-test browser ldap run serve migrate demo test test-fast lint format clean \
	bench bench-full

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python ldap
	$(BIN)/pip install --quiet -e '.[test]'

# The browser tests drive Debian's chromium (Playwright cannot download browsers here);
# the CJK font makes Chinese pages readable in screenshots.
browser:
	@command -v chromium >/dev/null && fc-list | grep -qi wqy || { \
	  apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

# The LDAP sign-in test starts Debian's OpenLDAP slapd; python-ldap builds against libldap/sasl.
ldap:
	@[ -x /usr/sbin/slapd ] && command -v ldapadd >/dev/null && [ -f /usr/include/ldap.h ] || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq slapd ldap-utils libldap2-dev libsasl2-dev >/dev/null; }

migrate: install
	$(BIN)/flowdesk migrate --no-input

demo: migrate
	$(BIN)/flowdesk demo

# The web server and one background worker (e-mail, timers, automation); Ctrl-C stops both.
run: demo
	$(BIN)/flowdesk collectstatic --no-input --verbosity 0
	$(BIN)/flowdesk serve --with-worker --host $(HOST) --port $(PORT)

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

# Benchmarks (docs/benchmarks.md): a quick run of a few minutes; the parts that need PostgreSQL
# (BENCH_PG, default postgres://postgres@127.0.0.1:5432) or Redis (BENCH_REDIS, processes) say
# so and skip when it is absent.
BENCH_SCRIPTS := engine_vs_spiff service_layer http_load million processes
bench: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[bench]'
	for script in $(BENCH_SCRIPTS); do $(BIN)/python -m bench.$$script || exit 1; done

# The full run behind docs/benchmarks.md, up to a million tickets (about half an hour).
bench-full: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[bench]'
	for script in $(BENCH_SCRIPTS); do $(BIN)/python -m bench.$$script --full || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
