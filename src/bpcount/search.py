"""Exact counting by budgeted search: branch, simplify, split into components, cache (#DPLL).

What the simplifier leaves (components too wide for variable elimination) is often only a few
variables away from being countable: fixing a handful of them lets unit propagation decide whole
sub-circuits and cuts the primal graph into narrow components. This module counts a residual
exactly the way component-caching model counters (Cachet, sharpSAT, Ganak) do, minus clause
learning, for as long as a budget allows:

    Z(F) = Π over connected components C of F:  Z(C),
    Z(C) = Z(C | x) + Z(C | ¬x)      (x: a variable where elimination of C gets stuck),

where every branch is first simplified by :func:`bpcount.simplify.simplify` (units, equivalent
literals, free variables, small components enumerated), and each component left is eliminated at
width ``max_width`` when it is that narrow, else branched on. A component that still holds a large
part of the set where its parent's elimination got stuck (:data:`HINT_MIN_STUCK`) skips the attempt
and branches on that set directly. Each component's count, eliminated or
branched, is cached under its clause set (and its literal weights), so a component reached again
along another path costs nothing: after a branch, the parts of a component that the decision does
not touch are the same on both sides (on blasted_TR_b14_1_linear, 456 of 304 nodes' components
came from the cache; a node's components can hit more than once). When the work, wall-clock, node or depth budget
runs out the search gives up and returns no count: the result is either exact or absent, never an
estimate. Like the enumerator in :mod:`bpcount.sat`, this lets the tool answer exactly where that
is cheap, as ApproxMC and Ganak users expect, and leaves the learned estimator the formulas that are
really hard.

The branching and bookkeeping loop runs on the host (one Python frame per search node); each node's
work is the vectorised simplification.

**The budget is work, not wall time.** Every step is charged the seconds it takes on the reference
machine (the 2-core VM the project is developed on), predicted from its size by :class:`WorkModel`:
a node by its edges, an elimination order by its edges and variables, an elimination by its
variables and table entries. The search stops when the charges pass the budget,
so it decides the same formulas on any machine and under any load, and a formula's answer does not
depend on where it was counted (on a lent H100 machine, whose per-formula CPU stages ran about 3× as
long as the VM's, a wall-time budget left six val and MC2022 formulas undecided that the VM counts
exactly). A wall-clock limit (:data:`WALL_LIMIT_FACTOR` × the budget by default) still stops it on a
machine or a formula where the prediction is far off; it is checked at every node and inside the
elimination orders, not inside one node's simplification. Weights travel as log weights normalised
to a maximum of 0 per variable (the normaliser is added back exactly), so only a weight ratio beyond
e^745 between a variable's two literals could underflow.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from bpcount.cnf import Formula
from bpcount.elimination import OrderTimeout, eliminate, greedy_order, stuck_variables

# scipy and bpcount.simplify are imported where used: the CLI imports this module for its defaults,
# and `bpcount --help` should not pay for scipy.

#: Seconds of search per formula by default, as work on the reference machine (module docstring; 0
#: turns the stage off). Chosen on the val split in the seventh session (then as wall time): 2 s
#: decided 86 of its 93 formulas (1 s: 83, 3 s: 87) for 23 % more wall time than 1 s; every formula
#: the search does not decide pays the whole budget.
DEFAULT_SEARCH_BUDGET = 2.0

#: Default wall-clock limit of one search, as a multiple of its budget: the search stops there even
#: when its charged work is still under the budget (a machine this much slower than the reference
#: one, or a formula whose steps cost more than :class:`WorkModel` predicts).
WALL_LIMIT_FACTOR = 5.0


@dataclass(frozen=True)
class WorkModel:
    """Reference-machine seconds charged per search step, predicted from the step's size before it
    runs (all fields in seconds). Fitted by ``benchmarks/search_work.py`` (tenth session, on the 2-core
    VM): the searches of the train and unlabeled splits' residuals at 2 s each (291 formulas, 185k
    counted steps), non-negative least squares on the relative error of each whole search's charge
    against its wall time. Checked under the fitted values, wall time / charge over the 268 searches
    charged more than 0.05 s: p10 0.84, median 1.03, p90 1.30, max 2.49. The split between ``node``
    and ``key`` is poorly determined (a node has about one key), their sum per node is not.

    * node (simplification of a branch): ``node + node_edge`` × its literal occurrences, plus
      ``key + key_edge`` × literal occurrences for each component's cache key;
    * greedy elimination order (an elimination attempt, or the stuck set before a branch):
      ``order_edge`` × literal occurrences + ``order_var`` × variables;
    * bucket elimination along a finished order: ``elim_var`` × variables + ``elim_entry`` × table
      entries (Σ 2^(degree + 1) over the order).

    Refit with that script after a change that makes the search's steps faster or slower: until then
    the budget keeps meaning seconds of the code it was fitted to.
    """

    node: float = 5.5e-5
    node_edge: float = 6.9e-8
    key: float = 5.0e-4
    key_edge: float = 6.4e-8
    order_edge: float = 4.2e-7
    order_var: float = 4.8e-6
    elim_var: float = 8.6e-6
    elim_entry: float = 3.9e-9


#: Step kind → the :class:`WorkModel` fields charged for it, each with the step size it multiplies:
#: ``"1"`` (once per step), ``"edges"`` (literal occurrences), ``"variables"``, ``"entries"`` (table
#: entries). One table for the search's charges and for the fit in benchmarks/search_work.py.
WORK_TERMS = {
    "node": (("node", "1"), ("node_edge", "edges")),
    "key": (("key", "1"), ("key_edge", "edges")),
    "order": (("order_edge", "edges"), ("order_var", "variables")),
    "elim": (("elim_var", "variables"), ("elim_entry", "entries")),
}


def step_cost(model: WorkModel, kind: str, *, edges: int = 0, variables: int = 0, entries: int = 0) -> float:
    """Reference-machine seconds ``model`` charges for one step of ``kind`` (a key of :data:`WORK_TERMS`)."""
    size = {"1": 1, "edges": edges, "variables": variables, "entries": entries}
    return sum(getattr(model, field) * size[name] for field, name in WORK_TERMS[kind])


#: The work model the search charges by default.
DEFAULT_WORK_MODEL = WorkModel()

#: Elimination width inside the search: narrower than the simplifier's default
#: (bpcount.elimination.DEFAULT_MAX_WIDTH), because a search node that tries a 2^22-entry
#: elimination costs more than branching a few more times (measured on the val split: width 18
#: decided the same formulas as 22 in about half the time).
DEFAULT_SEARCH_WIDTH = 18

#: A component that still holds at least this many of the variables where its parent's elimination
#: order got stuck is branched there again without an elimination attempt (and min-degree order) of
#: its own: one decision rarely makes so wide a core narrow, and on large residuals the order costs
#: more than the rest of a node (30.sk_5_76, 20k variables: the orders took 10.6 s of a 17.0 s search
#: under the profiler). Chosen on the val split (eighth session, before that session's other search
#: speedups): with 90, 30.sk_5_76's search went from 11.2 s to 5.0 s and blasted_TR_b14_1_linear's
#: from 2.0–2.2 s to 1.3–1.5 s; 36 doubled the time on circuits (staler branching choices, more
#: nodes), 150 gave 4.8 s and 1.6 s.
HINT_MIN_STUCK = 90

#: Multiplier of the row hash that orders a component's clauses in its cache key (odd, < 2^63).
KEY_HASH_MULTIPLIER = np.int64(0x1F3D5B79A3C4E5F1)

#: Most search nodes (simplifications) per formula, whatever the work budget.
DEFAULT_SEARCH_NODES = 100_000

#: Deepest branching (decisions on one path); beyond it the search gives up. Each level holds three
#: Python frames, so this keeps well inside the interpreter's recursion limit.
MAX_SEARCH_DEPTH = 200


@dataclass(frozen=True)
class SearchResult:
    """Outcome of :func:`search_log_count`: ``ln_count`` (nats; −inf when UNSAT; None when a budget
    ran out first), ``nodes`` (simplifications done), ``cache_hits``, ``seconds`` (wall), ``work``
    (reference-machine seconds charged, :class:`WorkModel`), ``ln_lower``: a proven lower bound on
    ln Z from what an unfinished search did count (the count itself when finished; −inf when nothing
    was counted, see :class:`_OutOfBudget`)."""

    ln_count: float | None
    nodes: int
    cache_hits: int
    seconds: float
    work: float = 0.0
    ln_lower: float = -math.inf


class _OutOfBudget(Exception):
    """The budget ran out. ``lower``: a lower bound (nats) on ln Z of what was being counted where
    it is caught: each level adds what it had finished as the exception passes (a branch: the sides
    already counted plus the lower bound of the side cut short; a product of components: the
    finished components plus that lower bound, −inf while a component not yet started is left, as it
    may have no model)."""

    def __init__(self, lower: float = -math.inf):
        super().__init__(lower)
        self.lower = lower


@dataclass
class _State:
    budget: float  # reference-machine seconds of work
    deadline: float  # wall clock (time.monotonic)
    max_nodes: int
    max_width: int
    max_vars: int
    model: WorkModel
    max_depth: int = MAX_SEARCH_DEPTH  # most decisions on one path (the iterative probes allow any)
    nodes: int = 0
    hits: int = 0
    work: float = 0.0

    def charge(self, seconds: float) -> None:
        """Add a step's predicted cost before it runs; out of budget when the total passes it."""
        self.work += seconds
        if self.work > self.budget:
            raise _OutOfBudget


