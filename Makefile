# stocksync: `make run` starts the local stack, `make test` runs every check in a fresh venv.
PYTHON ?= python3
VENV := .venv
TEST_VENV := .venv-test
SAM_VENV := .venv-sam
STACK_NAME ?= stocksync

.PHONY: run test lint bench openapi validate deploy clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/python -m infrastructure.local_stack

test:
	rm -rf $(TEST_VENV)
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install --quiet --upgrade pip
	$(TEST_VENV)/bin/pip install --quiet -e ".[dev]"
	$(TEST_VENV)/bin/ruff check .
	$(TEST_VENV)/bin/lint-imports
	$(TEST_VENV)/bin/cfn-lint template.yaml
	$(TEST_VENV)/bin/pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/cfn-lint template.yaml

bench: $(VENV)/.installed
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

deploy: $(SAM_VENV)/.installed
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam deploy --guided --stack-name $(STACK_NAME) --capabilities CAPABILITY_IAM

clean:
	rm -rf $(VENV) $(TEST_VENV) $(SAM_VENV) .aws-sam .pytest_cache .ruff_cache
