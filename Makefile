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
	$(VENV)/python benchmarks/ask_latency.py

clean:
	rm -rf index/CURRENT index/build-* reports/ .pytest_cache
