# stocksync: `make run` starts the local stack, `make test` runs every check in a fresh venv,
# `make check` the same tests in the kept venv.
PYTHON ?= python3
VENV := .venv
TEST_VENV := .venv-test
SAM_VENV := .venv-sam
STACK_NAME ?= stocksync

.PHONY: run demo-sale test test-checks sam-checks check lint bench openapi validate build deploy clean console chromium

# Two workers: every e2e module on one of them, one after the other, on the one local stack they share;
# every other test file to whichever worker is free (tests/conftest.py's `pytest_xdist_make_scheduler`).
PYTEST_PARALLEL := -n 2
# Where the suite's time goes, at the end of every run (the suite is kept under ten minutes).
PYTEST_REPORT := --durations=20

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

run: $(VENV)/.installed console
	$(VENV)/bin/python -m infrastructure.local_stack

# The web console: npm ci from the lock file, then tsc and vite into console/dist (served by the local stack).
# Rebuilt when the lock file or a source changes.
CONSOLE_SOURCES := $(shell find console/src -type f 2>/dev/null) console/index.html console/vite.config.ts \
	console/tsconfig.json console/package.json

console: console/dist/index.html

console/node_modules/.installed: console/package-lock.json
	cd console && npm ci --no-audit --no-fund
	touch $@

console/dist/index.html: console/node_modules/.installed $(CONSOLE_SOURCES)
	cd console && npm run build

# The browser tests drive Debian's chromium (Playwright's own browser download is not reachable).
chromium:
	@command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }

# Against a running `make run` (another shell): a buyer's sale on Amazon, every channel before and after.
demo-sale: $(VENV)/.installed
	$(VENV)/bin/python -m infrastructure.demo_sale

# What does not depend on each other goes at once: first the installs (the browser, the console, the
# test venv, sam's venv), then the checks beside sam's validate and build, then the tests.
test:
	rm -rf $(TEST_VENV)
	$(MAKE) --jobs=4 --output-sync=target chromium console $(TEST_VENV)/.installed $(SAM_VENV)/.installed
	$(MAKE) --jobs=2 --output-sync=target test-checks sam-checks
	$(TEST_VENV)/bin/pytest $(PYTEST_PARALLEL) $(PYTEST_REPORT)

# A fresh venv for `make test` (which removes it first).
$(TEST_VENV)/.installed:
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install --quiet --upgrade pip
	$(TEST_VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

test-checks: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/ruff check .
	$(TEST_VENV)/bin/lint-imports
	$(TEST_VENV)/bin/mypy
	$(TEST_VENV)/bin/cfn-lint template.yaml

sam-checks:
	$(MAKE) validate
	$(MAKE) build

# The developer's loop: the same checks and tests in the venv `make run` keeps (no reinstall, no sam).
check: $(VENV)/.installed console chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest $(PYTEST_PARALLEL) $(PYTEST_REPORT)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml

bench: $(VENV)/.installed console chromium
	$(VENV)/bin/python -m bench

openapi: $(VENV)/.installed
	$(VENV)/bin/python -m stocksync.api.openapi > docs/openapi.json

# aws-sam-cli pins its own boto3, so it lives in a venv of its own.
$(SAM_VENV)/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli
	touch $@

validate: $(SAM_VENV)/.installed
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --region $${AWS_DEFAULT_REGION:-eu-west-1}

# sam build installs the layer for the Lambda runtime (python3.12, arm64) and needs that Python: the
# first python3.12 that runs (on PATH, then pyenv's), found when a target asks for it. A pyenv shim
# that fails without PYENV_VERSION is skipped; the directory of the real interpreter goes first on PATH.
PYTHON312_DIR = $(shell for p in "$$(command -v python3.12)" $(HOME)/.pyenv/versions/3.12*/bin/python3.12 \
	/root/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	[ -x "$$p" ] && "$$p" -c 'import sys, os; print(os.path.dirname(sys.executable))' 2>/dev/null && break; \
	done)

build: $(SAM_VENV)/.installed
	@test -n "$(PYTHON312_DIR)" || { echo "sam build needs python3.12 (the Lambda runtime's Python) and found none:"; \
	  echo "  none on PATH that runs, none in ~/.pyenv/versions/3.12*. Install one (pyenv install 3.12,"; \
	  echo "  apt-get install python3.12, or uv python install 3.12) and put it on PATH."; exit 1; }
	PATH="$(PYTHON312_DIR):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build

# Non-guided: samconfig.toml holds the parameters, capabilities and tags. Then the built console
# (console/dist) goes to the stack's bucket with the config.json naming its API and user pool.
deploy: build $(VENV)/.installed
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --stack-name $(STACK_NAME)
	$(VENV)/bin/python -m infrastructure.publish_console --stack-name $(STACK_NAME)

clean:
	rm -rf $(VENV) $(TEST_VENV) $(SAM_VENV) .aws-sam .pytest_cache .ruff_cache console/dist console/node_modules
