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

#: Most literal pairs looked up at once (memory: a few int64 arrays of this length).
MAX_PAIRS = 1 << 22


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


def _pair_key(a: np.ndarray, b: np.ndarray, num_vars: int) -> np.ndarray:
    """Order-free int64 key of each literal pair (a, b) over variables 1..num_vars."""
    return (np.minimum(a, b) + num_vars) * (2 * num_vars + 1) + (np.maximum(a, b) + num_vars)


def _complete(lits: np.ndarray, clause_ptr: np.ndarray, cand: np.ndarray, excluded: np.ndarray,
              num_vars: int) -> np.ndarray:
    """The clauses among ``cand`` (clause indices) whose every pair of literals has its
    :func:`_pair_key` in ``excluded`` (sorted), without a loop over clauses."""
    size = np.diff(clause_ptr)[cand]
    edge = index_ranges(clause_ptr[cand], size)
    clause_of_edge = np.repeat(np.arange(len(cand)), size)
    later = clause_ptr[cand][clause_of_edge] + size[clause_of_edge] - edge - 1  # positions after the edge
    first = np.repeat(edge, later)  # every pair (i < j) of positions within each clause
    second = first + 1 + (np.arange(int(later.sum())) - np.repeat(np.cumsum(later) - later, later))
    found = np.isin(_pair_key(lits[first], lits[second], num_vars), excluded)
    missing = np.bincount(np.repeat(clause_of_edge, later)[~found], minlength=len(cand))
    return cand[missing == 0]


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
    # (¬p ∨ ¬q) excludes p ∧ q: key each binary clause by the pair it excludes
    p, q = -lits[clause_ptr[binary]], -lits[clause_ptr[binary] + 1]
    excluded = np.unique(_pair_key(p, q, num_vars))
    # a clause of k literals can only be a group if each of them is excluded by k − 1 binary clauses
    # (a cheap filter first: the pairs of every long clause could be many)
    exclusions = np.bincount(np.concatenate([p, q]) + num_vars, minlength=2 * num_vars + 1)
    edge = index_ranges(clause_ptr[cand], size[cand])
    fewest = np.minimum.reduceat(exclusions[lits[edge] + num_vars], np.cumsum(size[cand]) - size[cand])
    cand = cand[fewest >= size[cand] - 1]
    groups = [cand[:0]]
    pairs = np.cumsum(size[cand] * (size[cand] - 1) // 2)
    start = 0
    while start < len(cand):  # chunks of candidates with at most MAX_PAIRS pairs (at least one clause)
        before = int(pairs[start - 1]) if start else 0
        stop = max(start + 1, int(np.searchsorted(pairs, before + MAX_PAIRS, side="right")))
        groups.append(_complete(lits, clause_ptr, cand[start:stop], excluded, num_vars))
        start = stop
    groups = np.concatenate(groups)
    if not len(groups):
        return OneHotGroups(group_of_var, literal_of_var, 0)
    g_edge = index_ranges(clause_ptr[groups], size[groups])
    g_id = np.repeat(np.arange(len(groups)), size[groups])
    var = np.abs(lits[g_edge])
    first_var, at = np.unique(var, return_index=True)  # each variable's first occurrence: its first group
    group_of_var[first_var] = g_id[at]
    literal_of_var[first_var] = lits[g_edge][at]
    return OneHotGroups(group_of_var, literal_of_var, len(groups))


__all__ = ["MAX_GROUP_SIZE", "MAX_PAIRS", "OneHotGroups", "exactly_one_groups"]