@dataclass(frozen=True)
class _Component:
    """One connected component: ``lits`` (E,) over variables 1..num_vars, ``clause_ptr`` (C+1,),
    ``log_phi`` (num_vars, 2) normalised log weights or None."""

    num_vars: int
    lits: np.ndarray
    clause_ptr: np.ndarray
    log_phi: np.ndarray | None
    origin: np.ndarray | None = None  # (num_vars,) 1-based variable of the split formula per local one

    def with_unit(self, lit: int) -> Formula:
        """The component with the unit clause ``lit`` added (one branch), as a formula whose weights
        are the normalised ones."""
        return self.with_units([lit])

    def with_units(self, units: list[int]) -> Formula:
        """The component with one unit clause per literal of ``units`` added (a probe's decisions
        taken in a row, :mod:`bpcount.probe`), as in :meth:`with_unit`."""
        lits = np.concatenate([self.lits, np.asarray(units, dtype=self.lits.dtype)])
        ptr = np.concatenate([self.clause_ptr, self.clause_ptr[-1] + np.arange(1, len(units) + 1)])
        weights = None if self.log_phi is None else np.exp(self.log_phi)
        return Formula(num_vars=self.num_vars, lits=lits, clause_ptr=ptr, weights=weights)

    def key(self) -> bytes:
        """The component as a formula: its set of clauses and, when weighted, its log weights. Equal
        keys mean equal counts whatever path led here. Every renumbering on the way (simplifier,
        component split) keeps the variables' relative order, so the same sub-formula reached along
        two paths gets the same key.

        Each clause is written with its literals in increasing variable order (sorted here only when
        some clause is not: the simplifier's output already is), and the clauses in the order of a
        64-bit hash of that row; a clause equal to the one before it is dropped. Clauses whose hashes
        collide may come out in either order, so a collision can cost a cache miss, never a wrong
        count: the key is still the whole formula. Work is O(edges) plus one sort of the clause
        hashes (a dense clause × width matrix and a stable sort cost 2 ms per key on 30.sk_5_76,
        whose clauses run up to 22 literals; a sixth of its search)."""
        from bpcount.simplify import index_ranges

        lits, ptr = self.lits, self.clause_ptr
        sizes = np.diff(ptr)
        starts = ptr[:-1]
        pos = np.arange(len(lits)) - np.repeat(starts, sizes)  # position of each literal in its clause
        var = np.abs(lits)
        if (var[1:] <= var[:-1])[pos[1:] > 0].any():
            clause = np.repeat(np.arange(len(sizes)), sizes)
            lits = lits[np.lexsort((lits, var, clause))]
            var = np.abs(lits)
        powers = np.ones(int(sizes.max()), dtype=np.int64)
        with np.errstate(over="ignore"):  # int64 arithmetic wraps: a hash
            powers[1:] = KEY_HASH_MULTIPLIER
            powers = np.cumprod(powers)
            row_hash = np.add.reduceat(lits * powers[pos], starts)
        order = np.argsort(row_hash)
        row_hash, sizes, starts = row_hash[order], sizes[order], starts[order]
        keep = np.ones(len(order), dtype=bool)
        same = np.flatnonzero((row_hash[1:] == row_hash[:-1]) & (sizes[1:] == sizes[:-1])) + 1
        if len(same):  # candidates for a repeated clause: compare them literal by literal
            n = sizes[same]
            differs = lits[index_ranges(starts[same], n)] != lits[index_ranges(starts[same - 1], n)]
            keep[same] = np.add.reduceat(differs, np.cumsum(n) - n) > 0
        sizes, starts = sizes[keep], starts[keep]
        parts = [np.array([self.num_vars], dtype=np.int64).tobytes(), sizes.tobytes(),
                 lits[index_ranges(starts, sizes)].tobytes()]
        if self.log_phi is not None:
            parts.append(self.log_phi.tobytes())
        return b"|".join(parts)


