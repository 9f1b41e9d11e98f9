# jupyterlab-hpc-envs: setup, build, lint and tests, from a fresh clone on Debian 12 (as root).
#
#   make setup     Debian packages, .venv, Python and npm dependencies, the labextension (idempotent)
#   make test      setup + lint + test-js + test-py + check-ext + test-ui
#   make bench     the benchmarks against the peers; results in bench/RESULTS.md
#   make demo      a demo HPC site (Lmod, Slurm) in .demo/ (DEMO_DIR=...) and JupyterLab inside it
#
# Every target uses the project's .venv (it comes first on PATH); nothing is installed elsewhere
# but Debian packages.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

VENV := $(CURDIR)/.venv
PYTHON ?= python3
JUPYTERLAB_VERSION := 4.6.4
NODE_MIN := 20.19.0
DEMO_DIR ?= $(CURDIR)/.demo
DEMO_PORT ?= 8888

# Chromium for the UI tests; Lmod, Slurm and munge for the demo site and the tests; the rest builds.
APT_PACKAGES := chromium lmod slurm-wlm munge python3-venv python3-dev build-essential git curl

export PATH := $(VENV)/bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
unexport VIRTUAL_ENV PYTHONPATH PYTHONHOME

INSTALLED := $(VENV)/.installed
# Stamps written after `npm ci` (npm itself never touches them).
NODE_MODULES := node_modules/.hpc-envs-ci
UI_NODE_MODULES := ui-tests/node_modules/.hpc-envs-ci
LABEXTENSION := jupyterlab_hpc_envs/labextension/package.json
BROWSER_CHECK := $(VENV)/share/jupyter/lab/browser_test/node_modules/playwright/index.js
FRONTEND_SOURCES := $(shell find src style schema -type f 2>/dev/null) package.json tsconfig.json

.PHONY: bench check-wheel help setup system-deps node-check build lint format test-js test-py test-ui check-ext \
	test demo demo-stop clean

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)
	@echo "  other targets: build lint format test-js test-py test-ui check-ext demo-stop clean"

## ---------------------------------------------------------------------------------------------
## setup

setup: system-deps node-check $(INSTALLED) $(UI_NODE_MODULES) $(BROWSER_CHECK) $(LABEXTENSION)

# Installs only what is missing; as root (CI and the developers' machines are root).
system-deps:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "Missing Debian packages:$$missing; run 'make setup' as root or install them." >&2; \
	    exit 1; \
	  fi; \
	  echo "==> apt-get install$$missing"; \
	  apt-get update -q; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# Node.js comes with the machine (Debian 12's own nodejs 18 is too old for the JupyterLab 4.6 builder).
node-check:
	@command -v node >/dev/null && command -v npm >/dev/null \
	  || { echo "Node.js >= $(NODE_MIN) and npm are required" >&2; exit 1; }
	@node -e 'const v = s => s.split(".").map(Number).reduce((t, n) => t * 1000 + n, 0); if (v(process.versions.node) < v("$(NODE_MIN)")) { console.error("Node.js " + process.versions.node + " is too old: $(NODE_MIN) or newer is required"); process.exit(1); }'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(UI_NODE_MODULES): ui-tests/package.json ui-tests/package-lock.json
	cd ui-tests && npm ci --no-audit --no-fund
	@touch $@

# JupyterLab and the build requirements go into the venv first; the labextension is built with
# npm here (not by the build hook: HATCH_JUPYTER_BUILDER_SKIP_NPM), so that the editable install
# needs no isolated build environment and no second download; `jupyter-builder develop` then links
# the served labextension to jupyterlab_hpc_envs/labextension: `make build` is enough after a change.
$(INSTALLED): pyproject.toml setup.py $(NODE_MODULES) | $(VENV)/bin/python
	pip install -q "jupyterlab==$(JUPYTERLAB_VERSION)" "hatchling>=1.21" \
	  "hatch-jupyter-builder>=0.9" "hatch-nodejs-version>=0.3.2" editables
	npm run build
	HATCH_JUPYTER_BUILDER_SKIP_NPM=1 pip install -q --no-build-isolation -e ".[test,dev]"
	jupyter-builder develop --overwrite .
	@touch $@

