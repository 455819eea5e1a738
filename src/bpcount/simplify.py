"""Count-preserving simplification (bp-cnf.md §7).

In order: weight-0 literals (as unit clauses), empty clauses, then rounds of {duplicate literals,
tautologies, unit propagation to a fixpoint, equivalent-literal substitution (strongly connected
components of the binary implication graph)} until nothing changes, free variables
(+ln(w(x) + w(¬x)) each, ln 2 unweighted), connected components. Components with at most
``exact_max_vars`` variables are counted exactly by vectorised enumeration, and larger ones whose
greedy elimination order has width at most ``exact_max_width`` by variable elimination
(:mod:`bpcount.elimination`); the rest form the *residual* handed to BP-type engines. The result keeps the exact part
of ln Z in ``ln_exact`` so that ln Z = ln_exact + ln Z(residual).

Everything is vectorised numpy over literals. Unit propagation runs in rounds (all current units at
once), counting each clause's open literals, and compacts the edges once at the end; the equivalence
search is skipped in a round where no clause newly became binary, since it could find nothing new.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from bpcount.cnf import Formula
from bpcount.elimination import DEFAULT_MAX_WIDTH, elimination_log_count

#: Components up to this many variables are enumerated exactly (2^20 assignments, chunked).
DEFAULT_EXACT_MAX_VARS = 20

#: Rounds of equivalent-literal substitution (each followed by unit propagation); substitution can
#: create new binary clauses and units, so it is repeated, but a few rounds reach the fixpoint.
MAX_EQUIVALENCE_ROUNDS = 20

#: Assignments evaluated per chunk in :func:`exact_log_count` (bounds memory to ~chunk × clauses).
ENUM_CHUNK = 1 << 15


@dataclass(frozen=True)
class Residual:
    """The part of a formula left for approximate inference (implements ``graph.GraphPart``).

    Variables are renumbered 1..num_vars; ``orig_var`` (num_vars,) maps them back (1-based).
    ``log_phi`` (num_vars, 2) or None. ``ln_offset`` is the exact part of ln Z (float64, nats).
    """

    num_vars: int
    lits: np.ndarray
    clause_ptr: np.ndarray
    log_phi: np.ndarray | None
    ln_offset: float
    orig_var: np.ndarray

    @property
    def num_clauses(self) -> int:
        return len(self.clause_ptr) - 1

    def to_formula(self) -> Formula:
        w = None if self.log_phi is None else np.exp(self.log_phi)
        return Formula(num_vars=self.num_vars, lits=self.lits, clause_ptr=self.clause_ptr, weights=w)


@dataclass(frozen=True)
class Simplified:
    """Outcome of :func:`simplify`.

    * ``unsat``: proven unsatisfiable (empty clause, propagation conflict, or an exactly counted
      component with no model); then ``ln_exact`` is −inf and ``residual`` is None.
    * ``ln_exact``: exact ln-count contribution (units, free variables, enumerated components).
    * ``residual``: what remains for BP (``None`` when the whole count is exact).
    * ``stats``: JSON-serialisable counters (variables assigned, free, enumerated, left for BP, ...).
    """

    unsat: bool
    ln_exact: float
    residual: Residual | None
    stats: dict = field(default_factory=dict)
    unsat_reason: str | None = None

    @property
    def exact(self) -> bool:
        return self.unsat or self.residual is None


def _log_weights(formula: Formula) -> np.ndarray | None:
    if formula.weights is None:
        return None
    with np.errstate(divide="ignore"):
        return np.log(formula.weights)


def log_weight_totals(lw: np.ndarray) -> np.ndarray:
    """ln(w0 + w1) per row of (k, 2) log weights."""
    return np.logaddexp(lw[:, 0], lw[:, 1])


def simplify(formula: Formula, *, exact_max_vars: int = DEFAULT_EXACT_MAX_VARS,
             exact_max_width: int = DEFAULT_MAX_WIDTH, equivalences: bool = True) -> Simplified:
    """Simplify ``formula`` keeping the (weighted) count exact. See the module docstring.

    ``equivalences=False`` skips equivalent-literal substitution (units, components etc. only).
    ``exact_max_width=0`` turns variable elimination off (enumeration of small components stays).
    """
    n = formula.num_vars
    lw = _log_weights(formula)
    stats: dict = {"vars": n, "clauses": formula.num_clauses}

    lits = formula.lits.astype(np.int64)
    sizes = np.diff(formula.clause_ptr)
    clause = np.repeat(np.arange(formula.num_clauses, dtype=np.int64), sizes)
    if (sizes == 0).any():
        return _unsat(stats, "empty clause in the input")

    # weight-0 literals become unit clauses forbidding them
    if lw is not None:
        zero = np.isneginf(lw)
        both = zero.all(axis=1)
        if both.any():
            return _unsat(stats, f"variable {int(np.flatnonzero(both)[0]) + 1} has both weights 0")
        v0, col = np.nonzero(zero)
        if len(v0):
            forbidden = np.where(col == 1, v0 + 1, -(v0 + 1))  # w(x)=0 forbids x
            base = formula.num_clauses
            lits = np.concatenate([lits, -forbidden])
            clause = np.concatenate([clause, base + np.arange(len(v0))])

    value = np.zeros(n + 1, dtype=np.int8)  # +1 true, −1 false, 0 free
    substituted = np.zeros(n + 1, dtype=bool)  # replaced by an equivalent literal (determined)
    stats.update(duplicate_literals=0, tautologies=0, unit_rounds=0, equivalent_vars=0)
    searched_binary = None  # ids of the binary clauses when equivalences were last substituted
    for round_ in range(MAX_EQUIVALENCE_ROUNDS + 1):
        lits, clause = _dedupe(lits, clause, stats)
        lits, clause, reason = _propagate_units(lits, clause, value, stats)
        if reason is not None:
            return _unsat(stats, reason)
        if round_ == MAX_EQUIVALENCE_ROUNDS or not equivalences:
            break
        starts, lengths = _clause_runs(clause)
        two = starts[lengths == 2]
        if searched_binary is not None and np.isin(clause[two], searched_binary).all():
            # substitution maps the implication graph onto its condensation, a DAG; without a clause
            # newly shortened to two literals no cycle (equivalence) can appear
            break
        searched_binary = clause[two]
        rep, reason = _equivalent_literals(n, lits, clause, two)
        if reason is not None:
            return _unsat(stats, reason)
        if rep is None:
            break
        moved = np.flatnonzero(rep[1:] != np.arange(1, n + 1)) + 1
        substituted[moved] = True
        stats["equivalent_vars"] += len(moved)
        if lw is not None:
            # y ≡ ±x: x's weights absorb y's (flipped when y ≡ ¬x)
            target = np.abs(rep[moved]) - 1
            flip = rep[moved] < 0
            np.add.at(lw, (target, 1), np.where(flip, lw[moved - 1, 0], lw[moved - 1, 1]))
            np.add.at(lw, (target, 0), np.where(flip, lw[moved - 1, 1], lw[moved - 1, 0]))
        lits = rep[np.abs(lits)] * np.sign(lits)
    assigned = np.flatnonzero(value[1:]) + 1
    stats["assigned_vars"] = len(assigned)
    ln_exact = 0.0
    if lw is not None and len(assigned):
        ln_exact += float(lw[assigned - 1, (value[assigned] > 0).astype(np.int64)].sum())

    # free variables
    used = np.zeros(n + 1, dtype=bool)
    used[np.abs(lits)] = True
    free = np.flatnonzero(~used[1:] & (value[1:] == 0) & ~substituted[1:]) + 1
    stats["free_vars"] = len(free)
    ln_exact += float(log_weight_totals(lw[free - 1]).sum()) if lw is not None else len(free) * math.log(2.0)

    if len(clause) == 0:
        stats.update(components=0, exact_components=0, exact_vars=n, residual_vars=0, residual_clauses=0)
        return Simplified(False, ln_exact, None, stats)

    # renumber remaining variables and clauses compactly (edges are grouped by ascending clause id)
    rem_vars = np.flatnonzero(used)
    var_local = (np.cumsum(used) - 1)[np.abs(lits)]
    starts, _ = _clause_runs(clause)
    first_edge = np.zeros(len(clause), dtype=np.int64)
    first_edge[starts] = 1
    clause_local = np.cumsum(first_edge) - 1
    nv = len(rem_vars)
    ncomp, label = clause_graph_components(nv, var_local, np.append(starts, len(clause)))
    comp_of_var = label[:nv]
    comp_of_clause = label[nv:]
    comp_size = np.bincount(comp_of_var, minlength=ncomp)
    comp_clauses = np.bincount(comp_of_clause, minlength=ncomp)
    comp_edges = np.bincount(comp_of_clause[clause_local], minlength=ncomp)
    small = comp_size <= exact_max_vars
    stats["components"] = int(ncomp)
    stats["exact_components"] = int(small.sum())

    signed_local = np.where(lits > 0, var_local + 1, -(var_local + 1))
    exact = small.copy()
    # each component's variables and edges as one range of a (stable, so ascending) sort
    var_by_comp = np.argsort(comp_of_var, kind="stable")
    var_ptr = np.concatenate([[0], np.cumsum(comp_size)])
    edge_comp = comp_of_clause[clause_local]
    edge_by_comp = np.argsort(edge_comp, kind="stable")
    edge_ptr = np.concatenate([[0], np.cumsum(comp_edges)])
    for c in range(ncomp) if exact_max_width > 0 else np.flatnonzero(small):
        local_ids = var_by_comp[var_ptr[c]:var_ptr[c + 1]]
        e = edge_by_comp[edge_ptr[c]:edge_ptr[c + 1]]
        sub = _relabel(signed_local[e], clause_local[e], local_ids)
        sub_lw = lw[rem_vars[local_ids] - 1] if lw is not None else None
        if small[c]:
            ln_c = exact_log_count(len(local_ids), sub[0], sub[1], sub_lw)
        else:
            ln_c = elimination_log_count(len(local_ids), sub[0], sub[1], sub_lw, max_width=exact_max_width)
            if ln_c is None:
                continue  # too wide: left for BP
            exact[c] = True
        if ln_c == -math.inf:
            return _unsat(stats, "a component has no model (exact count)")
        ln_exact += ln_c
    stats["eliminated_components"] = int((exact & ~small).sum())
    small = exact
    stats["tree_components"] = int(((comp_edges == comp_size + comp_clauses - 1) & ~small).sum())
    stats["exact_vars"] = int(n - comp_size[~small].sum())

    big_var = ~small[comp_of_var]
    stats["residual_vars"] = int(big_var.sum())
    if not big_var.any():
        stats["residual_clauses"] = 0
        return Simplified(False, ln_exact, None, stats)
    emask = ~small[comp_of_clause[clause_local]]
    local_ids = np.flatnonzero(big_var)
    r_lits, r_ptr = _relabel(signed_local[emask], clause_local[emask], local_ids)
    stats["residual_clauses"] = len(r_ptr) - 1
    residual = Residual(
        num_vars=len(local_ids),
        lits=r_lits,
        clause_ptr=r_ptr,
        log_phi=lw[rem_vars[local_ids] - 1].copy() if lw is not None else None,
        ln_offset=ln_exact,
        orig_var=rem_vars[local_ids],
    )
    return Simplified(False, ln_exact, residual, stats)


def clause_graph_components(num_vars: int, var: np.ndarray, clause_ptr: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the variable–clause incidence graph: (count, labels), labels
    (num_vars + C,) for the variables 0..num_vars−1 (``var`` holds each edge's, 0-based) and then
    the clauses (CSR offsets ``clause_ptr``, (C+1,)). The clause rows of the adjacency are the CSR
    arrays themselves: no sparse-format conversion (connected_components follows edges both ways)."""
    n_nodes = num_vars + len(clause_ptr) - 1
    indptr = np.concatenate([np.zeros(num_vars, dtype=np.int64), clause_ptr]).astype(np.int32)
    adj = csr_matrix((np.ones(len(var)), var.astype(np.int32), indptr), shape=(n_nodes, n_nodes))
    return connected_components(adj, directed=False)