def _normalise(log_phi: np.ndarray | None) -> tuple[np.ndarray | None, float]:
    """Log weights shifted so each variable's larger weight is 1, and the total shift (nats)."""
    if log_phi is None:
        return None, 0.0
    top = log_phi.max(axis=1, keepdims=True)
    return log_phi - top, float(top.sum())


def _components(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, log_phi: np.ndarray | None
                ) -> list[_Component]:
    """Split a formula whose every variable occurs in some clause into its connected components."""
    from bpcount.simplify import clause_graph_components

    sizes = np.diff(clause_ptr)
    n_clauses = len(sizes)
    clause = np.repeat(np.arange(n_clauses, dtype=np.int64), sizes)
    var = np.abs(lits) - 1
    n_comp, label = clause_graph_components(num_vars, var, clause_ptr)
    if n_comp == 1:
        return [_Component(num_vars, lits, clause_ptr, log_phi, np.arange(1, num_vars + 1))]
    comp_of_var = label[:num_vars]
    local = np.zeros(num_vars + 1, dtype=np.int64)  # 1-based variable → index within its component
    by_var = np.argsort(comp_of_var, kind="stable")
    var_counts = np.bincount(comp_of_var, minlength=n_comp)
    var_ptr = np.concatenate([[0], np.cumsum(var_counts)])
    local[by_var + 1] = np.arange(num_vars) - np.repeat(var_ptr[:-1], var_counts) + 1
    edge_comp = label[num_vars + clause]
    by_edge = np.argsort(edge_comp, kind="stable")  # stable: clauses stay contiguous and in order
    edge_ptr = np.concatenate([[0], np.cumsum(np.bincount(edge_comp, minlength=n_comp))])
    clause_comp = label[num_vars:]
    clause_counts = np.bincount(clause_comp, minlength=n_comp)
    sizes_by_comp = sizes[np.argsort(clause_comp, kind="stable")]
    clause_off = np.concatenate([[0], np.cumsum(clause_counts)])
    new_lits = np.sign(lits) * local[np.abs(lits)]
    out = []
    for c in range(n_comp):
        vs = by_var[var_ptr[c]:var_ptr[c + 1]]
        ptr = np.concatenate([[0], np.cumsum(sizes_by_comp[clause_off[c]:clause_off[c + 1]])])
        out.append(_Component(len(vs), new_lits[by_edge[edge_ptr[c]:edge_ptr[c + 1]]], ptr,
                              None if log_phi is None else log_phi[vs], vs + 1))
    return out


