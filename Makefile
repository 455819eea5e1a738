# bpcount developer commands. `make install` creates .venv with a CPU build of torch
# (override with `make install TORCH="torch==2.13.0"` or any other spec).
PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin

.PHONY: install test lint bench bench-accuracy bench-accuracy-condition train-data train-default clean

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
	rm -f benchmarks/results/accuracy_per_formula.csv
	$(BIN)/python benchmarks/accuracy.py --out benchmarks/results/accuracy.md --limit 30 \
	    --methods bp-clauses,bp,bpnn,bpnn+noprobe,bpnn+nosearch,bpnn+noexact \
	    --per-formula benchmarks/results/accuracy_per_formula.csv

# Conditioning on 8 loop-cutset variables (--condition 8): about an hour on 2 cores.
bench-accuracy-condition: install
	$(BIN)/python benchmarks/accuracy.py --out benchmarks/results/accuracy_condition.md --limit 30 \
	    --methods bp,bpnn,bp+cond8,bpnn+cond8

# Training data for the shipped model (pretrained/README.md): generated families, labelled exactly
# with pyganak, written to $(GEN)/labels.csv (resumable: labelled files are skipped).
GEN     ?= runs/gen
GENERATE = $(BIN)/bpcount generate --out $(GEN) --label --timeout 30 -q
train-data: install
	$(GENERATE) kcnf -n 60 --seed 101 -p n=60 -p ratio=4.0 -p sat_only=1 >/dev/null
	$(GENERATE) kcnf -n 60 --seed 102 -p n=80 -p ratio=4.1 -p sat_only=1 >/dev/null
	$(GENERATE) kcnf -n 60 --seed 103 -p n=100 -p ratio=3.8 -p sat_only=1 >/dev/null
	$(GENERATE) dqmr -n 50 --seed 201 -p diseases=50 -p symptoms=50 -p observed=0.5 >/dev/null
	$(GENERATE) dqmr -n 50 --seed 202 -p diseases=70 -p symptoms=70 -p observed=0.3 >/dev/null
	$(GENERATE) dqmr -n 50 --seed 203 -p diseases=90 -p symptoms=60 -p observed=0.7 >/dev/null
	$(GENERATE) grid -n 50 --seed 301 -p rows=10 -p cols=10 -p determinism=0.5 -p evidence=5 >/dev/null
	$(GENERATE) grid -n 50 --seed 302 -p rows=14 -p cols=14 -p determinism=0.8 -p evidence=8 >/dev/null
	$(GENERATE) grid -n 50 --seed 303 -p rows=18 -p cols=18 -p determinism=0.9 -p evidence=10 >/dev/null

# Retrain the shipped model (pretrained/README.md, *Reproduce*; ≈ 10 min on 2 CPU cores); the result
# is runs/default/best.pt. Needs ../shared/bench (BENCH) for the labelled benchmark formulas.
BENCH   ?= ../shared/bench
train-default: train-data
	OMP_NUM_THREADS=1 $(BIN)/bpcount train --labels $(BENCH)/labels.csv --extra-labels $(GEN)/labels.csv \
	    --out runs/default --layers 8 --warmup-iters 30 --equivalences --gate-base --gate-iters 500 --base-when-converged \
	    --exact-width 0 --enum-models 0 --search-budget 0 --loss mse-scaled --lr 3e-4 --epochs 40 --patience 0 --dtype float32 --max-minutes 30 -q

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache
