# Two commands do everything on a fresh machine with python3 >= 3.11: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
FUZZ_EXAMPLES ?= 20
FUZZ_SEED ?=
PYTEST_ARGS ?=
# Line coverage of the apps, failing below fail_under (pyproject.toml); `make test COVERAGE=`
# skips it, e.g. when PYTEST_ARGS selects a few tests.
COVERAGE ?= --cov --cov-report=term-missing:skip-covered

.PHONY: install run test lint format bench fuzz soak screens clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The worker (webhook deliveries, scheduled activations) runs beside the server and stops with it.
run: install
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py seed_demo --base-url http://$(HOST):$(PORT)
	DEBUG=true $(PY) manage.py run_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	DEBUG=true $(PY) manage.py runserver $(HOST):$(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	$(VENV)/bin/pytest $(COVERAGE) $(PYTEST_ARGS)

screens: install
	SCREENS_DIR=docs/screens $(VENV)/bin/pytest -m browser $(PYTEST_ARGS)

bench: install
	$(PY) -m bench

# The API fuzz (schemathesis on a live server), then the content fuzz (generated packs through
# intake, validation, import, activation and the runtime) with 20 times as many examples, on the
# database DATABASE_URL names (SQLite when unset); `make test` runs a small derandomized share.
fuzz: install
	$(PY) -m bench.fuzz --examples $(FUZZ_EXAMPLES) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))
	seed=$(if $(FUZZ_SEED),$(FUZZ_SEED),$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')); \
	echo "content fuzz: $$(( $(FUZZ_EXAMPLES) * 20 )) examples, seed $$seed"; \
	CONTENT_FUZZ_EXAMPLES=$$(( $(FUZZ_EXAMPLES) * 20 )) CONTENT_FUZZ_SEED=$$seed \
		$(VENV)/bin/pytest -q -p no:cacheprovider tests/packs/test_content_fuzz.py

soak: install
	$(PY) -m bench.soak

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache .coverage