def _free_log_count(num_vars: int, log_phi: np.ndarray | None) -> float:
    """ln Z of ``num_vars`` variables in no clause: ln 2 each, ln(w(x) + w(¬x)) weighted."""
    from bpcount.simplify import log_weight_totals

    return num_vars * math.log(2.0) if log_phi is None else float(log_weight_totals(log_phi).sum())


def _greedy(order_fn, comp: _Component, st: _State):
    """``order_fn`` (bpcount.elimination.greedy_order or stuck_variables) on ``comp`` at the search's
    width, charged as one greedy elimination order; its deadline is the search's wall-clock limit."""
    st.charge(step_cost(st.model, "order", edges=len(comp.lits), variables=comp.num_vars))
    try:
        return order_fn(comp.num_vars, comp.lits, comp.clause_ptr, max_width=st.max_width, deadline=st.deadline)
    except OrderTimeout:
        raise _OutOfBudget from None


def _branch_variable(comp: _Component, stuck: tuple[np.ndarray, np.ndarray] | None,
                     prefer: np.ndarray | None = None) -> int:
    """The 1-based local variable to branch on: among the variables where the greedy min-degree
    elimination order gets stuck above the search's width (bpcount.elimination.stuck_variables), the one
    with the largest (clauses it occurs in) × (degree there); ties: the lowest. When the order does
    not get stuck (elimination was refused for its work alone), the variable in most clauses.

    Branching there removes a variable from the part of the primal graph that blocked elimination;
    on the val split this took the search to exact counts in 14–36 nodes where branching on the
    most frequent variable overall took 162–246. ``stuck``: that set (from the caller's elimination
    attempt, :func:`bpcount.elimination.greedy_order`, or computed by :func:`_branch`); None: the
    variable in most clauses. ``prefer`` (num_vars,) bool over local 0-based variables: choose among
    those where any qualifies (the probes' circuit inputs, :mod:`bpcount.gatevars`).
    """
    if stuck is not None and len(stuck[0]):
        scores = _stuck_scores(comp, stuck)
        if prefer is not None and prefer[stuck[0]].any():
            scores = np.where(prefer[stuck[0]], scores, -1)
        return int(stuck[0][np.argmax(scores)]) + 1
    occurrences = np.bincount(np.abs(comp.lits), minlength=comp.num_vars + 1)[1:]
    if prefer is not None and (prefer & (occurrences > 0)).any():
        occurrences = np.where(prefer, occurrences, -1)
    return int(np.argmax(occurrences)) + 1