def index_ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(starts[i], starts[i] + sizes[i])`` over i: (Σ sizes,) int64 (a CSR
    gather without a Python loop, e.g. every edge of a list of clauses; the numpy twin of
    :func:`bpcount.graph.concat_ranges`)."""
    return np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(int(sizes.sum()))


def _dedupe(lits: np.ndarray, clause: np.ndarray, stats: dict) -> tuple[np.ndarray, np.ndarray]:
    """Sort edges by (clause, var, sign); drop duplicate literals and tautological clauses."""
    var = np.abs(lits)
    # one int64 sort key, (clause, var, sign) in that order of significance: a third of the cost of
    # np.lexsort on the three arrays (this runs at every node of the exact search)
    stride = 2 * (int(var.max(initial=0)) + 1)
    sort_key = clause * stride + 2 * var + (lits > 0)
    if (sort_key[1:] < sort_key[:-1]).any():  # a search node's formula arrives sorted
        order = np.argsort(sort_key, kind="stable")
        lits, clause, var = lits[order], clause[order], var[order]
    dup = np.zeros(len(lits), dtype=bool)
    dup[1:] = (clause[1:] == clause[:-1]) & (lits[1:] == lits[:-1])
    stats["duplicate_literals"] += int(dup.sum())
    lits, clause, var = lits[~dup], clause[~dup], var[~dup]
    taut_pair = (clause[1:] == clause[:-1]) & (var[1:] == var[:-1])
    taut_clauses = np.unique(clause[1:][taut_pair])
    stats["tautologies"] += len(taut_clauses)
    if len(taut_clauses):
        keep = ~np.isin(clause, taut_clauses)
        lits, clause = lits[keep], clause[keep]
    return lits, clause


def _clause_runs(clause: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First edge and length of each clause, for edges grouped by clause id."""
    if len(clause) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    change = np.empty(len(clause), dtype=bool)
    change[0] = True
    np.not_equal(clause[1:], clause[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    return starts, np.diff(np.append(starts, len(clause)))


def _propagate_units(
    lits: np.ndarray, clause: np.ndarray, value: np.ndarray, stats: dict
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Unit propagation to a fixpoint, in rounds (all current units at once); updates ``value``.

    Edges must be grouped by clause, in ascending clause id, with no repeated variable in a clause
    (:func:`_dedupe`), and every variable in ``lits`` unassigned. Returns (lits, clause, None), the
    satisfied clauses and false literals removed, or (…, reason) on a conflict.

    Counting-based, as in a SAT solver but a whole round at a time: each clause keeps its number of
    literals not yet false; a round assigns the current units, visits only the edges of those
    variables (one boolean gather over the edges finds them), and the clauses left with one open
    literal give the next round's units. The edge arrays are compacted once, at the end: a round
    costs a gather over the edges plus work on the edges it touches (circuits propagate in long
    chains: 44 rounds for one decision on 30.sk_5_76, where re-filtering every edge each round took
    20 ms of a 41 ms search node).
    """
    if len(clause) == 0:
        return lits, clause, None
    starts, lengths = _clause_runs(clause)
    units = lits[starts[lengths == 1]]
    if len(units) == 0:
        return lits, clause, None
    n_clauses = int(clause[-1]) + 1
    ids = clause[starts]
    first = np.zeros(n_clauses, dtype=np.int64)  # per clause id: first edge, literals, open literals
    first[ids] = starts
    size = np.zeros(n_clauses, dtype=np.int64)
    size[ids] = lengths
    open_lits = size.copy()
    satisfied = np.zeros(n_clauses, dtype=bool)
    var = np.abs(lits)
    positive = lits > 0
    fresh = np.zeros(len(value), dtype=bool)
    while len(units):
        stats["unit_rounds"] += 1
        # a variable asked both ways gets one of the two values: the other unit clause then has no
        # open literal left, which the check below reports as the conflict
        unit_vars = np.abs(units)
        value[unit_vars] = np.where(units > 0, 1, -1).astype(np.int8)
        fresh[unit_vars] = True
        touched = np.flatnonzero(fresh[var])
        fresh[unit_vars] = False
        hit = clause[touched]
        true_lit = (value[var[touched]] > 0) == positive[touched]
        satisfied[hit[true_lit]] = True
        np.subtract.at(open_lits, hit[~true_lit], 1)
        hit = hit[~satisfied[hit]]  # repeats are harmless: a unit found twice is assigned twice
        if (open_lits[hit] == 0).any():
            return lits, clause, "conflict in unit propagation"
        unit_clauses = hit[open_lits[hit] == 1]
        if len(unit_clauses) == 0:
            break
        edges = index_ranges(first[unit_clauses], size[unit_clauses])
        units = lits[edges[value[var[edges]] == 0]]
    keep = (value[var] == 0) & ~satisfied[clause]
    return lits[keep], clause[keep], None


def _equivalent_literals(n: int, lits: np.ndarray, clause: np.ndarray, two: np.ndarray | None = None
                         ) -> tuple[np.ndarray | None, str | None]:
    """Equivalent literals from the binary clauses (bp-cnf.md §7): strongly connected components
    of the implication graph (clause a ∨ b gives ¬a → b and ¬b → a).

    Every model gives all literals of one component the same value, so each variable of a
    component can be replaced by the component's representative literal (the one over its smallest
    variable; the complement component gets the complement, so the choice is consistent) and the
    count is unchanged: the replaced variables are determined, not free. Returns (rep, None) with
    ``rep`` (n + 1,) int64 signed literal per variable (rep[v] = v when v stays; rep[0] unused), or
    (None, None) when no variable can be replaced, or (None, reason) when some component holds a
    literal and its complement (unsatisfiable).
    """
    if two is None:  # first edge of each binary clause
        starts, lengths = _clause_runs(clause)
        two = starts[lengths == 2]
    if len(two) < 2:
        return None, None
    a, b = lits[two], lits[two + 1]

    def node(lit: np.ndarray) -> np.ndarray:  # literal → implication-graph node (2(v−1), +1 if negative)
        return 2 * (np.abs(lit) - 1) + (lit < 0)

    src = np.concatenate([node(-a), node(-b)])
    dst = np.concatenate([node(b), node(a)])
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(2 * n, 2 * n)).tocsr()
    ncomp, label = connected_components(graph, directed=True, connection="strong")
    size = np.bincount(label, minlength=ncomp)
    pos, neg = label[0::2], label[1::2]
    if (pos == neg).any():
        v = int(np.flatnonzero(pos == neg)[0]) + 1
        return None, f"variable {v} is equivalent to its own negation (binary implications)"
    in_cycle = size[pos] > 1
    if not in_cycle.any():
        return None, None
    variables = np.arange(1, n + 1)
    rep_var = np.full(ncomp, n + 1, dtype=np.int64)
    np.minimum.at(rep_var, pos[in_cycle], variables[in_cycle])
    np.minimum.at(rep_var, neg[in_cycle], variables[in_cycle])
    # sign of the representative in v's positive-literal component
    rv = rep_var[pos]
    rep_sign = np.where(label[2 * (np.minimum(rv, n) - 1)] == pos, 1, -1)
    # a component of ≥ 2 literals always has a member other than its representative, so rep moves
    # at least one variable here
    return np.r_[0, np.where(in_cycle, rep_sign * rv, variables)].astype(np.int64), None


def _unsat(stats: dict, reason: str) -> Simplified:
    stats["unsat_reason"] = reason
    return Simplified(True, -math.inf, None, stats, unsat_reason=reason)


def _relabel(signed: np.ndarray, clause_ids: np.ndarray, keep_vars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Literals over 0-based ids in ``keep_vars`` → 1-based local literals and a clause CSR.

    ``clause_ids`` must be sorted (edges grouped by clause).
    """
    remap = np.full(int(np.abs(signed).max()) + 1, -1, dtype=np.int64)
    remap[keep_vars + 1] = np.arange(1, len(keep_vars) + 1)
    new = remap[np.abs(signed)] * np.sign(signed)
    starts = np.flatnonzero(np.r_[True, clause_ids[1:] != clause_ids[:-1]])
    ptr = np.r_[starts, len(clause_ids)].astype(np.int64)
    return new.astype(np.int64), ptr


def exact_log_count(
    num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, log_weights: np.ndarray | None = None
) -> float:
    """ln of the (weighted) model count by vectorised enumeration of all 2^num_vars assignments.

    Unweighted: bit-parallel truth tables (:func:`_count_bitsliced`), 64 assignments per machine word.
    Weighted: assignments in chunks, with per-assignment log weights (:func:`_log_count_weighted`).
    Returns −inf when there is no model. Intended for num_vars ≤ ~24.
    """
    if num_vars > 30:
        raise ValueError("exact enumeration is limited to 30 variables")
    if log_weights is None:
        count = _count_bitsliced(num_vars, lits, clause_ptr)
        return math.log(count) if count else -math.inf
    return _log_count_weighted(num_vars, lits, clause_ptr, log_weights)


#: bit i of word w of a variable's truth table is x(assignment 64·w + i); for variables 0..5 the
#: pattern repeats inside every word.
_LOW_VAR_WORDS = np.array(
    [sum(1 << a for a in range(64) if (a >> i) & 1) for i in range(6)], dtype=np.uint64
)
#: clauses combined per vectorised block (bounds memory to block × literals × words)
_CLAUSE_BLOCK = 64


def _count_bitsliced(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray) -> int:
    """Number of models: AND over clauses of (OR over literals of the literal's truth table)."""
    words = max(1, (1 << num_vars) // 64)
    w = np.arange(words, dtype=np.uint64)
    tables = np.empty((num_vars, words), dtype=np.uint64)
    for i in range(num_vars):
        if i < 6:
            tables[i] = _LOW_VAR_WORDS[i]
        else:
            tables[i] = np.where((w >> np.uint64(i - 6)) & np.uint64(1), ~np.uint64(0), np.uint64(0))
    acc = np.full(words, ~np.uint64(0), dtype=np.uint64)
    starts = clause_ptr[:-1]
    for b in range(0, len(starts), _CLAUSE_BLOCK):
        e0, e1 = int(clause_ptr[b]), int(clause_ptr[min(b + _CLAUSE_BLOCK, len(starts))])
        block = lits[e0:e1]
        lit_tables = tables[np.abs(block) - 1]
        lit_tables[block < 0] = ~lit_tables[block < 0]
        clause_tables = np.bitwise_or.reduceat(lit_tables, starts[b : b + _CLAUSE_BLOCK] - e0, axis=0)
        acc &= np.bitwise_and.reduce(clause_tables, axis=0)
    if num_vars < 6:
        acc &= np.uint64((1 << (1 << num_vars)) - 1)
    return int(np.bitwise_count(acc).sum())


def _log_count_weighted(
    num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, log_weights: np.ndarray
) -> float:
    """Weighted count: each clause is a pair of bit masks (positive, negative variables); assignment
    a (bit i = x_{i+1}) falsifies it iff ``a & pos == 0 and ~a & neg == 0``. Chunks of
    :data:`ENUM_CHUNK` assignments bound memory."""
    nc = len(clause_ptr) - 1
    clause_of_edge = np.repeat(np.arange(nc), np.diff(clause_ptr))
    bits = np.left_shift(np.int64(1), np.abs(lits) - 1)
    pos = np.zeros(nc, dtype=np.int64)
    neg = np.zeros(nc, dtype=np.int64)
    np.bitwise_or.at(pos, clause_of_edge[lits > 0], bits[lits > 0])
    np.bitwise_or.at(neg, clause_of_edge[lits < 0], bits[lits < 0])
    total = 1 << num_vars
    shifts = np.arange(num_vars, dtype=np.int64)
    log_terms: list[float] = []
    for start in range(0, total, ENUM_CHUNK):
        a = np.arange(start, min(total, start + ENUM_CHUNK), dtype=np.int64)
        falsified = ((a[:, None] & pos[None, :]) == 0) & ((~a[:, None] & neg[None, :]) == 0)
        models = a[~falsified.any(axis=1)]
        if len(models):
            x = (models[:, None] >> shifts[None, :]) & 1
            lw = np.where(x == 1, log_weights[:, 1][None, :], log_weights[:, 0][None, :]).sum(axis=1)
            log_terms.append(float(np.logaddexp.reduce(lw)))
    return float(np.logaddexp.reduce(log_terms)) if log_terms else -math.inf
