# dikom — quick start: `make run` (the platform at http://127.0.0.1:8000) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
DEV_SETTINGS := DJANGO_SETTINGS_MODULE=dikom.conf.dev
# Extra pytest options for the test targets, e.g. make test PYTEST_ARGS="-x -k login"
PYTEST_ARGS ?=

.PHONY: run install install-dev setup test test-postgres test-browser replica replica-stop replica-status lint format \
        typecheck migrations-check \
        openapi openapi-check api-fuzz messages lock clean

$(VENV)/.python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "dikom needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	@touch $@

$(VENV)/.installed-base: $(VENV)/.python-ok requirements/base.txt pyproject.toml
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/base.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-base requirements/dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/base.txt -r requirements/dev.txt
	@touch $@

install: $(VENV)/.installed-base
install-dev: $(VENV)/.installed-dev

## setup: migrate the embedded database, compile translations, collect static files, load the demo cooperation
setup: install
	$(DEV_SETTINGS) $(PY) manage.py compile_catalogs
	$(DEV_SETTINGS) $(PY) manage.py migrate --noinput
	$(DEV_SETTINGS) $(PY) manage.py collectstatic --noinput --verbosity 0
	$(DEV_SETTINGS) $(PY) manage.py load_demo

## run: the whole platform (web server and task worker) at http://$(HOST):$(PORT)
run: setup
	$(DEV_SETTINGS) $(PY) manage.py serve --host $(HOST) --port $(PORT)

## test: the full test suite on the embedded SQLite database (browser tests skip without chromium)
test: install-dev
	$(PY) manage.py compile_catalogs
	$(BIN)/pytest $(PYTEST_ARGS)

## test-postgres: the same suite against PostgreSQL (DATABASE_URL, default: local server, user postgres).
## Skips with a reason when the server is unreachable; fails instead when DIKOM_REQUIRE_SERVICES=1 (CI).
## --create-db: a test database left over from an aborted run is dropped and made anew.
test-postgres: install-dev
	@url="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dikom}"; \
	status=0; $(PY) scripts/check_service.py postgres "$$url" || status=$$?; \
	if [ $$status -eq 3 ]; then exit 0; elif [ $$status -ne 0 ]; then exit $$status; fi; \
	$(PY) manage.py compile_catalogs && \
	echo "pytest --create-db $(PYTEST_ARGS)  # on PostgreSQL" && \
	DATABASE_URL="$$url" $(BIN)/pytest --create-db $(PYTEST_ARGS)

## replica: a real streaming replica of the local PostgreSQL (port 5432) at 127.0.0.1:5433 (pg_basebackup -R),
## started as the postgres user; idempotent. make test-postgres runs the database router's tests against it.
## Needs root (or the postgres user); see scripts/pg_replica.sh and docs/scaling.md.
replica:
	scripts/pg_replica.sh start

replica-stop:
	scripts/pg_replica.sh stop

replica-status:
	scripts/pg_replica.sh status

## test-browser: only the browser tests (Playwright driving Debian's chromium, axe-core checks)
test-browser: install-dev
	$(PY) manage.py compile_catalogs
	$(BIN)/pytest -m browser $(PYTEST_ARGS)

## lint: ruff format --check and ruff check; both always run, so one CI run shows every finding
lint: install-dev
	@status=0; \
	echo "ruff format --check ."; $(BIN)/ruff format --check . || status=1; \
	echo "ruff check ."; $(BIN)/ruff check . || status=1; \
	exit $$status

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install-dev
	$(BIN)/mypy

migrations-check: install-dev
	DJANGO_SETTINGS_MODULE=dikom.conf.ci $(PY) manage.py makemigrations --check --dry-run

## openapi: regenerate the committed OpenAPI document
openapi: install-dev
	DJANGO_SETTINGS_MODULE=dikom.conf.ci $(PY) manage.py spectacular --file openapi.yaml --validate --fail-on-warn

## openapi-check: fail when openapi.yaml differs from what the code generates
openapi-check: install-dev
	DJANGO_SETTINGS_MODULE=dikom.conf.ci $(PY) manage.py spectacular --file $(VENV)/openapi.generated.yaml --validate --fail-on-warn
	@diff -u openapi.yaml $(VENV)/openapi.generated.yaml && echo "openapi.yaml is up to date"

## api-fuzz: schemathesis against a throwaway server with demo data (fixed seed, every operation, every check).
## API_FUZZ_EXAMPLES bounds the examples per operation; any finding fails.
API_FUZZ_EXAMPLES ?= 25
api-fuzz: install-dev
	$(PY) manage.py compile_catalogs
	$(PY) scripts/api_fuzz.py --max-examples $(API_FUZZ_EXAMPLES)

## messages: extract translatable strings into the catalogs (needs GNU gettext)
messages: install-dev
	cd src/dikom && ../../$(PY) ../../manage.py makemessages --locale de --locale en --no-obsolete --no-location --ignore "*/tests/*"
	$(PY) manage.py compile_catalogs

## lock: recompile the pinned dependency lists from requirements/*.in
lock: install-dev
	cd requirements && ../$(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o base.txt base.in
	cd requirements && ../$(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o dev.txt dev.in

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
