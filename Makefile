# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := .venv/bin/python

.PHONY: run test setup lint typecheck translations messages bench

# Debian's own Python refuses a plain user install (PEP 668); uv is a standalone binary, so
# allowing it there is harmless.
$(UV):
	python3 -m pip install --user --quiet uv || python3 -m pip install --user --quiet --break-system-packages uv

setup: $(UV)
	$(UV) sync --locked --quiet
	$(MAKE) --no-print-directory translations

translations:
	$(PY) -m babel.messages.frontend compile --domain django --directory locale --statistics 2>&1 | grep -v '^$$' || true

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	scripts/run

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck:
	.venv/bin/mypy .

test: setup lint typecheck
	$(PY) manage.py makemigrations --check --dry-run
	.venv/bin/pytest $(PYTEST_ARGS)

# For developers with GNU gettext: refresh the French catalogue from the source.
messages:
	$(PY) manage.py makemessages --locale fr --ignore '.venv/*' --ignore 'tests/*' --no-obsolete

bench: setup
	$(PY) scripts/bench.py