def _stuck_scores(comp: _Component, stuck: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(len(stuck set),) the branching score of each stuck variable: (clauses it occurs in) × (its
    degree where the order got stuck)."""
    occurrences = np.bincount(np.abs(comp.lits), minlength=comp.num_vars + 1)[1:]
    return occurrences[stuck[0]] * stuck[1]


def _branch(comp: _Component, st: _State, stuck: tuple[np.ndarray, np.ndarray] | None,
            prefer: np.ndarray | None = None) -> tuple[int, tuple[np.ndarray, np.ndarray] | None]:
    """The branching variable x (:func:`_branch_variable`, with ``prefer``) and the stuck set without
    x, the hint its branches carry; the set is computed here when ``stuck`` is None (None when the
    width is 0)."""
    if stuck is None and st.max_width > 0:
        stuck = _greedy(stuck_variables, comp, st)
    x = _branch_variable(comp, stuck, prefer)
    if stuck is not None:
        rest = stuck[0] != x - 1
        stuck = (stuck[0][rest], stuck[1][rest])
    return x, stuck


def _count_formula(formula: Formula, st: _State, cache: dict, depth: int,
                   hint: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """ln Z of ``formula`` (``depth`` decisions deep): simplify, then count what is left component by
    component. ``hint``: where the parent's elimination order got stuck (0-based variables of
    ``formula``, degrees), carried into the components (see :data:`HINT_MIN_STUCK`)."""
    decided, r, comps, offset = _node(formula, st, depth)
    if r is None:
        return decided
    try:
        return offset + _count_components(comps, st, cache, depth, _carry(hint, comps, r.orig_var, formula.num_vars))
    except _OutOfBudget as cut:
        raise _OutOfBudget(offset + cut.lower) from None


def _node(formula: Formula, st: _State, depth: int, extra_charge: float = 0.0):
    """One search node (shared with the probes, :mod:`bpcount.probe`): check the node, depth and
    wall-clock limits, charge the node (plus ``extra_charge``), simplify (elimination is left to the
    caller, which caches or probes what it eliminates) and split the residual into components.
    Returns (ln Z, None, None, 0) when simplification decided the formula (−inf: UNSAT), else
    (None, the residual, its components with normalised weights, the exact ln offset they multiply)."""
    from bpcount.simplify import simplify

    st.nodes += 1
    if st.nodes > st.max_nodes or depth > st.max_depth or time.monotonic() > st.deadline:
        raise _OutOfBudget
    st.charge(step_cost(st.model, "node", edges=len(formula.lits)) + extra_charge)
    s = simplify(formula, exact_max_vars=st.max_vars, exact_max_width=0)
    if s.unsat:
        return -math.inf, None, None, 0.0
    if s.residual is None:
        return s.ln_exact, None, None, 0.0
    r = s.residual
    log_phi, shift = _normalise(r.log_phi)
    return None, r, _components(r.num_vars, r.lits, r.clause_ptr, log_phi), r.ln_offset + shift


def _carry(hint, comps, orig_var, num_vars) -> list:
    """The parent's stuck set (0-based variables of the parent formula, degrees) split over the
    components, each part in its component's local numbering; None per component without a hint."""
    if hint is None:
        return [None] * len(comps)
    comp_of = np.full(num_vars, -1, dtype=np.int64)  # parent variable → component, local index
    local = np.full(num_vars, -1, dtype=np.int64)
    for c, comp in enumerate(comps):
        parent = orig_var[comp.origin - 1] - 1
        comp_of[parent] = c
        local[parent] = np.arange(comp.num_vars)
    which = comp_of[hint[0]]
    kept = which >= 0  # the others were assigned or dropped by the simplifier
    variables, degrees, which = hint[0][kept], hint[1][kept], which[kept]
    order = np.argsort(which, kind="stable")
    cuts = np.cumsum(np.bincount(which, minlength=len(comps)))[:-1]
    return [(local[v], d) for v, d in zip(np.split(variables[order], cuts), np.split(degrees[order], cuts))]


