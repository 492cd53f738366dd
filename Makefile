# sco-qa: `make run` serves the API and chat page; `make test` runs the whole suite.
VENV := .venv/bin
export HF_HUB_OFFLINE := 1

.PHONY: install install-browser run index test test-fast lint check eval train docs bench clean

install:
	scripts/setup.sh

install-browser:
	scripts/setup.sh --browser

run: install
	$(VENV)/sco-qa serve

index: install
	$(VENV)/sco-qa index

# every tier: lint, types, then the fast, slow (real model, server) and browser tests
test: install-browser
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy
	$(VENV)/python -m pytest

# the fast tier only: pure functions and a fake embedder, a few seconds
test-fast: install
	$(VENV)/python -m pytest -q -m "not slow and not browser"

lint: install
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy

check: lint test-fast

eval: install
	$(VENV)/sco-qa eval --report reports/

# the learned parts, trained on benchmarks/data (fixed seed): the answer scorer (held-out
# figures in benchmarks/results/scorer.json and squad/), then the reader over it (about 70
# minutes on 2 cores, resumable: run again after a stop; figures in reader.json and reader/),
# then the golden set as a pure test (with each answer stage)
train: install
	$(VENV)/sco-qa train
	$(VENV)/sco-qa train-reader
	$(VENV)/sco-qa eval --report benchmarks/results/golden/eval.json
	SCO_QA_ANSWER_MODEL=reader $(VENV)/sco-qa eval --report benchmarks/results/golden-reader/eval.json
	$(VENV)/python benchmarks/tables.py

# the documents' figures, rewritten from benchmarks/results/
docs: install
	$(VENV)/python benchmarks/tables.py

bench: install
	$(VENV)/python -m pip install --quiet -e ".[dev,bench]"
	$(VENV)/python benchmarks/ask_latency.py
	$(VENV)/python benchmarks/cold_start.py
	$(VENV)/python benchmarks/backends.py
	$(VENV)/python benchmarks/compare_frameworks.py
	command -v wrk >/dev/null || apt-get install -y -qq wrk nginx
	$(VENV)/python benchmarks/http_load.py
	$(VENV)/python benchmarks/http_load.py --threads 1
	$(VENV)/python benchmarks/nginx_replicas.py --replicas 2
	$(VENV)/python benchmarks/nginx_replicas.py --replicas 2 --store milvus
	$(VENV)/python benchmarks/scale.py
	$(VENV)/python benchmarks/switch_load.py
	$(VENV)/python benchmarks/readers.py
	$(VENV)/python benchmarks/build_throughput.py
	$(VENV)/python benchmarks/incremental_build.py
	$(VENV)/python benchmarks/many_collections.py
	$(VENV)/python benchmarks/vector_store.py
	$(VENV)/python benchmarks/health_under_load.py
	$(VENV)/python benchmarks/scorer_candidates.py
	$(VENV)/python benchmarks/interfaces.py
	$(VENV)/python benchmarks/memory_soak.py
	$(VENV)/sco-qa eval --report benchmarks/results/golden/eval.json
	$(VENV)/python benchmarks/tables.py

clean:
	rm -rf index/CURRENT index/build-* reports/ .pytest_cache
