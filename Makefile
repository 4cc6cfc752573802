# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint typecheck bench clean browser axe postgres wrk

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/meterwise serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy cannot follow the editable install's import hook: give it the `meterwise` namespace
# as a tree of links to the repository's folders.
typecheck: $(STAMP)
	@mkdir -p .typecheck/meterwise
	@for d in config storage receiver reconciler; do ln -sfn ../../$$d .typecheck/meterwise/$$d; done
	$(BIN)/mypy

# $(call os_package,TEST,PACKAGE,HINT): when TEST fails, install PACKAGE from the OS packages
# (as root, with apt-get), else print HINT.
define os_package
	@$(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $(2) from the OS packages"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	  else \
	    echo "$(3)"; \
	  fi; }
endef

# The browser test drives Debian's chromium (never a browser download of a test tool's own).
browser:
	$(call os_package,command -v chromium,chromium,make browser: install chromium (apt-get install chromium) for tests/test_browser.py)

# The accessibility check runs axe-core (the npm package) in the pages under test.
AXE := var/axe/node_modules/axe-core/axe.min.js
axe:
	@test -f $(AXE) || { \
	  if command -v npm >/dev/null 2>&1; then \
	    echo "installing axe-core with npm into var/axe"; \
	    mkdir -p var/axe && npm install --silent --no-audit --no-fund --prefix var/axe axe-core@4 >/dev/null; \
	  else \
	    echo "make axe: install Node.js and npm for the accessibility check"; \
	  fi; }

# The PostgreSQL tests start their own server from Debian's postgresql package (initdb and
# pg_ctl into a temporary folder, on a loopback port); no service is started here.
postgres:
	$(call os_package,ls /usr/lib/postgresql/*/bin/initdb,postgresql,make postgres: install postgresql (apt-get install postgresql) for the PostgreSQL tests)

test: $(STAMP) lint typecheck browser axe postgres
	$(BIN)/python -m pytest

# The ingest bench drives the servers with wrk (keep-alive, C) from Debian's packages; without
# it, bench/ingest.py falls back to a slower Python load generator that says so.
wrk:
	$(call os_package,command -v wrk,wrk,make wrk: install wrk (apt-get install wrk) for bench/ingest.py)

bench: $(STAMP) wrk
	$(BIN)/python bench/ingest.py --ceiling
	$(BIN)/python bench/ingest_profile.py
	$(BIN)/python bench/fold.py
	$(BIN)/python bench/forecast.py
	$(BIN)/python bench/reconcile.py
	$(BIN)/python bench/dashboard.py

clean:
	rm -rf $(VENV) .typecheck var/*.db var/*.db-* .pytest_cache .mypy_cache .ruff_cache
