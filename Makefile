# bpcount developer commands. `make install` creates .venv with a CPU build of torch
# (override with `make install TORCH="torch==2.13.0"` or any other spec).
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin

.PHONY: install test lint bench bench-accuracy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[dev]"

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests benchmarks

bench: install
	$(BIN)/python benchmarks/throughput.py --out benchmarks/results/throughput.md

bench-accuracy: install
	$(BIN)/python benchmarks/accuracy.py --out benchmarks/results/accuracy.md

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache
