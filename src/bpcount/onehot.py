"""Exactly-one groups of a CNF: a clause (l_1 ∨ … ∨ l_k), k ≥ 3, with a binary clause (¬l_i ∨ ¬l_j)
for every pair of its literals, so that exactly one of them is true in every model.

Such groups are how CNF encodes a variable with k values (one-hot: a colour, a position, a
machine), and they are common in scheduling, planning, colouring and permutation formulas. The
search probes (:mod:`bpcount.probe`) decide a group at once, picking which of its literals is true,
instead of deciding its variables one at a time. A probe that decides the group's variables one by
one reaches its j-th literal with probability 2^−j (every "no" a coin flip), so the probe's weights
range from 2 to 2^k, whereas all k values often hold similar shares of the models (by symmetry, in
a permutation). Found here in numpy on a residual's flat arrays, once per residual.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpcount.simplify import index_ranges

#: Longest clause examined as a group (its k(k − 1)/2 pairs are looked up).
MAX_GROUP_SIZE = 64


@dataclass(frozen=True)
class OneHotGroups:
    """Exactly-one groups of a formula over variables 1..num_vars.

    ``group_of_var`` (num_vars + 1,) int64: the group a variable's literal belongs to, −1 for none
    (index 0 unused; a variable in several groups keeps the first). ``literal_of_var`` (num_vars + 1,)
    int64: that literal (signed, ±var), 0 for none. ``num_groups``: how many groups were found
    (including those whose every variable kept another group).
    """

    group_of_var: np.ndarray
    literal_of_var: np.ndarray
    num_groups: int

    @property
    def any(self) -> bool:
        return self.num_groups > 0


def exactly_one_groups(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray,
                       max_size: int = MAX_GROUP_SIZE) -> OneHotGroups:
    """The exactly-one groups of a CNF (module docstring).

    Args:
        num_vars: variables 1..num_vars; ``lits`` (E,) signed literals; ``clause_ptr`` (C+1,) CSR
            clause offsets (no duplicate literals within a clause: a simplifier residual).
        max_size: longest clause examined.

    Returns:
        :class:`OneHotGroups`, groups numbered in clause order.
    """
    lits = np.asarray(lits, dtype=np.int64)
    clause_ptr = np.asarray(clause_ptr, dtype=np.int64)
    size = np.diff(clause_ptr)
    group_of_var = np.full(num_vars + 1, -1, dtype=np.int64)
    literal_of_var = np.zeros(num_vars + 1, dtype=np.int64)
    binary = np.flatnonzero(size == 2)
    cand = np.flatnonzero((size >= 3) & (size <= max_size))
    if not len(binary) or not len(cand):
        return OneHotGroups(group_of_var, literal_of_var, 0)
    stride = 2 * num_vars + 1

    def key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Order-free key of the literal pair (a, b)."""
        return (np.minimum(a, b) + num_vars) * stride + (np.maximum(a, b) + num_vars)

    # (¬p ∨ ¬q) excludes p ∧ q: key each binary clause by the pair it excludes
    excluded = np.unique(key(-lits[clause_ptr[binary]], -lits[clause_ptr[binary] + 1]))
    # every pair (i < j) of positions within each candidate clause, without a loop over clauses
    edge = index_ranges(clause_ptr[cand], size[cand])
    clause_of_edge = np.repeat(np.arange(len(cand)), size[cand])
    later = clause_ptr[cand][clause_of_edge] + size[cand][clause_of_edge] - edge - 1  # positions after
    first = np.repeat(edge, later)
    second = first + 1 + (np.arange(int(later.sum())) - np.repeat(np.cumsum(later) - later, later))
    found = np.isin(key(lits[first], lits[second]), excluded)
    # a clause is a group when none of its pairs is missing
    missing = np.bincount(np.repeat(clause_of_edge, later)[~found], minlength=len(cand))
    groups = cand[missing == 0]
    if not len(groups):
        return OneHotGroups(group_of_var, literal_of_var, 0)
    g_edge = index_ranges(clause_ptr[groups], size[groups])
    g_id = np.repeat(np.arange(len(groups)), size[groups])
    var = np.abs(lits[g_edge])
    first_var, at = np.unique(var, return_index=True)  # each variable's first occurrence: its first group
    group_of_var[first_var] = g_id[at]
    literal_of_var[first_var] = lits[g_edge][at]
    return OneHotGroups(group_of_var, literal_of_var, len(groups))


__all__ = ["MAX_GROUP_SIZE", "OneHotGroups", "exactly_one_groups"]
