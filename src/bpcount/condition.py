"""Conditioning on a loop cutset: Z = Σ over the 2^c assignments of c chosen variables of Z(branch).

BP's Bethe value is exact on a tree and biased by the loops that remain. Setting a variable to each
of its values and adding the branches' counts is exact; every branch loses the variable and all its
loops, and unit propagation and simplification on the branch often decide whole sub-circuits
exactly. So BP (or a BPNN) on the branches, summed, is a better estimate wherever the loops run
through few variables (circuits with few reconvergent fan-outs), at 2^c times the cost.

Which variables: a greedy *loop cutset* on the gate factor graph (:mod:`bpcount.gategraph`; variable
and factor nodes, one edge per literal): peel nodes of degree ≤ 1 (they lie on no loop) until none
is left, take the variable of largest remaining degree, remove it, peel again, c times. Ties go to
the lowest variable number. When the peeled graph empties, the chosen variables are a complete
cutset: what is left of the factor graph is a forest.

Summing branch estimates is only as good as the branches: one branch whose messages did not
converge can dominate the sum with a meaningless Bethe value. :func:`combine` therefore reports the
conditioned sum only when every branch the engine saw converged; otherwise the caller keeps the
unconditioned estimate (``bpcount.estimate`` does, and says so in the stats).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from bpcount.cnf import Formula
from bpcount.simplify import Residual, index_ranges

#: Most edges of all branches of one formula together (2^c × edges); c is lowered to fit.
CONDITION_MAX_EDGES = 1 << 24


@dataclass(frozen=True)
class Branches:
    """One formula's conditioning: ``variables`` (c,) 1-based residual variables and the 2^c
    ``formulas``, branch b setting variable j to bit j of b (most significant first)."""

    variables: tuple[int, ...]
    formulas: tuple[Formula, ...]


def _peel(deg: np.ndarray, alive: np.ndarray, node_ptr: np.ndarray, node_edges: np.ndarray,
          ends: np.ndarray, start: np.ndarray) -> None:
    """Remove (in place: ``alive`` edges, ``deg`` node degrees) every edge at a node of degree 1,
    repeatedly, starting from the nodes ``start``. ``ends`` (E, 2) are each edge's two nodes;
    ``node_edges[node_ptr[u]:node_ptr[u+1]]`` the edges at node u. Each round handles the whole
    current frontier at once; the total work is linear in the edges removed plus the rounds."""
    frontier = np.unique(start[deg[start] == 1])
    while len(frontier):
        sizes = node_ptr[frontier + 1] - node_ptr[frontier]
        pos = index_ranges(node_ptr[frontier], sizes)
        inc = np.unique(node_edges[pos])
        inc = inc[alive[inc]]
        if not len(inc):
            break
        alive[inc] = False
        touched = ends[inc].ravel()
        np.subtract.at(deg, touched, 1)
        frontier = np.unique(touched[deg[touched] == 1])


def loop_cutset(num_vars: int, var_of_edge: np.ndarray, factor_of_edge: np.ndarray, num_factors: int,
                max_vars: int) -> tuple[list[int], bool]:
    """Greedy loop cutset (module docstring) of a variable–factor graph.

    ``var_of_edge``, ``factor_of_edge``: (E,) int, 0-based. Returns up to ``max_vars`` 0-based
    variables in the order chosen, and whether they complete a cutset (no loop left).
    """
    var_of_edge = np.asarray(var_of_edge, dtype=np.int64)
    ends = np.stack([var_of_edge, num_vars + np.asarray(factor_of_edge, dtype=np.int64)], axis=1)
    n_nodes = num_vars + num_factors
    flat = ends.ravel()
    node_edges = np.argsort(flat, kind="stable") // 2
    node_ptr = np.concatenate([[0], np.cumsum(np.bincount(flat, minlength=n_nodes))])
    deg = np.bincount(flat, minlength=n_nodes)
    alive = np.ones(len(var_of_edge), dtype=bool)
    _peel(deg, alive, node_ptr, node_edges, ends, np.arange(n_nodes))
    chosen: list[int] = []
    while len(chosen) < max_vars and alive.any():
        v = int(np.argmax(deg[:num_vars]))
        chosen.append(v)
        mine = node_edges[node_ptr[v]:node_ptr[v + 1]]
        mine = mine[alive[mine]]
        alive[mine] = False
        touched = ends[mine].ravel()
        np.subtract.at(deg, touched, 1)
        _peel(deg, alive, node_ptr, node_edges, ends, touched)
    return chosen, not alive.any()


def conditioning_vars(residual: Residual, max_vars: int) -> list[int]:
    """Up to ``max_vars`` 1-based residual variables to condition on: the greedy loop cutset of the
    residual's gate factor graph, cut to fit :data:`CONDITION_MAX_EDGES` (empty when even one
    variable would not fit, or the graph has no loop)."""
    from bpcount.gategraph import build_gate_graph
    from bpcount.graph import build_batch

    edges = len(residual.lits)
    fit = int(math.floor(math.log2(CONDITION_MAX_EDGES / max(edges, 1))))
    budget = min(max_vars, max(fit, 0))
    if budget <= 0:
        return []
    g = build_gate_graph(build_batch([residual]))
    chosen, _ = loop_cutset(g.num_vars, g.var_of_edge.numpy(), g.factor_of_edge.numpy(), g.num_factors, budget)
    return [v + 1 for v in chosen]


def branches(residual: Residual, variables: list[int]) -> Branches:
    """The 2^c formulas of ``residual`` (without its ``ln_offset``) with ``variables`` fixed by unit
    clauses; their counts sum to the residual's count less ``ln_offset``."""
    base = residual.to_formula()
    units = np.asarray(variables, dtype=np.int64)
    out = []
    for bits in itertools.product((1, 0), repeat=len(variables)):
        signs = np.where(np.asarray(bits, dtype=bool), 1, -1)
        lits = np.concatenate([base.lits, signs * units])
        ptr = np.concatenate([base.clause_ptr, base.clause_ptr[-1] + 1 + np.arange(len(units))])
        out.append(Formula(num_vars=base.num_vars, lits=lits, clause_ptr=ptr, weights=base.weights,
                           declared_clauses=len(ptr) - 1, source=f"branch {''.join(map(str, bits))}"))
    return Branches(tuple(variables), tuple(out))


@dataclass(frozen=True)
class BranchOutcome:
    """One branch: ``ln_count`` (nats, incl. its exact part; −inf when UNSAT), ``converged`` (True for
    exactly decided branches)."""

    ln_count: float
    converged: bool


def combine(ln_offset: float, outcomes: list[BranchOutcome]) -> float | None:
    """ln Z = ln_offset + ln Σ_b Z_b, or None when some branch did not converge (module docstring).
    −inf when every branch is UNSAT."""
    if not all(o.converged for o in outcomes):
        return None
    vals = np.array([o.ln_count for o in outcomes], dtype=np.float64)
    top = vals.max() if len(vals) else -math.inf
    if not math.isfinite(top):
        return -math.inf
    return float(ln_offset + top + math.log(np.exp(vals - top).sum()))


__all__ = ["BranchOutcome", "Branches", "CONDITION_MAX_EDGES", "branches", "combine", "conditioning_vars",
           "loop_cutset"]
