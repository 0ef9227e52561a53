# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PY := .venv/bin/python

.PHONY: run test setup lint typecheck translations messages bench soak mutate

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
	scripts/run

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck:
	.venv/bin/mypy .

# Two processes for everything but the worker tests (browser journeys included: each worker has
# its own test database and live server); the real-worker tests share Redis databases, so they
# run on their own afterwards.
TEST_JOBS ?= 2
test: setup lint typecheck
	$(PY) manage.py makemigrations --check --dry-run
	.venv/bin/pytest -n $(TEST_JOBS) -m "not integration" $(PYTEST_ARGS)
	.venv/bin/pytest -m integration $(PYTEST_ARGS)

# For developers with GNU gettext: refresh the French catalogue from the source.
messages:
	$(PY) manage.py makemessages --locale fr --ignore '.venv/*' --ignore 'tests/*' --no-obsolete

bench: setup
	$(PY) scripts/bench.py

# The portal as in production under a mixed load for 10 minutes, then its figures and checks in
# docs/soak.md (see there); fails on any 5xx, a lost or doubled message, or memory growth.
soak: setup
	$(PY) scripts/soak.py

# Mutation testing of the security core (rights, the gate, the removal token): slow, so not part
# of `make test`. Each mutant runs only the tests that reach its function; the results stay in
# mutants/ and the score per module is printed (below 95% killed fails). MUTATE_JOBS=1 on a
# busy machine. Which tests reach which function is found again on every run: mutmut keeps it in
# mutants/mutmut-stats.json and, reusing it, ran no test at all on a function added since.
MUTATE_JOBS ?= $(shell nproc)
mutate: setup
	rm -f mutants/mutmut-stats.json
	set -f; .venv/bin/mutmut run --max-children $(MUTATE_JOBS) $$($(PY) scripts/mutation_score.py --patterns)
	$(PY) scripts/mutation_score.py
