# Haq. `make run` and `make test` do all the set-up themselves on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PB_OUT := services/common/pb
PROTOS := $(wildcard proto/haq/v1/*.proto)

.PHONY: run test lint proto proto-check bench clean install triage-model

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: the whole platform on the embedded defaults (local broker, SMTP sink, SQLite)
run: $(STAMP)
	$(BIN)/python -m services.console.devrun

## test: unit, integration (real broker + database) and end-to-end tests
test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check services tests
	$(BIN)/ruff format --check services tests

## proto: regenerate the checked-in Python code from proto/
proto: $(STAMP)
	rm -rf $(PB_OUT)/haq
	mkdir -p $(PB_OUT)
	$(BIN)/python -m grpc_tools.protoc -I proto --python_out=$(PB_OUT) --pyi_out=$(PB_OUT) \
		--grpc_python_out=$(PB_OUT) $(PROTOS)
	# Generated modules import their siblings as top-level `haq.v1`; make them package-relative.
	sed -i -E 's/^from haq\.v1 import/from . import/' $(PB_OUT)/haq/v1/*.py $(PB_OUT)/haq/v1/*.pyi
	touch $(PB_OUT)/haq/__init__.py $(PB_OUT)/haq/v1/__init__.py

## proto-check: fail when the checked-in generated code differs from `make proto`
proto-check: proto
	git diff --exit-code --stat -- $(PB_OUT) && test -z "$$(git status --porcelain -- $(PB_OUT))"

bench: $(STAMP)
	$(BIN)/python -m tests.bench

## triage-model: retrain the triage model from its corpus (fixed seeds, no network) and rewrite
## services/routing/triage/models/triage-1.json and triage-1.metrics.json
triage-model: $(STAMP)
	$(BIN)/python -m services.routing.triage.train

clean:
	rm -rf var .pytest_cache
