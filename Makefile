# Two commands: `make run` (demo server on SQLite) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Set BCP_TEST_DATABASE_URL=mysql://user:pass@127.0.0.1:3306/name to test on MariaDB/MySQL.
BCP_TEST_DATABASE_URL ?=
NEEDS_MYSQL := $(findstring mysql://,$(DATABASE_URL)$(BCP_TEST_DATABASE_URL))

.PHONY: run test install install-dev lint check clean benchmark

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: $(VENV)/bin/activate requirements.txt
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/.installed-mysql: $(VENV)/bin/activate requirements-mysql.txt
	$(PIP) install --quiet -r requirements-mysql.txt
	touch $@

install: $(VENV)/.installed $(if $(NEEDS_MYSQL),$(VENV)/.installed-mysql)

install-dev: $(VENV)/.installed-dev $(if $(NEEDS_MYSQL),$(VENV)/.installed-mysql)

run: install
	DEBUG=$${DEBUG:-true} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(PY) manage.py seed_demo
	DEBUG=$${DEBUG:-true} $(PY) manage.py runserver 127.0.0.1:8000

test: install-dev
	BCP_TEST_DATABASE_URL="$(BCP_TEST_DATABASE_URL)" $(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run

benchmark: install-dev
	DEBUG=true $(PY) manage.py benchmark_exports

clean:
	rm -rf $(VENV) var/test.sqlite3