def _count_components(comps: list[_Component], st: _State, cache: dict, depth: int,
                      hints: list | None = None) -> float:
    total = 0.0
    for i, (comp, hint) in enumerate(zip(comps, hints or [None] * len(comps))):
        if len(comp.clause_ptr) == 1:  # variables in no clause: each free
            total += _free_log_count(comp.num_vars, comp.log_phi)
            continue
        try:
            st.charge(step_cost(st.model, "key", edges=len(comp.lits)))
            key = comp.key()
            ln = cache.get(key)
            if ln is None:
                if hint is not None and len(hint[0]) >= HINT_MIN_STUCK:
                    ln, stuck = None, hint  # still far too wide: branch on the parent's stuck set
                else:
                    ln, stuck = _eliminate(comp, st)
                if ln is None:  # too wide: branch where the order got stuck
                    ln = _count_branches(comp, st, cache, depth, stuck)
                cache[key] = ln
        except _OutOfBudget as cut:
            rest = comps[i + 1:]
            if any(len(c.clause_ptr) > 1 for c in rest):  # not started: may have no model at all
                raise _OutOfBudget() from None
            raise _OutOfBudget(total + cut.lower + sum(_free_log_count(c.num_vars, c.log_phi) for c in rest)) \
                from None
        else:
            st.hits += 1
        if ln == -math.inf:
            return -math.inf
        total += ln
    return total


def _eliminate(comp: _Component, st: _State) -> tuple[float | None, tuple[np.ndarray, np.ndarray] | None]:
    """(ln Z(C) by variable elimination at the search's width, None) or, when C is too wide,
    (None, where the greedy order got stuck, or None when it never ran to the width bound)."""
    if st.max_width <= 0:
        return None, None
    found = _greedy(greedy_order, comp, st)
    if found.order is None:
        return None, found.stuck
    st.charge(step_cost(st.model, "elim", variables=comp.num_vars, entries=found.work))
    return eliminate(comp.num_vars, comp.lits, comp.clause_ptr, comp.log_phi, found.order), None


