# The two commands: `make run` (demo on http://127.0.0.1:5000) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HTMX := portal/static/vendor/htmx.min.js
# npm ci's own record of what it installed: htmx for the pages, axe-core for the browser tests' audit.
NPM := node_modules/.package-lock.json
FLASK := $(BIN)/flask --app portal
# The demo's conveniences (/dev/mail, the CRM sandboxes) exist only when asked for by name.
export PORTAL_ENV ?= development

.PHONY: run test setup assets chromium db worker bench wrk clean

# `make run HOST=0.0.0.0 PORT=8080 PUBLIC_BASE_URL=http://demo.example:8080`: the demo's CRM
# connection points at the sandbox under PUBLIC_BASE_URL (updated on every run).
HOST = 127.0.0.1
PORT = 5000
PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
export PUBLIC_BASE_URL

run: setup db
	@$(FLASK) portal seed-demo
	@echo "\nReferral Portal: $(PUBLIC_BASE_URL)  (development mail: $(PUBLIC_BASE_URL)/dev/mail)\n"
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT) --with-threads

# Two pytest workers by default (CI's machine has two cores); each has its own database, Redis
# index, sandboxes and browser. `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= 2
test: setup chromium
	$(BIN)/pytest -n $(TEST_WORKERS)

setup: $(INSTALLED) $(NPM) $(HTMX)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# htmx and axe-core come from the npm registry, pinned in package.json / package-lock.json, never hand-copied.
$(NPM): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(HTMX): $(NPM)
	mkdir -p $(dir $@)
	cp node_modules/htmx.org/dist/htmx.min.js $@

assets: $(NPM) $(HTMX)

db: setup
	@$(FLASK) portal init

# Install a Debian package when its command is missing: as root with apt-get, else say how.
# $(1): the command, $(2): the package, $(3): what needs it.
define debian_package
	@if ! command -v $(1) >/dev/null; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian's $(2) package for $(3)..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	  else \
	    echo "$(1) is needed for $(3): run 'sudo apt-get install $(2)' (Debian package '$(2)')."; \
	    exit 1; \
	  fi; \
	fi
endef

# Browser tests drive Debian's Chromium; Playwright cannot download browsers here.
chromium:
	$(call debian_package,chromium,chromium,the browser tests)

worker: setup
	$(BIN)/python worker.py

bench: setup wrk
	$(BIN)/python bench/portal_load.py --quick

# The load bench measures the /healthz ceiling with Debian's wrk when its Python generator would be the limit.
wrk:
	$(call debian_package,wrk,wrk,the load bench's ceiling)

clean:
	rm -rf $(VENV) node_modules $(HTMX) instance .pytest_cache