$(BROWSER_CHECK): scripts/browser-check/install $(wildcard scripts/browser-check/playwright/*) \
		$(UI_NODE_MODULES) | $(INSTALLED)
	scripts/browser-check/install "$$(python -c 'from jupyterlab.commands import get_app_dir; print(get_app_dir())')"

$(LABEXTENSION): $(FRONTEND_SOURCES) | $(INSTALLED)
	npm run build
	@touch $@

## ---------------------------------------------------------------------------------------------
## build, lint, tests

build: $(INSTALLED)
	npm run build

lint: $(INSTALLED)
	ruff check .
	ruff format --check .
	mypy
	npm run lint:check

# Fix what the linters can fix.
format: $(INSTALLED)
	ruff check --fix .
	ruff format .
	npm run lint

test-js: $(NODE_MODULES)
	npm test

# The demo site is built once in DEMO_DIR and reused (started if stopped; left as it was found).
test-py: $(INSTALLED)
	scripts/demo-site build "$(DEMO_DIR)"
	HPC_ENVS_DEMO_DIR="$(DEMO_DIR)" pytest

# Galata tests against a real JupyterLab running inside the demo HPC site (built and started here,
# left running, like `make demo`); they build real environments (about 1.5 minutes on 2 cores, plus
# about 1 minute to build the site and half a minute for its local conda channel when .demo/ is
# new). Screenshots land in docs/images/.
test-ui: $(INSTALLED) $(UI_NODE_MODULES) $(LABEXTENSION)
	scripts/demo-site build "$(abspath $(DEMO_DIR))"
	scripts/demo-site start "$(abspath $(DEMO_DIR))"
	cd ui-tests && HPC_ENVS_DEMO_DIR="$(abspath $(DEMO_DIR))" npx playwright test

# The labextension and the server extension are installed and valid, the provisioner is
# registered, and JupyterLab starts in Chromium without errors.
check-ext: $(INSTALLED) $(LABEXTENSION) $(BROWSER_CHECK)
	@out="$$(jupyter labextension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')"; echo "$$out"; \
	  grep -Eq 'jupyterlab-hpc-envs v[^ ]+ enabled +OK' <<<"$$out" \
	  || { echo "check-ext: jupyterlab-hpc-envs is not 'enabled OK' as a labextension" >&2; exit 1; }
	@out="$$(jupyter server extension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')"; echo "$$out"; \
	  grep -Eq 'jupyterlab_hpc_envs +enabled' <<<"$$out" && grep -Eq 'jupyterlab_hpc_envs [^ ]+ OK' <<<"$$out" \
	  || { echo "check-ext: jupyterlab_hpc_envs is not an enabled, OK server extension" >&2; exit 1; }
	@out="$$(jupyter kernelspec provisioners)"; echo "$$out"; \
	  grep -Eq '^ *hpc-envs-provisioner +jupyterlab_hpc_envs\.kernels\.provisioner:HpcEnvsProvisioner' <<<"$$out" \
	  || { echo "check-ext: hpc-envs-provisioner is not a registered kernel provisioner" >&2; exit 1; }
	jupyter hpc-envs --version
	python -m jupyterlab.browser_check --allow-root

# The built wheel, installed alone into a fresh venv, works without Node.js.
check-wheel: $(INSTALLED) $(UI_NODE_MODULES)
	scripts/check-wheel

test: setup lint test-js test-py check-ext check-wheel test-ui

## ---------------------------------------------------------------------------------------------
## benchmarks (not part of `make test`): ours against the peers, in the same run

bench: setup
	pip install -q envkernel==1.1.1 uv jupyter-slurm-provisioner==0.6.0 slurm-jupyter-kernel==1.9
	scripts/demo-site build "$(DEMO_DIR)"
	HPC_ENVS_DEMO_DIR="$(DEMO_DIR)" python bench/run.py

## ---------------------------------------------------------------------------------------------
## demo (its user is not asked about Jupyter's news feed: a prompt that has nothing to do with the demo)

demo: setup
	scripts/demo-site build "$(DEMO_DIR)"
	scripts/demo-site start "$(DEMO_DIR)"
	scripts/conda-channel "$(DEMO_DIR)/conda-channel"
	@echo "==> JupyterLab on the demo site: http://127.0.0.1:$(DEMO_PORT)/lab (the token is printed below)"
	set +u; . "$(DEMO_DIR)/env.sh"; mkdir -p "$$HOME"; \
	  news="$$HOME/.jupyter/lab/user-settings/@jupyterlab/apputils-extension"; mkdir -p "$$news"; \
	  [ -e "$$news/notification.jupyterlab-settings" ] || \
	    echo '{"fetchNews": "false"}' > "$$news/notification.jupyterlab-settings"; \
	  exec "$(VENV)/bin/jupyter" lab --allow-root --no-browser --ip=127.0.0.1 --port=$(DEMO_PORT) \
	  --ServerApp.port_retries=0 --ServerApp.root_dir="$$HOME" --config=scripts/demo_server_config.py

demo-stop:
	scripts/demo-site stop "$(DEMO_DIR)"

clean:
	-[ -x scripts/demo-site ] && [ -d "$(DEMO_DIR)" ] && scripts/demo-site stop "$(DEMO_DIR)"
	rm -rf lib tsconfig.tsbuildinfo coverage .eslintcache .stylelintcache \
	  jupyterlab_hpc_envs/labextension jupyterlab_hpc_envs/_version.py \
	  ui-tests/test-results ui-tests/playwright-report .pytest_cache .ruff_cache
	rm -rf node_modules ui-tests/node_modules $(VENV) "$(DEMO_DIR)"