def _count_branches(comp: _Component, st: _State, cache: dict, depth: int,
                    stuck: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """Z(C) = Z(C | x) + Z(C | ¬x) for the branching variable x, each side a unit clause added;
    ``stuck``: where C's greedy order got stuck, when already known (see :func:`_branch_variable`)."""
    x, stuck = _branch(comp, st, stuck)
    sides: list[float] = []
    for lit in (x, -x):
        try:
            sides.append(_count_formula(comp.with_unit(lit), st, cache, depth + 1, stuck))
        except _OutOfBudget as cut:  # the sides counted, and a lower bound of this one
            raise _OutOfBudget(float(np.logaddexp.reduce([*sides, cut.lower]))) from None
    return float(np.logaddexp(*sides))


def search_log_count(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, log_weights: np.ndarray | None = None,
                     *, budget: float = DEFAULT_SEARCH_BUDGET, wall_limit: float | None = None,
                     max_nodes: int = DEFAULT_SEARCH_NODES, max_width: int = DEFAULT_SEARCH_WIDTH,
                     max_vars: int | None = None, work_model: WorkModel = DEFAULT_WORK_MODEL) -> SearchResult:
    """Exact ln Z of a simplified residual by component-caching search, or no count (module docstring).

    Args:
        num_vars: variables 1..num_vars, every one occurring in some clause (a simplifier residual).
        lits: (E,) signed literals; ``clause_ptr``: (C+1,) CSR clause offsets.
        log_weights: (num_vars, 2) ln(w(¬x), w(x)), or None for unweighted counting.
        budget: seconds of work on the reference machine, as charged by ``work_model`` (the same
            formulas are decided on every machine); 0 turns the search off.
        wall_limit: wall-clock seconds after which the search stops whatever its charges (None:
            :data:`WALL_LIMIT_FACTOR` × ``budget``; ``math.inf``: no limit).
        max_nodes: most simplifications; max_width, max_vars: elimination width and enumeration size
            used in the branches (0, 0: branch all the way; ``max_vars`` None: the simplifier's
            default, 20).

    Returns:
        :class:`SearchResult`; ``ln_count`` None when a budget ran out first.
    """
    t0 = time.monotonic()
    lits = np.asarray(lits, dtype=np.int64)
    clause_ptr = np.asarray(clause_ptr, dtype=np.int64)
    if max_vars is None:
        from bpcount.simplify import DEFAULT_EXACT_MAX_VARS

        max_vars = DEFAULT_EXACT_MAX_VARS
    if wall_limit is None:
        wall_limit = WALL_LIMIT_FACTOR * budget
    st = _State(budget=budget, deadline=t0 + wall_limit, max_nodes=max_nodes, max_width=max_width,
                max_vars=max_vars, model=work_model, max_depth=MAX_SEARCH_DEPTH)
    if budget <= 0 or max_nodes <= 0:
        return SearchResult(None, 0, 0, 0.0)
    log_phi, shift = _normalise(None if log_weights is None else np.asarray(log_weights, dtype=np.float64))
    try:
        ln = shift + _count_components(
            _components(num_vars, lits, clause_ptr, log_phi), st, {}, 0)
        lower = ln
    except _OutOfBudget as cut:
        ln, lower = None, shift + cut.lower
    return SearchResult(ln, st.nodes, st.hits, time.monotonic() - t0, st.work, lower)


__all__ = ["DEFAULT_SEARCH_BUDGET", "DEFAULT_SEARCH_NODES", "DEFAULT_SEARCH_WIDTH", "DEFAULT_WORK_MODEL",
           "MAX_SEARCH_DEPTH", "WALL_LIMIT_FACTOR", "WORK_TERMS", "SearchResult", "WorkModel", "search_log_count",
           "step_cost"]
