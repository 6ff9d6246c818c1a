# SkillMeat Site: `make run` serves the site with its task worker; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test contract install install-site check-python migrate seed lint typecheck coverage ci bench bench-api clean graphql-schema claude-code

# GitHub's published GraphQL schema (SPEC 10), pinned; the test suite and the GitHub fake validate
# every query against it. npm installs it into an ignored folder.
GRAPHQL_SCHEMA_VERSION := 15.26.1
GRAPHQL_SCHEMA_DIR := var/graphql-schema
GRAPHQL_SCHEMA_STAMP := $(GRAPHQL_SCHEMA_DIR)/.installed-$(GRAPHQL_SCHEMA_VERSION)

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null || { \
	  echo "SkillMeat Site needs Python 3.12 or newer (Django 6.1); '$(PYTHON)' is $$($(PYTHON) --version 2>&1)."; \
	  echo "Install Python 3.13 (e.g. 'pyenv install 3.13' — .python-version selects it here —"; \
	  echo "or your system's python3.13 package), or run: make PYTHON=/path/to/python3.13 run"; \
	  exit 1; }

# Installs come from uv.lock, through a pinned uv kept in its own small venv (.tools).
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
SYNC := $(UV) sync --locked --python $(PYTHON)

$(UV): | check-python
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)

# The site's own dependencies only; --inexact leaves test tools alone when they are there.
install-site: $(UV)
	@$(SYNC) --quiet --inexact

# The site, the test suite and the linters.
install: $(UV)
	@$(SYNC) --quiet --group test --group lint

$(GRAPHQL_SCHEMA_STAMP):
	@command -v npm >/dev/null || { echo "npm is needed to fetch GitHub's GraphQL schema"; exit 1; }
	rm -rf $(GRAPHQL_SCHEMA_DIR) && mkdir -p $(GRAPHQL_SCHEMA_DIR)
	npm install --prefix $(GRAPHQL_SCHEMA_DIR) --no-save --no-audit --no-fund --ignore-scripts \
	  @octokit/graphql-schema@$(GRAPHQL_SCHEMA_VERSION)
	touch $@

graphql-schema: $(GRAPHQL_SCHEMA_STAMP)

# Claude Code's CLI (SPEC 15), pinned: the tests marked `claude_cli` run it with a scratch HOME
# (tests/claude_code.py). npm brings the platform's native binary as an optional dependency; the
# package's own install script (run here by hand, so npm's script policy does not matter) only
# copies it into place, with no download. Without npm the CLI tests skip, which fails a CI run.
CLAUDE_CODE_VERSION := 2.1.332
CLAUDE_CODE_DIR := var/claude-code
CLAUDE_CODE_STAMP := $(CLAUDE_CODE_DIR)/.installed-$(CLAUDE_CODE_VERSION)
CLAUDE_CODE_PACKAGE := $(CLAUDE_CODE_DIR)/node_modules/@anthropic-ai/claude-code

$(CLAUDE_CODE_STAMP):
	@if ! command -v npm >/dev/null || ! command -v node >/dev/null; then \
	  echo "npm and node are not installed: the Claude Code CLI tests (marker claude_cli) will skip;"; \
	  echo "install Node.js and npm, then run 'make claude-code'"; \
	else \
	  set -e; rm -rf $(CLAUDE_CODE_DIR) && mkdir -p $(CLAUDE_CODE_DIR); \
	  echo "npm install @anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION) into $(CLAUDE_CODE_DIR)"; \
	  npm install --prefix $(CLAUDE_CODE_DIR) --no-save --no-audit --no-fund --ignore-scripts \
	    --loglevel=error @anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION); \
	  node $(CLAUDE_CODE_PACKAGE)/install.cjs; \
	  $(CLAUDE_CODE_DIR)/node_modules/.bin/claude --version | grep -q '^$(CLAUDE_CODE_VERSION) ' \
	    || { echo "the installed claude is not $(CLAUDE_CODE_VERSION)"; exit 1; }; \
	  touch $@; \
	fi

claude-code: $(CLAUDE_CODE_STAMP)

migrate: install-site
	$(BIN)/python manage.py migrate --no-input

# The offline demo reads a local git repository (git+file sources), which a site refuses unless
# GIT_ALLOW_LOCAL is on; the demo site turns it on unless the environment says otherwise.
seed run: export GIT_ALLOW_LOCAL ?= true
# `make run` is a development site: DEBUG on, so with no DJANGO_SECRET_KEY it makes a random key
# once and keeps it in var/ (a site with DEBUG off refuses to start without one). The linters
# and mypy load the settings too.
migrate seed run lint typecheck: export DJANGO_DEBUG ?= true

seed: migrate
	$(BIN)/python manage.py seed_demo --url http://$(HOST):$(PORT)

# The web server and the background worker run side by side; Ctrl-C stops both.
run: seed
	@echo "Serving on http://$(HOST):$(PORT)/ (API /api/v1/, docs /api/docs/, admin /admin/); Ctrl-C stops."
	@trap 'kill 0' INT TERM EXIT; \
	  $(BIN)/python manage.py db_worker & \
	  $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Coverage data goes to one file per database; `make coverage` combines them.
COVERAGE_DB := $(if $(findstring postgres,$(DATABASE_URL)),postgresql,sqlite)

test: install graphql-schema claude-code
	@rm -f .coverage.$(COVERAGE_DB) .coverage.$(COVERAGE_DB).*
	COVERAGE_FILE=.coverage.$(COVERAGE_DB) $(BIN)/python -m pytest --cov --cov-report=term:skip-covered --cov-fail-under=0 $(PYTEST_ARGS)

# Only the OpenAPI contract run: schemathesis against a live site (part of `make test` too).
contract: install
	$(BIN)/python -m pytest -m contract $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

typecheck: install
	$(BIN)/mypy

# Branch coverage of the SQLite and PostgreSQL runs together; fails under the floor in pyproject.
coverage: install
	$(BIN)/coverage combine --keep --quiet
	$(BIN)/coverage report

bench: install graphql-schema
	@$(SYNC) --quiet --group test --group lint --group load
	$(BIN)/python bench/refresh_bench.py

# The refresh through the HTTP API: the real site under gunicorn, timed from a client
# (docs/performance.md, "Through the HTTP API"). BENCH_ARGS passes options, e.g. --profile.
bench-api: install graphql-schema
	@$(SYNC) --quiet --group test --group lint --group load
	$(BIN)/python bench/api_bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) var staticfiles .coverage .coverage.*
