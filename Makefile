# Two commands: `make run` (demo server on SQLite) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Set BCP_TEST_DATABASE_URL=mysql://user:pass@127.0.0.1:3306/name to test on MariaDB/MySQL.
BCP_TEST_DATABASE_URL ?=
# Test processes side by side (pytest-xdist; each has its own test database): one per CPU.
# TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= auto
NEEDS_MYSQL := $(findstring mysql://,$(DATABASE_URL)$(BCP_TEST_DATABASE_URL))
# What the operating system must provide (WeasyPrint's libraries and a font; for `make test` also
# pdftotext and Chromium; for MySQL mysqlclient's build headers). Checked in milliseconds on every
# run; as root, apt-get installs what is missing, otherwise make stops with the command to run.
SYSTEM_NEEDS := run $(if $(filter test,$(MAKECMDGOALS)),test) \
	$(if $(NEEDS_MYSQL)$(filter bench scale-check,$(MAKECMDGOALS)),mysql)

.PHONY: run test install install-dev lint check clean benchmark system-packages bench scale-check

$(VENV)/bin/activate: | system-packages
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: $(VENV)/bin/activate requirements.txt | system-packages
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/.installed-mysql: $(VENV)/bin/activate requirements-mysql.txt | system-packages
	$(PIP) install --quiet -r requirements-mysql.txt
	touch $@

install: $(VENV)/.installed $(if $(NEEDS_MYSQL),$(VENV)/.installed-mysql)

install-dev: $(VENV)/.installed-dev $(if $(NEEDS_MYSQL),$(VENV)/.installed-mysql)

system-packages:
	@$(PYTHON) bcp_site/system_check.py $(SYSTEM_NEEDS)

# `make run PORT=8080` (HOST=0.0.0.0 to listen on every interface). Links in emails and the printed
# login address start with SITE_URL: yours when set, otherwise the address served.
PORT ?= 8000
HOST ?= 127.0.0.1
SITE_URL := $(or $(SITE_URL),http://$(HOST):$(PORT))
RUN_ENV = DEBUG=$${DEBUG:-true} SITE_URL="$(SITE_URL)"

run: install
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py seed_demo
	$(RUN_ENV) $(PY) -m bcp_site.devrun $(HOST):$(PORT)  # the web server and one task worker; Ctrl-C stops both

test: install-dev
	BCP_TEST_DATABASE_URL="$(BCP_TEST_DATABASE_URL)" $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run

benchmark: install-dev
	DEBUG=true $(PY) manage.py benchmark_exports $(BENCHMARK_ARGS)

clean:
	rm -rf $(VENV) var/test.sqlite3

# The page benchmark (README, "Performance of the pages"): its own MariaDB database, built once
# (BCP_BENCH_DATABASE_URL, default mysql://root@127.0.0.1:3306/bcp_bench), gunicorn and wrk.
# BENCH_ARGS="--quick" for a smoke run, "--rebuild" to build the data again, "--duration 20".
bench: $(VENV)/.installed $(VENV)/.installed-mysql
	DEBUG=true $(PY) manage.py bench_pages $(BENCH_ARGS)

# The scale-out check (README, "Scale-out check"): two gunicorn instances and two RQ workers
# against one MariaDB database, moto's S3 server and Redis; PASS/FAIL per check, exit 1 on any FAIL.
# BCP_SCALE_DATABASE_URL is a scratch database that is DROPPED and created again (user bcp may create
# test_% databases); Redis database 12 of 127.0.0.1:6379 is flushed. SCALE_ARGS="--members 1000" etc.
BCP_SCALE_DATABASE_URL ?= mysql://bcp:bcp@127.0.0.1:3306/test_bcp_scale
scale-check: $(VENV)/.installed-dev $(VENV)/.installed-mysql
	DEBUG=true $(PY) manage.py scale_check --database-url "$(BCP_SCALE_DATABASE_URL)" $(SCALE_ARGS)
