# The two commands of README.md: `make run` (the whole suite with the Guandu demo data) and `make test`
# (lint, types and every test). Both set themselves up: a virtual environment with the pinned dependencies
# and a reachable RabbitMQ.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= $(shell command -v python3.11 || echo python3.11)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AMQP_URI ?= amqp://guest:guest@127.0.0.1:5672/
PYTEST := $(BIN)/pytest

.PHONY: help run test lint imports types unit contract integration e2e chaos fuzz bench broker redis venv lock clean

help:
	@echo "make run   - set up and run the whole suite with the Guandu demo data (SQLite, local RabbitMQ)"
	@echo "make test  - set up and run ruff, mypy and every test (unit, contract, integration, e2e, chaos, fuzz)"
	@echo "make bench - run the benchmarks in bench/ (prints figures beside a same-run baseline)"

$(STAMP): requirements.lock pyproject.toml
	@scripts/ensure-python "$(PYTHON)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check setuptools==80.9.0 wheel==0.48.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

broker:
	@scripts/ensure-rabbitmq

# The gateway's workers share their rate-limit counters in Redis (make run; CI starts it in .ci/run).
redis:
	@scripts/ensure-redis

run: venv broker redis
	@$(BIN)/python scripts/run_suite.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The service shape of services/README.md, checked: layers, a pure domain, no service importing another.
imports: venv
	$(BIN)/lint-imports --no-cache

types: venv
	$(BIN)/mypy services gateway

# Each layer runs on its own so its test count is printed; pytest's exit 5 (no tests) fails the target.
unit: venv
	$(PYTEST) tests/unit -q
contract: venv
	$(PYTEST) tests/contract -q
integration: venv broker redis
	$(PYTEST) tests/integration -q
e2e: venv broker redis
	$(PYTEST) tests/e2e -q
chaos: venv broker
	$(PYTEST) tests/chaos -q
# schemathesis over /openapi.json as three roles; the counts of each run are printed at the end.
fuzz: venv broker
	$(PYTEST) tests/fuzz -q

test: lint imports types unit contract integration e2e chaos fuzz
	@echo "make test: all layers passed"

bench: venv broker
	$(BIN)/python -m bench

lock:
	rm -rf /tmp/guandu-lock && $(PYTHON) -m venv /tmp/guandu-lock
	/tmp/guandu-lock/bin/pip install --quiet -r requirements.in
	{ head -n 2 requirements.lock; /tmp/guandu-lock/bin/pip freeze; } > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
