# SkillMeat Site: `make run` serves the site with its task worker; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test contract install check-python migrate seed lint typecheck bench clean

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null || { \
	  echo "SkillMeat Site needs Python 3.12 or newer (Django 6.1); '$(PYTHON)' is $$($(PYTHON) --version 2>&1)."; \
	  echo "Install Python 3.13 (e.g. 'pyenv install 3.13' — .python-version selects it here —"; \
	  echo "or your system's python3.13 package), or run: make PYTHON=/path/to/python3.13 run"; \
	  exit 1; }

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py createcachetable

seed: migrate
	$(BIN)/python manage.py seed_demo

# The web server and the background worker run side by side; Ctrl-C stops both.
run: seed
	@echo "Serving on http://$(HOST):$(PORT)/ (API /api/v1/, docs /api/docs/, admin /admin/); Ctrl-C stops."
	@trap 'kill 0' INT TERM EXIT; \
	  $(BIN)/python manage.py db_worker & \
	  $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Only the OpenAPI contract run: schemathesis against a live site (part of `make test` too).
contract: install
	$(BIN)/python -m pytest -m contract $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/refresh_bench.py

clean:
	rm -rf $(VENV) var staticfiles
