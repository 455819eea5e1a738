"""Gate factor graphs: Tseitin gate definitions merged into single factors.

A Tseitin AND gate o ↔ l_1 ∧ … ∧ l_k is k + 1 clauses that share variables pairwise, so the
clause-level factor graph has short loops *inside every gate*, and the Bethe ln Z is biased on every
gate even when the circuit itself is a tree (an ad-hoc check: ≈ −0.17 nats per AND gate on random
tree circuits, ≈ −0.35 per gate on DAGs; tests/test_gatebp.py asserts the bias is there). Merging each gate's clauses into one factor
removes those loops: BP on the merged graph is exact on tree circuits, and the remaining loops are
the circuit's own reconvergent fan-out.

Factor kinds (``factor_kind``):

* :data:`CLAUSE`: a clause, the OR of its literals (every clause no gate claimed).
* :data:`AND`: output literal o and input literals l_i with o = l_1 ∧ … ∧ l_k. Found as a clause
  (o ∨ m_1 ∨ … ∨ m_k), 1 ≤ k < :data:`MAX_GATE_WIDTH`, with every binary clause (¬o ∨ ¬m_i) present;
  the inputs are l_i = ¬m_i. OR gates are the same pattern under polarity (x ↔ OR(m) is
  ¬x ↔ AND(¬m)).
* :data:`XOR`: three literals whose values have odd parity. Found as the four ternary clauses over
  one variable triple that forbid every assignment of one parity.

Every clause belongs to at most one factor, and each gate factor is exactly the conjunction of the
clauses it replaces, so the product of factors *is* the formula (counts are unchanged). Where
candidate gates overlap (a clause fits two definitions), a greedy choice in vectorised rounds keeps
XOR triples before AND gates before tables (bigger first), ordered within a class by a hash of
variable degrees; candidates that tie are left out. The choice, and so every BP value on the
result, is invariant to literal order, clause order, variable renaming and polarity flips.

Edges are grouped by factor (CSR ``factor_ptr``); an AND factor's output edge is flagged in
``is_output``. Literal polarity: ``neg_of_edge`` (the factor's literal is ¬x).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bpcount.graph import FactorGraphBatch, concat_ranges

#: Factor kinds.
CLAUSE, AND, XOR, TABLE = 0, 1, 2, 3
#: Most variables of a TABLE factor (its 0/1 table has 2^k entries, enumerated in each update).
MAX_TABLE_VARS = 4
#: Ternary clauses sharing one variable pair are paired into 4-variable table candidates only when
#: at most this many distinct third variables share the pair; then every two of them are (bounds the
#: candidate count; larger groups make none, so the choice never depends on clause order).
MAX_PAIR_GROUP = 6
#: Longest clause examined as the long clause of an AND/OR gate (the check costs Σ k² per clause).
MAX_GATE_WIDTH = 16
#: Rounds of the greedy disjoint choice among overlapping candidate gates (see :func:`_select`).
MAX_SELECT_ROUNDS = 64
#: Structural hash (:func:`_structural_hash`): multiplier and modulus of the degree mixing, and
#: the priority stride that puts candidate classes (XOR before AND; bigger tables first) apart.
HASH_MULTIPLIER = 0x9E3779B1
HASH_MODULUS = 2**31 - 1
PRIORITY_STRIDE = 2**32
#: Within a class, candidates with fewer live conflicts go first (counted up to MAX_CONFLICTS).
MAX_CONFLICTS = 2**20
CLASS_STRIDE = PRIORITY_STRIDE * 2**21
HASH_ROUNDS = 1
#: Multiplier of the row hash of :func:`_row_ids` (odd, < 2^61; int64 arithmetic wraps).
HASH_ROW_MULTIPLIER = 0x1F3D5B79A3C4E5F1
#: Sign patterns of a ternary clause (3 bits).
_PATTERNS = 8


@dataclass(frozen=True)
class TableGroup:
    """TABLE factors over k variables: ``factor`` (T,) int64, ``edges`` (T, k) int64 (the factor's
    edges in order; table edges are positive literals), ``allowed`` (T, 2^k) bool: which assignments
    (bit p = value of the p-th edge's variable) satisfy all the factor's clauses; ``bits`` the
    assignments' bit matrix in the graph's float dtype (built once, used in every update)."""

    k: int
    factor: torch.Tensor
    edges: torch.Tensor
    allowed: torch.Tensor
    bits: torch.Tensor  # (k, 2^k) float: bits[p, c] = value of the p-th variable in assignment c


@dataclass(frozen=True)
class GateGraph:
    """B formulas as one disjoint variable–factor graph (V variables, F factors, E edges).

    * ``var_of_edge`` (E,) int64, ``factor_of_edge`` (E,) int64 (edges grouped by factor),
      ``neg_of_edge`` (E,) bool, ``is_output`` (E,) bool (AND factors' output literal).
    * ``lit_sign`` (E,) float: +1 for a positive literal, −1 for a negative one (literal-frame
      log-odds = lit_sign · variable log-odds).
    * ``factor_kind`` (F,) int64 in {CLAUSE, AND, XOR}; ``factor_ptr`` (F+1,) int64 CSR offsets.
    * ``var_degree`` (V,) float: factors per variable; ``log_phi`` (V, 2) float unary log weights.
    * ``graph_of_var`` (V,), ``graph_of_factor`` (F,), ``graph_of_edge`` (E,) int64.
    * ``ln_offset`` (B,) float64.
    * ``clause_edge``, ``and_in_edge``, ``and_out_edge``, ``xor_edge``: int64 edge ids of each kind
      (an update computes each kind on its own edges only).
    * ``tables``: the TABLE factors, one :class:`TableGroup` per variable count k.
    * ``num_and``, ``num_xor``, ``num_table``: merged factors (Python ints, for reports).
    """

    var_of_edge: torch.Tensor
    factor_of_edge: torch.Tensor
    neg_of_edge: torch.Tensor
    is_output: torch.Tensor
    lit_sign: torch.Tensor
    factor_kind: torch.Tensor
    factor_ptr: torch.Tensor
    var_degree: torch.Tensor
    log_phi: torch.Tensor
    graph_of_var: torch.Tensor
    graph_of_factor: torch.Tensor
    graph_of_edge: torch.Tensor
    ln_offset: torch.Tensor
    num_vars: int
    num_factors: int
    num_edges: int
    num_graphs: int
    clause_edge: torch.Tensor
    and_in_edge: torch.Tensor
    and_out_edge: torch.Tensor
    xor_edge: torch.Tensor
    tables: tuple[TableGroup, ...]
    num_and: int
    num_xor: int
    num_table: int

    @property
    def device(self) -> torch.device:
        return self.var_of_edge.device

    @property
    def dtype(self) -> torch.dtype:
        return self.log_phi.dtype


def _literal(graph: FactorGraphBatch, edges: torch.Tensor) -> torch.Tensor:
    """Literal id 2·var + (1 if negative) of each edge; the complement is id ^ 1."""
    return 2 * graph.var_of_edge[edges] + graph.fval_of_edge[edges].to(torch.int64)


def _pair_key(p: torch.Tensor, q: torch.Tensor, num_literals: int) -> torch.Tensor:
    return torch.minimum(p, q) * num_literals + torch.maximum(p, q)


@dataclass(frozen=True)
class GateCandidates:
    """Candidate gates as (candidate, clause) membership pairs plus per-candidate data."""

    member_cand: torch.Tensor  # (M,) candidate id of each membership
    member_clause: torch.Tensor  # (M,) clause id
    num_xor: int  # candidates 0..num_xor-1 are XOR groups
    xor_clause: torch.Tensor  # (X,) one clause of each XOR group (its variables are the triple's)
    xor_parity: torch.Tensor  # (X,) int64: parity of x over the triple that the clauses allow
    and_edge: torch.Tensor  # (A,) output edge (in the long clause) of each AND candidate


def gate_candidates(g: FactorGraphBatch) -> GateCandidates:
    """Every XOR triple and AND/OR gate definition in ``g`` (overlapping; see the module docstring)."""
    dev = g.var_of_edge.device
    n_lit = 2 * g.num_vars
    size = g.clause_size.to(torch.int64)
    start = g.clause_ptr[:-1]
    cand_parts, clause_parts = [], []

    # XOR groups: ternary clauses grouped by variable set; a group is complete for parity p when
    # all four sign patterns of parity p occur (they forbid every x of that parity)
    xor_clause = torch.zeros(0, dtype=torch.int64, device=dev)
    xor_parity = torch.zeros(0, dtype=torch.int64, device=dev)
    tri = torch.nonzero(size == 3).squeeze(-1)
    if len(tri):
        edges = start[tri].unsqueeze(-1) + torch.arange(3, device=dev)
        vars_, order = g.var_of_edge[edges].sort(dim=-1)
        fv = g.fval_of_edge[edges].to(torch.int64).gather(-1, order)
        group = _row_ids(vars_)
        pattern = fv[:, 0] * 4 + fv[:, 1] * 2 + fv[:, 2]
        parity = fv.sum(-1) % 2
        cell = group * _PATTERNS + pattern
        n_groups = int(group.max()) + 1
        seen = torch.zeros(n_groups * _PATTERNS, dtype=torch.int64, device=dev)
        seen[cell] = 1  # duplicates collapse
        cells = torch.arange(n_groups * _PATTERNS, device=dev)
        cell_par = ((cells % _PATTERNS).unsqueeze(-1) >> torch.arange(3, device=dev)).sum(-1) % 2
        per_parity = torch.zeros(n_groups * 2, dtype=torch.int64, device=dev)
        per_parity.index_add_(0, (cells // _PATTERNS) * 2 + cell_par, seen)
        complete = per_parity == 4  # (group, parity) pairs
        key = group * 2 + parity
        in_xor = complete[key]
        # one candidate per complete (group, parity); the clause falsified by x = fv, so the
        # allowed assignments have parity 1 − p
        # hashed group ids can collide: a group whose clauses are not all over one triple is dropped
        same = (vars_ == vars_[_first_of(group, int(group.max()) + 1)[group]]).all(-1)
        bad_group = torch.zeros(int(group.max()) + 1, dtype=torch.bool, device=dev)
        bad_group[group[~same]] = True
        in_xor &= ~bad_group[group]
        cand_key, cand_of_clause = torch.unique(key[in_xor], return_inverse=True)
        xor_members = tri[in_xor]
        xor_clause = tri[_first_of(cand_of_clause, len(cand_key), torch.nonzero(in_xor).squeeze(-1))]
        xor_parity = 1 - (cand_key % 2)
        cand_parts.append(cand_of_clause)
        clause_parts.append(xor_members)
    num_xor = len(xor_clause)

    # AND gates: an edge e of a clause (k ≥ 2) is an output when (¬ℓ_e ∨ ¬ℓ_f) is a binary clause
    # for every other edge f of the clause
    and_edge = torch.zeros(0, dtype=torch.int64, device=dev)
    bin_clause = torch.nonzero(size == 2).squeeze(-1)
    eligible = (size >= 2) & (size <= MAX_GATE_WIDTH)
    cand = torch.nonzero(eligible[g.clause_of_edge]).squeeze(-1)
    if len(cand) and len(bin_clause):
        bin_key, bin_order = _pair_key(_literal(g, start[bin_clause]), _literal(g, start[bin_clause] + 1),
                                       n_lit).sort()
        bin_clause = bin_clause[bin_order]
        f, which = concat_ranges(g.clause_ptr[g.clause_of_edge[cand]], size[g.clause_of_edge[cand]])
        e_rep = cand[which]
        keep = f != e_rep
        e_rep, f = e_rep[keep], f[keep]
        key = _pair_key(_literal(g, e_rep) ^ 1, _literal(g, f) ^ 1, n_lit)
        pos = torch.searchsorted(bin_key, key).clamp(max=len(bin_key) - 1)
        found = bin_key[pos] == key
        hits = torch.zeros(g.num_edges, dtype=torch.int64, device=dev).index_add_(0, e_rep, found.to(torch.int64))
        is_out = eligible[g.clause_of_edge] & (hits == size[g.clause_of_edge] - 1)
        and_edge = torch.nonzero(is_out).squeeze(-1)
        cand_id = torch.full((g.num_edges,), -1, dtype=torch.int64, device=dev)
        cand_id[and_edge] = num_xor + torch.arange(len(and_edge), device=dev)
        use = found & is_out[e_rep]
        cand_parts += [cand_id[and_edge], cand_id[e_rep[use]]]
        clause_parts += [g.clause_of_edge[and_edge], bin_clause[pos[use]]]
    empty = torch.zeros(0, dtype=torch.int64, device=dev)
    return GateCandidates(
        member_cand=torch.cat(cand_parts) if cand_parts else empty,
        member_clause=torch.cat(clause_parts) if clause_parts else empty,
        num_xor=num_xor, xor_clause=xor_clause, xor_parity=xor_parity, and_edge=and_edge)


def _structural_hash(g: FactorGraphBatch, member_cand: torch.Tensor, member_clause: torch.Tensor,
                     n_cand: int) -> torch.Tensor:
    """(n_cand,) int64 in [0, HASH_MODULUS): a hash of each candidate's clauses from
    :data:`HASH_ROUNDS` rounds of colour refinement started from variable degrees (no ids, no signs),
    so it does not change under renumbering, literal order or polarity flips."""
    var_hash = ((g.var_degree.to(torch.int64) + 1) * HASH_MULTIPLIER) % HASH_MODULUS
    for _ in range(HASH_ROUNDS):  # colour refinement: variables ↔ clauses
        clause_hash = torch.zeros(g.num_clauses, dtype=torch.int64, device=g.device).index_add_(
            0, g.clause_of_edge, var_hash[g.var_of_edge])
        clause_hash = ((clause_hash % HASH_MODULUS) * HASH_MULTIPLIER + g.clause_size.to(torch.int64)) % HASH_MODULUS
        mixed = (clause_hash * HASH_MULTIPLIER + 1) % HASH_MODULUS
        var_hash = torch.zeros(g.num_vars, dtype=torch.int64, device=g.device).index_add_(
            0, g.var_of_edge, mixed[g.clause_of_edge])
        var_hash = ((var_hash % HASH_MODULUS) * HASH_MULTIPLIER + 7) % HASH_MODULUS
    out = torch.zeros(n_cand, dtype=torch.int64, device=g.device).index_add_(0, member_cand, clause_hash[member_clause])
    return out % HASH_MODULUS


def _select(member_cand: torch.Tensor, member_clause: torch.Tensor, n_cand: int, n_clauses: int,
            priority: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Disjoint candidates, greedily by ``priority`` (n_cand,) int64, lower first, in rounds.

    Each round, a candidate's rank is (its class ``priority // PRIORITY_STRIDE``, its number of
    conflicts with other live candidates, its hash ``priority % PRIORITY_STRIDE``). A live candidate
    is kept when, on every one of its clauses, it is the *unique* live candidate of lowest rank; live candidates sharing a clause with a kept one die. Rounds repeat while some
    candidate is kept (at most :data:`MAX_SELECT_ROUNDS`). Tied candidates are never kept, so when
    ``priority`` is a structural invariant the choice does not depend on numbering or order.
    Returns (kept (n_cand,) bool, owner (n_clauses,) int64: the kept candidate of each clause,
    ``n_cand`` for none).
    """
    dev = member_cand.device
    kept = torch.zeros(n_cand, dtype=torch.bool, device=dev)
    owner = torch.full((n_clauses,), n_cand, dtype=torch.int64, device=dev)
    if n_cand == 0:
        return kept, owner
    live = torch.ones(n_cand, dtype=torch.bool, device=dev)
    top = torch.iinfo(torch.int64).max
    for _ in range(MAX_SELECT_ROUNDS):
        alive = live[member_cand]
        # fewest conflicts first within a priority class (min-degree greedy for independent sets)
        n_live = torch.zeros(n_clauses, dtype=torch.int64, device=dev).index_add_(0, member_clause,
                                                                                   alive.to(torch.int64))
        conflicts = torch.zeros(n_cand, dtype=torch.int64, device=dev).index_add_(
            0, member_cand, torch.where(alive, n_live[member_clause] - 1, 0)).clamp(max=MAX_CONFLICTS)
        cand_prio = (priority // PRIORITY_STRIDE) * CLASS_STRIDE + conflicts * PRIORITY_STRIDE \
            + priority % PRIORITY_STRIDE
        prio = torch.where(alive, cand_prio[member_cand], torch.full_like(member_cand, top))
        best = torch.full((n_clauses,), top, dtype=torch.int64, device=dev)
        best = best.scatter_reduce(0, member_clause, prio, reduce="amin")
        at_best = alive & (prio == best[member_clause])
        n_best = torch.zeros(n_clauses, dtype=torch.int64, device=dev).index_add_(0, member_clause,
                                                                                   at_best.to(torch.int64))
        ok = at_best & (n_best[member_clause] == 1)
        refused = torch.zeros(n_cand, dtype=torch.bool, device=dev)
        refused[member_cand[~ok]] = True
        won = live & ~refused
        if not bool(won.any()):
            break
        kept |= won
        win_m = won[member_cand]
        owner[member_clause[win_m]] = member_cand[win_m]
        taken = owner[member_clause] != n_cand
        live &= ~won
        live[member_cand[taken]] = False
    return kept, owner


def _tables(g: FactorGraphBatch, free: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clusters of the ``free`` clauses (C,) bool within at most :data:`MAX_TABLE_VARS` variables.

    Candidate variable sets: the variables of each free clause of width 3–4, and the union of two
    free ternary clauses that share a variable pair (multiplexers, majority/carry gates). A
    candidate's members are all free clauses whose variables it contains; candidates with at least
    two members are chosen greedily, most members first (:func:`_select`).

    Returns ``vars`` (T, 4) int64 sorted, padded with ``num_vars``; ``allowed`` (T, 16) bool;
    ``owner`` (C,) int64: the chosen table of each clause, −1 for none.
    """
    dev = g.device
    V, W = g.num_vars, MAX_TABLE_VARS
    size = g.clause_size.to(torch.int64)
    none = (torch.zeros(0, W, dtype=torch.int64, device=dev), torch.zeros(0, 2 ** W, dtype=torch.bool, device=dev),
            torch.full((g.num_clauses,), -1, dtype=torch.int64, device=dev))
    cl = torch.nonzero(free & (size >= 2) & (size <= W)).squeeze(-1)
    if len(cl) < 2:
        return none
    k = size[cl]
    slot = torch.arange(W, device=dev)
    edge = g.clause_ptr[cl].unsqueeze(-1) + slot
    valid = slot < k.unsqueeze(-1)
    cvars = torch.where(valid, g.var_of_edge[edge.clamp(max=g.num_edges - 1)], V).sort(-1).values  # (N, 4)

    # candidate sets
    parts = [cvars[k >= 3]]
    tri = cvars[k == 3][:, :3]
    if len(tri):
        drop = torch.tensor([[1, 2, 0], [0, 2, 1], [0, 1, 2]], device=dev)  # (pair a, pair b, third)
        trip = tri[:, drop].reshape(-1, 3)  # each ternary clause 3×: pair + third variable
        rid = _row_ids(trip)
        trip = trip[_first_of(rid, int(rid.max()) + 1)]  # distinct (pair, third) rows
        key = trip[:, 0] * V + trip[:, 1]
        order = torch.sort(key, stable=True).indices
        key, trip = key[order], trip[order]
        # every two rows of a group of ≤ MAX_PAIR_GROUP rows lie < MAX_PAIR_GROUP apart: all of the
        # group's pairs are made, whatever the order within it (clause order and numbering don't matter)
        group, group_size = torch.unique_consecutive(key, return_inverse=True, return_counts=True)[1:]
        small = group_size[group] <= MAX_PAIR_GROUP
        for d in range(1, MAX_PAIR_GROUP):
            same = (key[d:] == key[:-d]) & small[d:]
            if not bool(same.any()):
                break
            pair = torch.cat([trip[:-d][same][:, :3], trip[d:][same][:, 2:3]], dim=-1)
            parts.append(pair.sort(-1).values)
    allsets = torch.cat(parts)
    if not len(allsets):
        return none
    sid = _row_ids(allsets)
    sets = allsets[_first_of(sid, int(sid.max()) + 1)]  # (S, 4), one row per distinct set

    # members: free clauses whose (padded) variable set is a subset of the candidate's
    ksets = (sets < V).sum(-1)
    subsets = [m for r in (2, 3, 4) for m in _masks(W, r)]  # which positions a subset keeps
    rows, cand = [], []
    for m in subsets:
        ok = ksets > max(m)  # a subset must use real variables only
        sub = sets[ok][:, m]
        sub = torch.cat([sub, torch.full((len(sub), W - len(m)), V, dtype=torch.int64, device=dev)], -1)
        rows.append(sub)
        cand.append(torch.nonzero(ok).squeeze(-1))
    rows, cand = torch.cat(rows), torch.cat(cand)
    inv = _row_ids(torch.cat([cvars, rows]))
    n_keys = int(inv.max()) + 1
    clause_key, row_key = inv[: len(cvars)], inv[len(cvars):]
    # clauses per key (CSR), then (candidate, clause) memberships
    order = clause_key.argsort()
    count = torch.bincount(clause_key, minlength=n_keys)
    start = torch.cumsum(count, 0) - count
    pos, which = concat_ranges(start[row_key], count[row_key])
    m_cand, m_local = cand[which], order[pos]  # m_local: index into cl
    # hashed row ids can collide: keep only memberships whose clause really lies inside the set
    inside = ((cvars[m_local].unsqueeze(-1) == sets[m_cand].unsqueeze(1)).any(-1) | (cvars[m_local] == V)).all(-1)
    m_cand, m_local = m_cand[inside], m_local[inside]
    per_cand = torch.bincount(m_cand, minlength=len(sets))
    good = per_cand >= 2
    n_good = int(good.sum())
    new_of = torch.cumsum(good.to(torch.int64), 0) - 1
    keep_m = good[m_cand]
    m_cand, m_local = new_of[m_cand[keep_m]], m_local[keep_m]
    sets, per_cand = sets[good], per_cand[good]
    # most members first, then the structural hash
    priority = (2 ** (2 * W) - per_cand) * PRIORITY_STRIDE + _structural_hash(g, m_cand, cl[m_local], n_good)
    kept, owner_local = _select(m_cand, m_local, n_good, len(cl), priority)
    sets = sets[kept]
    new_id = torch.cumsum(kept.to(torch.int64), 0) - 1
    has = owner_local < n_good
    owner = torch.full((g.num_clauses,), -1, dtype=torch.int64, device=dev)
    owner[cl[has]] = new_id[owner_local[has]]

    # allowed table: every member clause satisfied
    conf = torch.arange(2 ** W, device=dev)
    bits = ((conf.unsqueeze(-1) >> slot) & 1).to(torch.bool)  # (16, 4)
    mem = torch.nonzero(has).squeeze(-1)  # local clause index, each in exactly one table
    t_of = new_id[owner_local[mem]]
    ce = edge[mem]  # (M, 4) edges (padded slots invalid)
    cval = valid[mem]
    pos = (g.var_of_edge[ce.clamp(max=g.num_edges - 1)].unsqueeze(-1) == sets[t_of].unsqueeze(1)).to(torch.int64).argmax(-1)
    want = ~g.fval_of_edge[ce.clamp(max=g.num_edges - 1)]  # value of x satisfying the literal
    lit_sat = (bits[:, pos] == want.unsqueeze(0)) & cval.unsqueeze(0)  # (16, M, 4)
    sat = lit_sat.any(-1).T  # (M, 16)
    allowed = torch.ones(len(sets), 2 ** W, dtype=torch.int64, device=dev)
    allowed = allowed.scatter_reduce(0, t_of.unsqueeze(-1).expand_as(sat), sat.to(torch.int64), reduce="amin")
    return sets, allowed.to(torch.bool), owner


def _first_of(ids: torch.Tensor, n: int, positions: torch.Tensor | None = None) -> torch.Tensor:
    """(n,) the first position (or ``positions`` entry) at which each id 0..n−1 occurs in ``ids``."""
    pos = torch.arange(len(ids), device=ids.device) if positions is None else positions
    out = torch.full((n,), torch.iinfo(torch.int64).max, dtype=torch.int64, device=ids.device)
    return out.scatter_reduce(0, ids, pos, reduce="amin")


def _row_ids(rows: torch.Tensor) -> torch.Tensor:
    """(N,) int64 ids of the distinct rows of an (N, w) int64 tensor, equal rows equal ids.

    Rows are hashed to one int64 (wrapping polynomial hash) and the hashes deduplicated with a 1-D
    ``torch.unique`` (``unique(dim=0)`` is an order of magnitude slower on 10⁶ rows). Distinct rows
    may collide (probability ~N²/2⁶⁴); callers that cannot tolerate a merge check membership
    afterwards."""
    key = torch.zeros(len(rows), dtype=torch.int64, device=rows.device)
    for j in range(rows.shape[1]):
        key = key * HASH_ROW_MULTIPLIER + rows[:, j] + 1
    return torch.unique(key, return_inverse=True)[1]


def _masks(width: int, r: int) -> list[list[int]]:
    """All r-subsets of range(width), as position lists (sorted)."""
    from itertools import combinations

    return [list(c) for c in combinations(range(width), r)]


def build_gate_graph(graph: FactorGraphBatch) -> GateGraph:
    """Merge the Tseitin gates of a clause batch into gate factors (see the module docstring).

    Runs once per batch, outside message passing (``torch.unique`` synchronises with the host).
    """
    g = graph
    dev = g.device
    cands = gate_candidates(g)
    n_cand = cands.num_xor + len(cands.and_edge)
    is_and = (torch.arange(n_cand, device=dev) >= cands.num_xor).to(torch.int64)
    priority = is_and * PRIORITY_STRIDE + _structural_hash(g, cands.member_cand, cands.member_clause, n_cand)
    kept, owner = _select(cands.member_cand, cands.member_clause, n_cand, g.num_clauses, priority)
    clause_free = owner == n_cand
    t_vars, t_allowed, t_owner = _tables(g, clause_free)
    t_graph = g.graph_of_var[t_vars[:, 0]]
    t_size = (t_vars < g.num_vars).sum(-1)
    clause_free &= t_owner < 0  # the clause stays a CLAUSE factor
    n_t = len(t_vars)

    # XOR factors: the triple's variables, literals positive except the first when the allowed
    # parity of x is even (¬x_1 ⊕ x_2 ⊕ x_3 = 1 ⇔ x_1 ⊕ x_2 ⊕ x_3 = 0)
    xk = kept[: cands.num_xor]
    x_cl = cands.xor_clause[xk]
    x_edges = (g.clause_ptr[x_cl].unsqueeze(-1) + torch.arange(3, device=dev)).reshape(-1)
    x_var = g.var_of_edge[x_edges]
    x_neg = torch.zeros_like(x_edges, dtype=torch.bool).reshape(-1, 3)
    x_neg[:, 0] = cands.xor_parity[xk] == 0
    x_neg = x_neg.reshape(-1)
    n_x = len(x_cl)

    # AND factors: output literal as in the long clause, inputs negated
    a_out = cands.and_edge[kept[cands.num_xor:]]
    a_cl = g.clause_of_edge[a_out]
    a_size = g.clause_size.to(torch.int64)[a_cl]
    a_edges, a_which = concat_ranges(g.clause_ptr[a_cl], a_size)
    a_is_out = a_edges == a_out[a_which]
    a_var = g.var_of_edge[a_edges]
    a_neg = g.fval_of_edge[a_edges] ^ ~a_is_out
    n_a = len(a_out)

    # remaining clauses
    c_cl = torch.nonzero(clause_free).squeeze(-1)
    c_size = g.clause_size.to(torch.int64)[c_cl]
    c_edges, _ = concat_ranges(g.clause_ptr[c_cl], c_size)

    # table factors: their variables in order (positive literals)
    t_var = t_vars[t_vars < g.num_vars]

    # factor order: by formula, then kind (stable); edges follow their factor
    sizes = torch.cat([torch.full((n_x,), 3, dtype=torch.int64, device=dev), a_size, c_size, t_size])
    kinds = torch.cat([torch.full((n_x,), XOR, dtype=torch.int64, device=dev),
                       torch.full((n_a,), AND, dtype=torch.int64, device=dev),
                       torch.full((len(c_cl),), CLAUSE, dtype=torch.int64, device=dev),
                       torch.full((n_t,), TABLE, dtype=torch.int64, device=dev)])
    f_graph = torch.cat([g.graph_of_clause[torch.cat([x_cl, a_cl, c_cl])], t_graph])
    e_var = torch.cat([x_var, a_var, g.var_of_edge[c_edges], t_var])
    e_neg = torch.cat([x_neg, a_neg, g.fval_of_edge[c_edges], torch.zeros_like(t_var, dtype=torch.bool)])
    e_out = torch.cat([torch.zeros(3 * n_x, dtype=torch.bool, device=dev), a_is_out,
                       torch.zeros(len(c_edges) + len(t_var), dtype=torch.bool, device=dev)])
    n_f = len(sizes)
    e_factor_unsorted = torch.repeat_interleave(torch.arange(n_f, device=dev), sizes)
    order = torch.sort(f_graph, stable=True).indices  # new position → old factor
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n_f, device=dev)
    e_factor = rank[e_factor_unsorted]
    e_order = torch.sort(e_factor, stable=True).indices
    sizes, kinds, f_graph = sizes[order], kinds[order], f_graph[order]
    e_var, e_neg, e_out, e_factor = e_var[e_order], e_neg[e_order], e_out[e_order], e_factor[e_order]
    ptr = torch.cat([torch.zeros(1, dtype=torch.int64, device=dev), torch.cumsum(sizes, 0)])
    dt = g.dtype
    degree = torch.zeros(g.num_vars, dtype=dt, device=dev).index_add_(
        0, e_var, torch.ones(len(e_var), dtype=dt, device=dev))
    return GateGraph(
        var_of_edge=e_var, factor_of_edge=e_factor, neg_of_edge=e_neg, is_output=e_out,
        lit_sign=torch.where(e_neg, -1.0, 1.0).to(dt), factor_kind=kinds, factor_ptr=ptr,
        var_degree=degree, log_phi=g.log_phi, graph_of_var=g.graph_of_var, graph_of_factor=f_graph,
        graph_of_edge=g.graph_of_var[e_var], ln_offset=g.ln_offset, num_vars=g.num_vars,
        num_factors=n_f, num_edges=len(e_var), num_graphs=g.num_graphs,
        clause_edge=torch.nonzero(kinds[e_factor] == CLAUSE).squeeze(-1),
        and_in_edge=torch.nonzero((kinds[e_factor] == AND) & ~e_out).squeeze(-1),
        and_out_edge=torch.nonzero(e_out).squeeze(-1),
        xor_edge=torch.nonzero(kinds[e_factor] == XOR).squeeze(-1),
        tables=_table_groups(rank[n_f - n_t + torch.arange(n_t, device=dev)], t_size, t_allowed, ptr, dt),
        num_and=n_a, num_xor=n_x, num_table=n_t)


def _table_groups(factor: torch.Tensor, size: torch.Tensor, allowed: torch.Tensor,
                  ptr: torch.Tensor, dtype: torch.dtype) -> tuple[TableGroup, ...]:
    groups = []
    for k in range(2, MAX_TABLE_VARS + 1):
        sel = torch.nonzero(size == k).squeeze(-1)
        if len(sel):
            f = factor[sel]
            conf = torch.arange(2 ** k, device=f.device)
            bits = ((conf.unsqueeze(-1) >> torch.arange(k, device=f.device)) & 1).to(dtype).T
            groups.append(TableGroup(k=k, factor=f, edges=ptr[f].unsqueeze(-1) + torch.arange(k, device=f.device),
                                     allowed=allowed[sel][:, : 2 ** k], bits=bits))
    return tuple(groups)


__all__ = ["AND", "CLAUSE", "GateCandidates", "GateGraph", "MAX_GATE_WIDTH", "MAX_TABLE_VARS", "TABLE", "TableGroup", "XOR", "build_gate_graph", "gate_candidates"]
