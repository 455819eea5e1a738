"""Exact counting of low-treewidth components by variable (bucket) elimination.

The (weighted) model count is a sum over all assignments of a product of factors: one 0/1 table per
clause (0 exactly at the assignment that falsifies it) and, for weighted formulas, one table of
literal weights per variable. Summing the variables out one at a time in an *elimination order*
only ever builds tables over a variable and its current neighbours in the primal graph (variables
that share a clause), so the cost is about n · 2^(w+1) for an order of *width* w, however many
variables there are. BP is biased on exactly the formulas where this is cheap (short loops, few
variables per cut), so the simplifier counts such components exactly instead of handing them on.

* :func:`elimination_order`: greedy minimum-degree order on the primal graph; it gives up (returns
  None) as soon as the smallest degree left exceeds ``max_width`` or the estimated table work
  exceeds ``max_work``. Ties go to the lowest variable, so the order is deterministic.
* :func:`eliminate`: bucket elimination along an order, in log space. Each factor goes to the bucket
  of its first variable in the order; a bucket's factors are added (log tables broadcast onto the
  bucket's scope), its variable is summed out with ``logaddexp``, and the resulting table goes to
  the bucket of its first remaining variable. Log tables keep every entry however uneven the counts
  or weights (2^1000 against 1, weights of 1e-200): rescaled linear tables would underflow such
  entries to 0, lose them for good, and could even report a satisfiable formula as UNSAT.

Both loop over variables on the host: elimination is inherently sequential, and each step is one
vectorised table operation. The simplifier calls them only for components already known to be
small in width, so the loops are short compared with the BP they replace.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass

import numpy as np

#: Widest elimination order accepted by default (a bucket's table has up to 2^(w+1) float64 entries:
#: 64 MiB at 22).
DEFAULT_MAX_WIDTH = 22

#: Most table entries summed over one whole elimination (Σ over variables of 2^(scope)): about a second.
DEFAULT_MAX_WORK = 1 << 28

LN2 = math.log(2.0)


def _primal_edges(lits: np.ndarray, clause_ptr: np.ndarray) -> np.ndarray:
    """The primal graph's edges (variables sharing a clause): (M, 2) int64, 0-based, u < v, unique."""
    var = np.abs(np.asarray(lits, dtype=np.int64)) - 1
    sizes = np.diff(np.asarray(clause_ptr, dtype=np.int64))
    # primal edges: every pair of variables in one clause, as a deduplicated (u, v) array
    clause = np.repeat(np.arange(len(sizes)), sizes)
    first = np.repeat(clause_ptr[:-1], sizes)
    pairs = []
    for offset in range(1, int(sizes.max(initial=1))):  # pairs (i, i+offset) within each clause
        ok = np.flatnonzero((np.arange(len(var)) - first + offset) < sizes[clause])
        pairs.append(np.stack([var[ok], var[ok + offset]], axis=1))
    edges = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
    edges = edges[edges[:, 0] != edges[:, 1]]
    if not len(edges):
        return edges
    # deduplicate (min, max) pairs as one int64 key each (1-D unique: much faster than axis=0)
    n = int(var.max()) + 1
    key = np.unique(np.minimum(edges[:, 0], edges[:, 1]) * n + np.maximum(edges[:, 0], edges[:, 1]))
    return np.stack([key // n, key % n], axis=1)


def _adjacency(num_vars: int, edges: np.ndarray) -> list[set[int]]:
    """One neighbour set per 0-based variable."""
    adj: list[set[int]] = [set() for _ in range(num_vars)]
    for u, v in edges.tolist():
        adj[u].add(v)
        adj[v].add(u)
    return adj


class OrderTimeout(Exception):
    """The greedy order passed its deadline (:func:`stuck_variables`, :func:`greedy_order`)."""


#: Variables eliminated between two deadline checks of :func:`_min_degree`.
DEADLINE_CHECK_EVERY = 1024


@dataclass(frozen=True)
class _OrderRun:
    """What one run of :func:`_min_degree` did: ``order`` (k,) int64, the 0-based variables
    eliminated; ``stop``: None when it finished, else the bound it hit (``"width"``, ``"work"``);
    ``work``: Σ 2^(degree + 1) over ``order`` (the table entries elimination along it builds)."""

    order: np.ndarray
    stop: str | None
    work: int


def _min_degree(adj: list[set[int]], max_width: int, max_work: int, deadline: float | None = None
                ) -> _OrderRun:
    """Run the greedy min-degree order on ``adj`` (modified in place: eliminated variables get empty
    sets, the others keep their neighbours with fill-in); stops early at the width or work bound (the
    variables with non-empty sets are then the ones left). Raises :class:`OrderTimeout` past
    ``deadline`` (time.monotonic, checked every :data:`DEADLINE_CHECK_EVERY` variables)."""
    heap = [(len(a), v) for v, a in enumerate(adj)]
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    done = bytearray(len(adj))  # Python containers: this loop runs once per variable, in Python
    order: list[int] = []
    work = 0
    stop = None
    while heap:
        d, v = pop(heap)
        if done[v] or d != len(adj[v]):
            continue  # stale entry
        if d > max_width:
            stop = "width"
            break
        if work + (1 << (d + 1)) > max_work:
            stop = "work"
            break
        work += 1 << (d + 1)
        done[v] = 1
        order.append(v)
        if deadline is not None and len(order) % DEADLINE_CHECK_EVERY == 0 and time.monotonic() > deadline:
            raise OrderTimeout
        nb = adj[v]
        for u in nb:
            a = adj[u]
            a.discard(v)
            a.update(nb)
            a.discard(u)
            push(heap, (len(a), u))
        adj[v] = set()
    return _OrderRun(np.array(order, dtype=np.int64), stop, work)


def _left_over(adj: list[set[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The 0-based variables an interrupted order left (non-empty sets) and their degrees."""
    degree = np.fromiter((len(a) for a in adj), dtype=np.int64, count=len(adj))
    left = np.flatnonzero(degree > 0)
    return left, degree[left]


@dataclass(frozen=True)
class GreedyOrder:
    """Outcome of :func:`greedy_order`: ``order`` (num_vars,) int64 0-based elimination order, or
    None when a bound was exceeded; ``stuck`` (left, degree) as in :func:`stuck_variables` when the
    order stopped at the width bound, else None (it finished, hit the work bound, or was refused
    before running by the clause-width or edge-count test); ``work``: Σ 2^(degree + 1) over the
    variables the order eliminated (for a finished order, the table entries :func:`eliminate` builds
    along it)."""

    order: np.ndarray | None
    stuck: tuple[np.ndarray, np.ndarray] | None
    work: int = 0


def greedy_order(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, *,
                 max_width: int = DEFAULT_MAX_WIDTH, max_work: int = DEFAULT_MAX_WORK,
                 deadline: float | None = None) -> GreedyOrder:
    """:func:`elimination_order`, also returning where the order got stuck: the exact search
    branches there (bpcount.search) without running the same order a second time. Raises
    :class:`OrderTimeout` past ``deadline`` (time.monotonic; None: no deadline)."""
    sizes = np.diff(np.asarray(clause_ptr, dtype=np.int64))
    if len(sizes) and int(sizes.max()) > max_width + 1:
        return GreedyOrder(None, None)  # one clause alone is a table wider than allowed
    edges = _primal_edges(lits, clause_ptr)
    if len(edges) > max_width * num_vars:
        return GreedyOrder(None, None)  # a graph of treewidth w has at most w·n edges
    adj = _adjacency(num_vars, edges)
    run = _min_degree(adj, max_width, max_work, deadline)
    if run.stop is None:
        return GreedyOrder(run.order, None, run.work)
    return GreedyOrder(None, _left_over(adj) if run.stop == "width" else None, run.work)


def elimination_order(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, *,
                      max_width: int = DEFAULT_MAX_WIDTH, max_work: int = DEFAULT_MAX_WORK
                      ) -> np.ndarray | None:
    """Greedy min-degree elimination order of the primal graph, or None if it is too wide.

    Args:
        num_vars: variables 1..num_vars.
        lits: (E,) signed literals; ``clause_ptr``: (C+1,) CSR offsets of the clauses.
        max_width: largest number of neighbours a variable may have when it is eliminated.
        max_work: bound on Σ 2^(neighbours + 1) over the order (the table entries elimination builds).

    Returns:
        (num_vars,) int64, 0-based variables in elimination order; None when a bound is exceeded.
    """
    return greedy_order(num_vars, lits, clause_ptr, max_width=max_width, max_work=max_work).order


def stuck_variables(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, *, max_width: int,
                    deadline: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Where the greedy min-degree order first exceeds ``max_width``: the 0-based variables not yet
    eliminated and their degrees then (fill-in included); both empty when the order never does.
    Branching on one of them removes it from the graph that blocked elimination (bpcount.search).
    Raises :class:`OrderTimeout` past ``deadline`` (time.monotonic; None: no deadline)."""
    adj = _adjacency(num_vars, _primal_edges(lits, clause_ptr))
    if _min_degree(adj, max_width, 1 << 62, deadline).stop is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return _left_over(adj)


def clause_log_tables(cl: np.ndarray) -> np.ndarray:
    """(m, k) signed literals of m clauses, each row in the order of its table's axes → (m, 2, …, 2)
    log tables: 0 everywhere but −inf at the one assignment that falsifies the clause."""
    m, k = cl.shape
    # the falsifying assignment sets each literal false: bit 1 (x = true) for a negative literal
    flat = ((cl < 0).astype(np.int64) << np.arange(k - 1, -1, -1)).sum(axis=1)
    tables = np.zeros((m, 1 << k))
    tables[np.arange(m), flat] = -np.inf
    return tables.reshape((m,) + (2,) * k)


def eliminate(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, log_weights: np.ndarray | None,
              order: np.ndarray) -> float:
    """ln of the (weighted) model count, exactly (to float64 rounding), by bucket elimination.

    Args:
        num_vars, lits, clause_ptr: the formula (variables 1..num_vars, CSR clauses). Clauses must
            have no repeated variable (the simplifier's output never has).
        log_weights: (num_vars, 2) ln w(¬x), ln w(x), or None for the unweighted count.
        order: (num_vars,) 0-based variables, a permutation (e.g. from :func:`elimination_order`).

    Returns:
        ln Z in nats; −inf when there is no model.
    """
    lits = np.asarray(lits, dtype=np.int64)
    clause_ptr = np.asarray(clause_ptr, dtype=np.int64)
    pos = np.empty(num_vars, dtype=np.int64)
    pos[order] = np.arange(num_vars)
    pos_l = pos.tolist()  # the bucket loop below indexes it from Python, one variable at a time
    buckets: list[list[tuple[tuple[int, ...], np.ndarray]]] = [[] for _ in range(num_vars)]
    ln_total = 0.0

    sizes = np.diff(clause_ptr)
    for k in np.unique(sizes):  # all clauses of width k at once: a (m, 2, ..., 2) stack of log tables
        idx = np.flatnonzero(sizes == k)
        cl = lits[clause_ptr[idx][:, None] + np.arange(k)]  # (m, k)
        cl = np.take_along_axis(cl, np.argsort(pos[np.abs(cl) - 1], axis=1), axis=1)
        tables = clause_log_tables(cl)
        scopes = np.abs(cl) - 1
        for scope, table in zip(scopes.tolist(), tables):
            buckets[pos_l[scope[0]]].append((tuple(scope), table))
    if log_weights is not None:
        lw = np.asarray(log_weights, dtype=np.float64)
        for v in range(num_vars):
            buckets[pos_l[v]].append(((v,), lw[v]))

    for p in range(num_vars):
        factors = buckets[p]
        if not factors:
            ln_total += LN2  # a variable in no factor is free
            continue
        if len(factors) == 1:  # its scope is already in elimination order: no product to build
            scope, acc = factors[0]
        else:
            scope = sorted(set().union(*(s for s, _ in factors)), key=pos_l.__getitem__)
            axis = {u: i for i, u in enumerate(scope)}
            # scope[0] is this bucket's variable (every factor here has it first in the order), and
            # each factor's scope is a subsequence of ``scope``, so a reshape broadcasts it onto the
            # product
            acc = np.zeros((2,) * len(scope))
            for s, table in factors:
                shape = [1] * len(scope)
                for u in s:
                    shape[axis[u]] = 2
                acc += table.reshape(shape)
        summed = np.logaddexp(acc[0], acc[1])
        if len(scope) > 1:
            buckets[pos_l[scope[1]]].append((tuple(scope[1:]), summed))
        else:
            ln_total += float(summed)
    return ln_total


def elimination_log_count(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray,
                          log_weights: np.ndarray | None = None, *, max_width: int = DEFAULT_MAX_WIDTH,
                          max_work: int = DEFAULT_MAX_WORK) -> float | None:
    """ln Z by :func:`eliminate` along :func:`elimination_order`; None when the order is too wide."""
    order = elimination_order(num_vars, lits, clause_ptr, max_width=max_width, max_work=max_work)
    if order is None:
        return None
    return eliminate(num_vars, lits, clause_ptr, log_weights, order)
