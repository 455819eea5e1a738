"""Shared test helpers: a brute-force reference counter, random formula generators, devices."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from bpcount.cnf import Formula

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def brute_log_count(formula: Formula) -> float:
    """ln of the (weighted) model count by plain enumeration (reference; n ≤ ~14)."""
    n = formula.num_vars
    clauses = formula.clauses()
    lw = None if formula.weights is None else np.log(np.maximum(formula.weights, 1e-300))
    terms = []
    for x in itertools.product((0, 1), repeat=n):
        if all(any((lit > 0) == bool(x[abs(lit) - 1]) for lit in c) for c in clauses):
            if formula.weights is None:
                terms.append(0.0)
            elif all(formula.weights[i, x[i]] > 0 for i in range(n)):
                terms.append(sum(lw[i, x[i]] for i in range(n)))
    return float(np.logaddexp.reduce(terms)) if terms else -math.inf


def ganak_log_count(num_vars: int, clauses) -> float:
    """ln of the exact model count by pyganak over variables 1..num_vars (−inf if UNSAT); skips the
    calling test when pyganak is not installed."""
    pyganak = pytest.importorskip("pyganak")
    c = pyganak.Counter()
    c.new_vars(num_vars)
    for cl in clauses:
        c.add_clause([int(x) for x in cl])
    n = c.count()
    return math.log(n) if n else -math.inf


def random_formula(rng: np.random.Generator, n: int, m: int, kmax: int = 3, weighted: bool = False) -> Formula:
    """m random clauses of 1..kmax literals over n variables (duplicates/tautologies allowed)."""
    clauses = [
        [int(rng.integers(1, n + 1)) * int(rng.choice([-1, 1])) for _ in range(int(rng.integers(1, kmax + 1)))]
        for _ in range(m)
    ]
    w = rng.uniform(0.05, 1.0, size=(n, 2)) if weighted else None
    return Formula.from_clauses(clauses, n, weights=w)


def random_tree_formula(rng: np.random.Generator, n_clauses: int, kmax: int = 4) -> tuple[list[list[int]], int]:
    """A tree-structured CNF: each new clause shares exactly one variable with the formula so far."""
    clauses, nv = [], 1
    for _ in range(n_clauses):
        k = int(rng.integers(2, kmax + 1))
        old = int(rng.integers(1, nv + 1))
        new = list(range(nv + 1, nv + k))
        nv += k - 1
        clauses.append([v if rng.random() < 0.5 else -v for v in [old, *new]])
    return clauses, nv


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


# One intra-op thread: the suite's tensors are small, and oversubscribed OpenMP threads on a busy
# 2-core machine slow torch down by orders of magnitude.
torch.set_num_threads(1)
