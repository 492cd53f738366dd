# sco-qa: `make run` serves the API and chat page; `make test` runs the whole suite.
VENV := .venv/bin
export HF_HUB_OFFLINE := 1

.PHONY: install install-browser run index test lint check eval bench clean

install:
	scripts/setup.sh

install-browser:
	scripts/setup.sh --browser

run: install
	$(VENV)/sco-qa serve

index: install
	$(VENV)/sco-qa index

test: install-browser
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/python -m pytest

lint: install
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy sco_qa

check: lint test

eval: install
	$(VENV)/sco-qa eval --report reports/

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
	$(VENV)/python benchmarks/scale.py

clean:
	rm -rf index/CURRENT index/build-* reports/ .pytest_cache
