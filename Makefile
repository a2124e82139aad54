# Atelier: `make start` serves UI + API on http://$(ATELIER_HOST):$(ATELIER_PORT); `make test` runs
# every suite. Both install whatever is missing first, so they work on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
REQS := backend/requirements.txt backend/requirements-dev.txt backend/constraints.txt
export PYTHONPATH := $(CURDIR)/backend
export ATELIER_HOST ?= 127.0.0.1
export ATELIER_PORT ?= 8080

.PHONY: help install start dev build test test-backend test-frontend test-e2e test-deploy bench models lock clean chromium exiftool postgresql

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

# --- installation (stamp files make these no-ops when nothing changed)
$(VENV)/.installed: $(REQS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r backend/requirements.txt -r backend/requirements-dev.txt -c backend/constraints.txt
	@touch $@

# npm 10's `ci`: npm 11 rejects a lockfile made behind a registry mirror that lacks other
# platforms' optional packages (e.g. @tailwindcss/oxide-darwin-arm64), which npm 10 tolerates.
NPM_CI ?= npx -y npm@10.8.2 ci --no-audit --no-fund
node_modules/.installed: package.json package-lock.json
	$(NPM_CI)
	@touch $@

install: $(VENV)/.installed node_modules/.installed ## install Python and Node dependencies

dist/index.html: node_modules/.installed $(shell find src -type f 2>/dev/null) index.html vite.config.ts tsconfig*.json
	npm run build

build: dist/index.html ## build the UI into dist/

start: install build ## serve UI + API on http://$ATELIER_HOST:$ATELIER_PORT
	$(PY) -m atelier

dev: install ## API with the tiny models + Vite dev server with hot reload
	ATELIER_MODELS=tiny $(PY) -m atelier & pid=$$!; trap 'kill $$pid' EXIT; npx vite --port 5173

# --- tests
chromium: ## install Debian's Chromium for the browser tests when missing
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

# The file tests run `exiftool -validate` on what we write (generated JPEG/WebP, XMP sidecars): with
# REQUIRE_EXIFTOOL set they fail where it is missing instead of skipping.
exiftool: ## install Debian's exiftool for the file-format tests when missing
	@command -v exiftool >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libimage-exiftool-perl >/dev/null; }

test: install ## every suite: pytest, vitest, typecheck, Playwright e2e, deployment checks
	@$(MAKE) --no-print-directory test-backend test-frontend test-deploy test-e2e

# The library tests run against SQLite and a real PostgreSQL that the test run starts (initdb +
# pg_ctl, a throwaway cluster): with REQUIRE_POSTGRES set they fail where it is missing.
postgresql: ## install Debian's PostgreSQL server binaries for the library tests when missing
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

test-backend: $(VENV)/.installed exiftool postgresql
	cd backend && REQUIRE_EXIFTOOL=1 REQUIRE_POSTGRES=1 ../$(PY) -m pytest -q

test-frontend: node_modules/.installed exiftool
	npx tsc -b
	REQUIRE_EXIFTOOL=1 npx vitest run

test-e2e: install chromium build
	npx playwright test

test-deploy: $(VENV)/.installed
	bash scripts/check_deploy.sh

# --- benchmarks and models
bench: install chromium build ## run the benchmarks and rewrite docs/BENCHMARKS.md
	$(PY) scripts/bench.py

models: $(VENV)/.installed ## download catalog models: make models MODELS="sdxl-realism moondream-2"
	$(PY) -m atelier.download $(MODELS)

lock: ## re-pin every transitive Python dependency into backend/constraints.txt
	$(PIP) freeze | grep -v '^-e' | sed -E 's/^(torch|torchvision)==([^+]*)\+.*/\1==\2/' > backend/constraints.txt.new
	mv backend/constraints.txt.new backend/constraints.txt

clean: ## remove build outputs (keeps models and data)
	rm -rf dist node_modules/.installed $(VENV)/.installed test-results playwright-report
