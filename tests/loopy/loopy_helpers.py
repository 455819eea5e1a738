"""Brute-force references and random instances for the neighbourhood-BP tests."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from bpcount.loopy.model import DiscreteModel


def part(n: int, clauses: list[list[int]], log_phi: np.ndarray | None = None) -> SimpleNamespace:
    """A GraphPart for :func:`bpcount.graph.build_batch`."""
    lits = np.array([lit for c in clauses for lit in c], dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum([len(c) for c in clauses])]).astype(np.int64)
    return SimpleNamespace(num_vars=n, lits=lits, clause_ptr=ptr, log_phi=log_phi, ln_offset=0.0)


def brute_model(model: DiscreteModel) -> tuple[float, np.ndarray, np.ndarray]:
    """Exact (ln Z, P(x_i = 1) (n,), E[ln ψ_a] (F,)) of a small model by enumerating 2^n states."""
    n = model.num_vars
    X = (np.arange(1 << n)[:, None] >> np.arange(n)[None, :]) & 1
    lw = model.log_phi[np.arange(n)[None, :], X].sum(1)
    per_factor = []
    for a in range(model.num_factors):
        sc = model.scope(a)
        idx = (X[:, sc] << np.arange(len(sc))).sum(1)
        t = model.table(a)[idx]
        per_factor.append(t)
        lw = lw + t
    m = lw.max()
    w = np.exp(lw - m)
    z = w.sum()
    p = w / z
    e = np.array([np.sum(np.where(p > 0, p * np.where(np.isfinite(t), t, 0.0), 0.0)) for t in per_factor])
    return float(m + np.log(z)), p @ X, e


def random_clause(rng: np.random.Generator, variables: list[int], k: int = 3) -> list[int]:
    vs = rng.choice(variables, size=min(k, len(variables)), replace=False)
    return [int(v) * (1 if rng.random() < 0.5 else -1) for v in vs]


def clump_tree(rng: np.random.Generator, clumps: int = 4) -> tuple[int, list[list[int]]]:
    """Clumps of 4 variables with 2–3 random 3-clauses each, glued in a tree by single shared variables,
    plus a pendant 2-clause. Every cycle of the factor graph stays inside one clump (≤ 3 clauses)."""
    clauses: list[list[int]] = []
    n = 0
    anchors: list[int] = []
    for c in range(clumps):
        if c == 0:
            vs = [n + 1, n + 2, n + 3, n + 4]
            n += 4
        else:
            glue = int(rng.choice(anchors))
            vs = [glue, n + 1, n + 2, n + 3]
            n += 3
        for _ in range(int(rng.integers(2, 4))):
            clauses.append(random_clause(rng, vs))
        anchors.extend(vs)
    clauses.append([int(rng.choice(anchors)), -(n + 1)])
    n += 1
    return n, clauses


def linear_formula(rng: np.random.Generator, n: int, m: int, k: int = 3) -> list[list[int]]:
    """Random k-CNF in which no two clauses share two variables (factor-graph girth ≥ 6)."""
    clauses, pairs = [], set()
    for _ in range(20 * m):
        if len(clauses) == m:
            break
        vs = sorted(rng.choice(n, k, replace=False).tolist())
        ps = {(a, b) for a in vs for b in vs if a < b}
        if ps & pairs:
            continue
        pairs |= ps
        clauses.append([(v + 1) * (1 if rng.random() < 0.5 else -1) for v in vs])
    return clauses


def block_tree_edges(rng: np.random.Generator, blocks: int, sizes=(3, 5)) -> tuple[int, list[tuple[int, int]], int]:
    """A tree of blocks, each a cycle of 3–5 nodes, possibly with one chord; returns
    (n, edges, largest circumference)."""
    edges: list[tuple[int, int]] = []
    n, circ = 1, 0
    for _ in range(blocks):
        k = int(rng.integers(sizes[0], sizes[1] + 1))
        glue = int(rng.integers(0, n))
        nodes = [glue] + list(range(n, n + k - 1))
        n += k - 1
        edges += [(nodes[t], nodes[(t + 1) % k]) for t in range(k)]
        circ = max(circ, k)  # a chord does not increase the circumference
        if k >= 4 and rng.random() < 0.5:
            edges.append((nodes[0], nodes[2]))
    return n, edges, circ
