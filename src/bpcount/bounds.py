"""A guaranteed upper bound on ln Z by weighted mini-bucket elimination.

Bucket elimination (:mod:`bpcount.elimination`) is exact but builds tables over a variable and all
its current neighbours, 2^(width+1) entries: hopeless on the formulas left to the estimator. A
*mini-bucket* keeps every table small by splitting a bucket whose factors f_1 … f_r together span
more than ``i_bound + 1`` variables into mini-buckets that each span at most that many, and summing
the bucket's variable x out of each one separately. With weights w_j > 0, Σ_j w_j = 1, Hölder's
inequality gives

    Σ_x Π_j F_j(x)  ≤  Π_j ( Σ_x F_j(x)^(1/w_j) )^(w_j)        (F_j: product of mini-bucket j)

so each mini-bucket sends on the *power sum* w_j · ln Σ_x exp(ln F_j / w_j) and the product of what
is left at the end is an upper bound on Z (w = 1 is the ordinary sum, w → 0 the max of the original
mini-bucket scheme). We use uniform weights 1/r.

Clauses wider than ``i_bound + 1`` literals are dropped first: removing a clause can only add models,
so the bound stays valid (such clauses exclude a fraction ≤ 2^-(i+2) of assignments each). So are
the widest clauses whose tables would take the entries held past ``max_live_entries`` (memory).

The elimination order is chosen as it goes: the next variable is one whose bucket spans the fewest
variables (a min-degree rule on the factors' scopes, with lazily refreshed priorities), ties to the
lowest variable, so the result is deterministic. Everything is in log space.

Uses: the engine projects every estimate into [lower, upper] (an estimate above a proven bound is
further from the truth than the bound itself), and the bound is reported (``CountResult.ln_upper``).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from bpcount.elimination import clause_log_tables

#: Largest mini-bucket scope is i_bound + 1 variables: tables of 2^(i_bound+1) float64 entries.
DEFAULT_I_BOUND = 12

#: The pipeline's ladder (:func:`upper_bound`): each i-bound in turn while the work budget lasts.
DEFAULT_I_BOUNDS = (12, 16)

#: Most table entries held at once (float64: 256 MiB); a run that would hold more gives up. Work alone
#: does not bound memory: messages of 2^16 entries from a thousand split buckets fit in a second.
DEFAULT_MAX_LIVE_ENTRIES = 1 << 25

#: Default work budget (reference-machine seconds) of the bound in the counting pipeline.
DEFAULT_BOUND_BUDGET = 1.0

#: The wall clock stops the elimination at this multiple of its work budget whatever the charge says.
WALL_LIMIT_FACTOR = 5.0

LN2 = math.log(2.0)


@dataclass(frozen=True)
class BoundWorkModel:
    """Seconds, on the reference machine (the development VM), per unit of each elimination cost.

    ``step``: one variable eliminated (heap, bookkeeping); ``scan``: one factor scope read while
    keeping the priorities (``_Factors.span``); ``pair``: one factor placed against one mini-bucket;
    ``entry``: one table entry added into a mini-bucket product. Fitted by
    ``benchmarks/bound_work.py`` (non-negative least squares on the relative error of whole runs) on
    the residuals of the train and unlabeled splits; results in ``benchmarks/results/bound_work.md``.
    """

    step: float = 2.6e-6
    scan: float = 2.1e-7
    pair: float = 1.1e-5
    entry: float = 1.8e-9


#: The work model the pipeline charges with.
BOUND_WORK = BoundWorkModel()


@dataclass(frozen=True)
class UpperBound:
    """Outcome of :func:`minibucket_upper_bound`.

    ``ln_upper``: an upper bound on ln Z in nats (−inf: proven unsatisfiable; None: out of time).
    ``dropped_clauses``: clauses left out (wider than i_bound + 1, or past ``max_live_entries``). ``split_buckets``: buckets that
    needed more than one mini-bucket (0: the bound is the exact ln Z). ``seconds``: wall time;
    ``work``: what the elimination was charged (reference-machine seconds, :class:`BoundWorkModel`);
    ``counts``: the cost counts it was charged for (steps, scanned, pairs, entries). ``i_bound``:
    the i-bound of the run that gave ``ln_upper``.
    """

    ln_upper: float | None
    dropped_clauses: int
    split_buckets: int
    seconds: float
    work: float
    counts: dict = field(default_factory=dict)
    i_bound: int | None = None

    @property
    def exact(self) -> bool:
        """True when no clause was dropped and no bucket split: then ``ln_upper`` is ln Z itself."""
        return self.ln_upper is not None and self.dropped_clauses == 0 and self.split_buckets == 0


class _Factors:
    """Log tables indexed by id; ``scope[f]`` ascending variable ids (0-based), table axes in that order."""

    def __init__(self, num_vars: int):
        self.scope: dict[int, tuple[int, ...]] = {}
        self.table: dict[int, np.ndarray] = {}
        self.of_var: list[set[int]] = [set() for _ in range(num_vars)]
        self.scanned = 0  # factor scopes read by span(): the priority upkeep's share of the work
        self.live_entries = 0  # table entries held now
        self._next = 0

    def add(self, scope: tuple[int, ...], table: np.ndarray) -> None:
        f = self._next
        self._next += 1
        self.scope[f] = scope
        self.table[f] = table
        self.live_entries += table.size
        for v in scope:
            self.of_var[v].add(f)

    def pop(self, f: int) -> tuple[tuple[int, ...], np.ndarray]:
        scope = self.scope.pop(f)
        for v in scope:
            self.of_var[v].discard(f)
        table = self.table.pop(f)
        self.live_entries -= table.size
        return scope, table

    def span(self, v: int) -> int:
        """Variables in the bucket of ``v`` (its own included); counts the scopes read in ``scanned``."""
        fs = self.of_var[v]
        self.scanned += len(fs)
        if not fs:
            return 1
        return len(set().union(*(self.scope[f] for f in fs)))


def _clause_tables(factors: _Factors, lits: np.ndarray, clause_ptr: np.ndarray, max_width: int,
                   max_entries: int) -> int:
    """Add one 0/1 log table per clause of at most ``max_width`` literals, narrowest first, while the
    tables' entries stay within ``max_entries``; return how many clauses were dropped (too wide, or
    past that limit: dropping a clause keeps the bound valid)."""
    sizes = np.diff(clause_ptr)
    dropped = 0
    for k in np.unique(sizes):
        k = int(k)
        idx = np.flatnonzero(sizes == k)
        if k > max_width or factors.live_entries + (len(idx) << k) > max_entries:
            dropped += len(idx)
            continue
        cl = lits[clause_ptr[idx][:, None] + np.arange(k)]  # (m, k) signed literals
        cl = np.take_along_axis(cl, np.argsort(np.abs(cl), axis=1), axis=1)
        for scope, table in zip((np.abs(cl) - 1).tolist(), clause_log_tables(cl)):
            factors.add(tuple(scope), table)
    return dropped


def _partition(scopes: list[tuple[int, ...]], limit: int) -> list[list[int]]:
    """First-fit of factor indices (widest first) into groups whose scope union has ≤ ``limit`` variables."""
    groups: list[tuple[set[int], list[int]]] = []
    for i in sorted(range(len(scopes)), key=lambda i: (-len(scopes[i]), scopes[i])):
        s = scopes[i]
        for union, members in groups:
            if len(union.union(s)) <= limit:
                union.update(s)
                members.append(i)
                break
        else:
            groups.append((set(s), [i]))
    return [members for _, members in groups]


def _product(scopes: list[tuple[int, ...]], tables: list[np.ndarray]) -> tuple[tuple[int, ...], np.ndarray]:
    """Sum of log tables broadcast onto the union of their (ascending) scopes."""
    if len(tables) == 1:
        return scopes[0], tables[0]
    union = tuple(sorted(set().union(*scopes)))
    axis = {u: i for i, u in enumerate(union)}
    acc = np.zeros((2,) * len(union))
    for s, t in zip(scopes, tables):
        shape = [1] * len(union)
        for u in s:
            shape[axis[u]] = 2
        acc = acc + t.reshape(shape)
    return union, acc


def _power_sum_out(table: np.ndarray, axis: int, weight: float) -> np.ndarray:
    """weight · ln Σ_x exp(table / weight) over ``axis`` (size 2); weight 1 is logsumexp."""
    a = np.take(table, 0, axis=axis)
    b = np.take(table, 1, axis=axis)
    if weight == 1.0:
        return np.logaddexp(a, b)
    return weight * np.logaddexp(a / weight, b / weight)


def bound_work(model: BoundWorkModel, *, steps: int, scanned: int, pairs: int, entries: int) -> float:
    """Reference-machine seconds charged for elimination steps with these counts (see BoundWorkModel)."""
    return (model.step * steps + model.scan * scanned + model.pair * pairs + model.entry * entries)


def minibucket_upper_bound(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray,
                           log_weights: np.ndarray | None = None, *, i_bound: int = DEFAULT_I_BOUND,
                           budget: float | None = None, work_model: BoundWorkModel = BOUND_WORK,
                           wall_limit: float | None = None,
                           max_live_entries: int = DEFAULT_MAX_LIVE_ENTRIES) -> UpperBound:
    """Upper bound on ln Z (nats) by weighted mini-bucket elimination with scopes of ≤ i_bound + 1.

    Args:
        num_vars, lits, clause_ptr: the formula (variables 1..num_vars, CSR clauses, no variable
            repeated within a clause: the simplifier's output).
        log_weights: (num_vars, 2) ln w(¬x), ln w(x), or None for the unweighted count.
        i_bound: each mini-bucket spans at most ``i_bound + 1`` variables (≥ 1).
        budget: reference-machine seconds of work (``work_model``) after which the elimination gives
            up (``ln_upper=None``); None: no limit. Charged as it goes, so the same formulas get a
            bound on every machine.
        wall_limit: wall-clock seconds after which it gives up as well (a backstop for a machine
            much slower than the reference); None: ``WALL_LIMIT_FACTOR`` × budget.
        max_live_entries: it gives up when its tables would hold more entries than this at once.

    Returns:
        :class:`UpperBound`; its ``ln_upper`` is ≥ ln Z (−inf only when the formula has no model).
    """
    if i_bound < 1:
        raise ValueError(f"i_bound must be at least 1, got {i_bound}")
    t0 = time.perf_counter()
    if wall_limit is None and budget is not None:
        wall_limit = WALL_LIMIT_FACTOR * budget
    deadline = None if wall_limit is None else t0 + wall_limit
    lits = np.asarray(lits, dtype=np.int64)
    clause_ptr = np.asarray(clause_ptr, dtype=np.int64)
    limit = i_bound + 1
    factors = _Factors(num_vars)
    dropped = _clause_tables(factors, lits, clause_ptr, limit, max_live_entries)
    if log_weights is not None:
        lw = np.asarray(log_weights, dtype=np.float64)
        for v in range(num_vars):
            factors.add((v,), lw[v].copy())

    ln_total = 0.0
    split = steps = pairs = entries = 0
    heap = [(factors.span(v), v) for v in range(num_vars)]
    heapq.heapify(heap)
    done = np.zeros(num_vars, dtype=bool)

    def counts() -> dict:
        return {"steps": steps, "scanned": factors.scanned, "pairs": pairs, "entries": entries}

    def work() -> float:
        return bound_work(work_model, **counts())

    def result(ln_upper: float | None) -> UpperBound:
        return UpperBound(ln_upper, dropped, split, time.perf_counter() - t0, work(), counts(), i_bound)

    while heap:
        prio, v = heapq.heappop(heap)
        if done[v]:
            continue
        current = factors.span(v)
        if current != prio:  # stale entry: the bucket changed since it was pushed
            heapq.heappush(heap, (current, v))
            continue
        if ((budget is not None and work() > budget) or (deadline is not None and time.perf_counter() > deadline)
                or factors.live_entries > max_live_entries):
            return result(None)
        done[v] = True
        steps += 1
        ids = sorted(factors.of_var[v])
        if not ids:  # in no factor: free (unweighted), a factor of 2
            ln_total += LN2
            continue
        popped = [factors.pop(f) for f in ids]
        scopes = [s for s, _ in popped]
        groups = _partition(scopes, limit)
        pairs += len(popped) * len(groups)
        if len(groups) > 1:
            split += 1
        weight = 1.0 / len(groups)
        touched: set[int] = set()
        for members in groups:
            scope, table = _product([scopes[i] for i in members], [popped[i][1] for i in members])
            entries += table.size * len(members)
            out = _power_sum_out(table, scope.index(v), weight)
            rest = tuple(u for u in scope if u != v)
            if rest:
                factors.add(rest, out)
                touched.update(rest)
            else:
                ln_total += float(out)
        for u in touched:
            heapq.heappush(heap, (factors.span(u), u))
        if ln_total == -math.inf:
            break
    return result(ln_total)


def upper_bound(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, log_weights: np.ndarray | None = None,
                *, i_bounds: tuple[int, ...] = DEFAULT_I_BOUNDS, budget: float | None = None,
                work_model: BoundWorkModel = BOUND_WORK) -> UpperBound:
    """The least of :func:`minibucket_upper_bound` over ``i_bounds`` in turn, within one work budget.

    Each run gets what the earlier ones left of ``budget`` (and 5× that of wall time); the ladder
    stops at the first run that does not finish or that is exact. A larger i-bound is usually
    tighter and costs more; a smaller one first means a formula too big for the larger still gets a
    bound. Returns the best finished run, with ``work`` and ``seconds`` summed over all runs
    (``ln_upper`` None when none finished).
    """
    best: UpperBound | None = None
    work = seconds = 0.0
    for i in i_bounds:
        left = None if budget is None else budget - work
        if left is not None and left <= 0:
            break
        run = minibucket_upper_bound(num_vars, lits, clause_ptr, log_weights, i_bound=i, budget=left,
                                     work_model=work_model)
        work += run.work
        seconds += run.seconds
        if run.ln_upper is None:
            break
        if best is None or run.ln_upper < best.ln_upper:
            best = run
        if run.exact or run.ln_upper == -math.inf:
            break
    if best is None:
        return UpperBound(None, 0, 0, seconds, work)
    return replace(best, work=work, seconds=seconds)
