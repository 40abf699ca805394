# rmmbridge: `make demo` runs the demo, `make test` runs lint, types and every test.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
export RMMBRIDGE_HOME ?= $(CURDIR)/.rmmbridge
CI ?=
PG_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: demo test install lint types pytest pytest-postgres pytest-ci browser-deps clean help

help:
	@echo "make demo   - install into .venv and run the demo (emulated RMMs, SQLite under .rmmbridge/)"
	@echo "make test   - install with dev extras, then ruff, mypy and the whole test suite"

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (python3.11, python3.12 or python3 on PATH)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $@

install: $(BIN)/.installed

demo: install
	@echo "The demo's home is $(RMMBRIDGE_HOME); in another shell: export RMMBRIDGE_HOME=$(RMMBRIDGE_HOME)"
	$(BIN)/rmmbridge demo $(DEMO_ARGS)

lint: install
	$(BIN)/ruff check src tests bench

types: install
	$(BIN)/mypy

browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium missing and not root: browser tests will be skipped (mandatory under CI=true)."; fi; \
	fi

pytest: install
	$(BIN)/pytest -q $(PYTEST_ARGS)

# The PostgreSQL re-run runs the tests that touch Django's database (RMMBRIDGE_DB_TESTS_ONLY, see tests/conftest.py):
# pure tests (connectors against emulators, planner, parsers) do not depend on the database and ran already.
PG_RUN = DATABASE_URL=$(PG_URL) RMMBRIDGE_DB_TESTS_ONLY=1 $(BIN)/pytest -q -m "not browser"

pytest-postgres: install
	$(PG_RUN) $(PYTEST_ARGS)

# Under CI=true the SQLite run and the PostgreSQL re-run go side by side (one process each: the machine's cores
# are used and neither shares a database with the other); the re-run's output follows the first run's, and either
# failing fails the target.
pytest-ci: install
	@log=$$(mktemp); \
	$(PG_RUN) -p no:cacheprovider $(PYTEST_ARGS) >$$log 2>&1 & pg=$$!; \
	$(BIN)/pytest -q $(PYTEST_ARGS); sqlite=$$?; \
	wait $$pg; postgres=$$?; \
	echo "--- PostgreSQL re-run ($(PG_URL)), exit $$postgres ---"; cat $$log; rm -f $$log; \
	test $$sqlite -eq 0 && test $$postgres -eq 0

test: install browser-deps lint types
	@if [ "$(CI)" = "true" ]; then $(MAKE) --no-print-directory pytest-ci; \
	else $(MAKE) --no-print-directory pytest && \
	echo "Not under CI=true: the PostgreSQL re-run is skipped (run 'make pytest-postgres' to do it)."; fi

clean:
	rm -rf $(VENV) .rmmbridge .pytest_cache .mypy_cache .ruff_cache
