"""Turn a :class:`~bpcount.cnf.Formula` into what a peer counter must see to count the same number.

Every counter answers one question: the **unprojected** number of models of all clauses present, over
all ``num_vars`` declared variables (bench/README.md). Peers get this wrong in different ways
(peers.md §3): pyapproxmc drops variables that occur in no clause or only in tautologies, pyganak
counts undeclared free variables only after ``new_vars(n)``, and external binaries differ in how much
they trust the header.

Measured here (pyapproxmc 4.4.0, tests/compare/test_counters.py): pyapproxmc drops **every variable
that its own simplification frees**, not only those in no clause: ``(x3)(x2 ∨ ¬x4 ∨ x3)`` (clause
satisfied by a unit) or ``(x3)(x2 ∨ ¬x4)(¬x1 ∨ ¬x4 ∨ x2)`` (x1 only in a subsumed clause) lose a
factor 2 per such variable, even with an explicit projection set. Therefore:

* :func:`counting_clauses` removes tautologies and duplicate literals, runs unit propagation to a
  fixpoint (assigned variables contribute a factor 1), renumbers the variables that still occur to
  ``1..k`` and reports the remaining free variables (ln 2 each, added back by the caller):
  #F = #F_residual · 2^free;
* :func:`anchor_clauses` ties every remaining variable to one fresh variable z with clauses
  (z ∨ ℓ_v), where ℓ_v is v's literal in a model M of the residual. With z = 1 every model of F
  counts; z = 0 forces x = M, one more model. No simplification removes (z ∨ ℓ_v) unless ℓ_v is
  implied, in which case v is fixed and worth a factor 1, so nothing is lost: the counter returns
  #F + 1 (or exactly 1 when M is the only model and z itself is freed), see :func:`ln_unanchor`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bpcount.cnf import Formula

LN2 = math.log(2.0)


@dataclass(frozen=True)
class CountingClauses:
    """Clauses over compact variables ``1..num_used`` with the same count up to ``2**num_free``.

    Attributes:
        clauses: non-tautological clauses, duplicate literals removed, variables renumbered.
        num_used: k, the variables occurring in ``clauses``.
        num_free: n - k, declared variables occurring in no clause or only in tautologies.
        has_empty_clause: an empty clause is present or unit propagation found a conflict (count 0;
            ``clauses`` is then empty and meaningless).
    """

    clauses: list[list[int]]
    num_used: int
    num_free: int
    has_empty_clause: bool

    @property
    def ln_free(self) -> float:
        return self.num_free * LN2

    def to_dimacs(self) -> str:
        lines = [f"p cnf {self.num_used} {len(self.clauses)}"]
        lines += [" ".join(map(str, c)) + " 0" for c in self.clauses]
        return "\n".join(lines) + "\n"


def clean_clauses(formula: Formula) -> tuple[list[list[int]], bool]:
    """Clauses without tautologies and duplicate literals (order kept); and whether one is empty."""
    out: list[list[int]] = []
    empty = False
    for clause in formula.clauses():
        seen: dict[int, None] = dict.fromkeys(clause)
        if any(-lit in seen for lit in seen):
            continue  # tautology: satisfied by every assignment
        if not seen:
            empty = True
        out.append(list(seen))
    return out, empty


def unit_propagate(clauses: list[list[int]]) -> tuple[list[list[int]], set[int], bool]:
    """Unit propagation to a fixpoint on clean clauses (no tautologies or duplicate literals).

    Returns (residual clauses: unsatisfied ones without their false literals, the set of true
    literals, conflict). Counter-based, linear in the formula size times a small constant.
    """
    occ: dict[int, list[int]] = {}
    for ci, c in enumerate(clauses):
        for lit in c:
            occ.setdefault(lit, []).append(ci)
    remaining = [len(c) for c in clauses]
    satisfied = [False] * len(clauses)
    true: set[int] = set()
    queue = [c[0] for c in clauses if len(c) == 1]
    if any(len(c) == 0 for c in clauses):
        return [], true, True
    while queue:
        lit = queue.pop()
        if lit in true:
            continue
        if -lit in true:
            return [], true, True
        true.add(lit)
        for ci in occ.get(lit, ()):
            satisfied[ci] = True
        for ci in occ.get(-lit, ()):
            if satisfied[ci]:
                continue
            remaining[ci] -= 1
            if remaining[ci] == 0:
                return [], true, True
            if remaining[ci] == 1:
                for other in clauses[ci]:
                    if -other not in true:
                        queue.append(other)
                        break
    residual = [[lit for lit in c if -lit not in true] for ci, c in enumerate(clauses) if not satisfied[ci]]
    return residual, true, False


def counting_clauses(formula: Formula) -> CountingClauses:
    """Compact, cleaned, unit-propagated clauses of ``formula`` (see the module docstring)."""
    clauses, empty = clean_clauses(formula)
    if empty:
        return CountingClauses([], 0, 0, True)
    residual, true, conflict = unit_propagate(clauses)
    if conflict:
        return CountingClauses([], 0, 0, True)
    used = sorted({abs(lit) for c in residual for lit in c})
    new_of_old = {v: i + 1 for i, v in enumerate(used)}
    compact = [[new_of_old[abs(lit)] * (1 if lit > 0 else -1) for lit in c] for c in residual]
    return CountingClauses(compact, len(used), formula.num_vars - len(used) - len(true), False)


def ln_of_int(count: int) -> float:
    """ln of a non-negative Python int of any size (``math.log`` handles big ints; 0 -> -inf)."""
    if count < 0:
        raise ValueError(f"negative model count {count}")
    return -math.inf if count == 0 else math.log(count)


def ln_cells_hashes(cells: int, hashes: int) -> float:
    """ln(cells * 2**hashes) without forming the product."""
    return -math.inf if cells == 0 else math.log(cells) + hashes * LN2


def anchor_clauses(cc: CountingClauses, model: list[int]) -> list[list[int]]:
    """Clauses (z ∨ ℓ_v) for v = 1..k with z = k + 1 and ℓ_v = v's literal in ``model`` (a model of
    ``cc.clauses``); see the module docstring."""
    z = cc.num_used + 1
    return [[z, model[v - 1] if model[v - 1] in (v, -v) else v] for v in range(1, cc.num_used + 1)]


def ln_unanchor(ln_anchored: float) -> float:
    """ln #F from ln(#F + 1) as counted on the anchored formula (a count of 1 means #F = 1)."""
    if ln_anchored <= 1e-12:
        return 0.0
    return ln_anchored + math.log1p(-math.exp(-ln_anchored))


def first_model(clauses: list[list[int]]) -> list[int] | None:
    """A model (python-sat CaDiCaL) as a list of literals indexed by variable − 1, or None if UNSAT."""
    from pysat.solvers import Solver

    with Solver(name="cadical153", bootstrap_with=clauses) as s:
        if not s.solve():
            return None
        return s.get_model()
