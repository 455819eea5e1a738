"""Exactly-one groups: found exactly where every pair of a long clause's literals is excluded by a
binary clause (against a plain Python reference on random formulas), with polarity, first group kept."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bpcount import onehot
from bpcount.onehot import exactly_one_groups


def _csr(clauses: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    lits = np.array([x for c in clauses for x in c], dtype=np.int64)
    return lits, np.concatenate([[0], np.cumsum([len(c) for c in clauses])]).astype(np.int64)


def one_hot(lits: list[int]) -> list[list[int]]:
    """Exactly one of ``lits``: the clause and every pairwise exclusion."""
    return [list(lits)] + [[-a, -b] for a, b in itertools.combinations(lits, 2)]


def reference(clauses: list[list[int]], max_size: int = 64) -> list[int]:
    """Indices of the clauses (3 ≤ size ≤ max_size) whose every pair has its exclusion clause."""
    binary = {frozenset(c) for c in clauses if len(c) == 2}
    return [i for i, c in enumerate(clauses) if 3 <= len(c) <= max_size
            and all(frozenset((-a, -b)) in binary for a, b in itertools.combinations(c, 2))]


def test_groups_with_polarity_and_a_near_miss():
    """(1 ∨ 2 ∨ 3) and (4 ∨ ¬5 ∨ 6) are groups; (1 ∨ 4 ∨ 7) lacks two exclusions; 7 is in none."""
    clauses = one_hot([1, 2, 3]) + one_hot([4, -5, 6]) + [[1, 4, 7], [-1, -4]]
    g = exactly_one_groups(7, *_csr(clauses))
    assert g.num_groups == 2 and g.any
    assert g.group_of_var.tolist() == [-1, 0, 0, 0, 1, 1, 1, -1]
    assert g.literal_of_var.tolist() == [0, 1, 2, 3, 4, -5, 6, 0]


def test_no_groups_without_binary_or_long_clauses():
    assert not exactly_one_groups(3, *_csr([[1, 2, 3], [-1, 2, 3]])).any
    assert not exactly_one_groups(3, *_csr([[1, 2], [-1, -2], [2, 3]])).any


@pytest.mark.parametrize("max_pairs", [onehot.MAX_PAIRS, 7])
def test_matches_the_reference_on_random_formulas(monkeypatch, max_pairs):
    """Planted groups (random polarity, sizes 3–6, some exclusions dropped) among random clauses:
    the groups found are the reference's, each variable with its first group and literal, whether
    the clauses' pairs are looked up at once or a few clauses at a time."""
    monkeypatch.setattr(onehot, "MAX_PAIRS", max_pairs)
    rng = np.random.default_rng(5)
    found = 0
    for _ in range(200):
        n = int(rng.integers(6, 14))
        clauses: list[list[int]] = []
        for _ in range(int(rng.integers(0, 3))):
            size = int(rng.integers(3, min(6, n) + 1))
            group = [int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, size, replace=False) + 1]
            planted = one_hot(group)
            keep = rng.random(len(planted)) > 0.1  # sometimes a pair is left unexcluded
            keep[0] = True
            clauses += [c for c, k in zip(planted, keep) if k]
        for _ in range(int(rng.integers(1, 2 * n))):
            k = int(rng.integers(2, 5))
            clauses.append([int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, k, replace=False) + 1])
        order = rng.permutation(len(clauses))
        clauses = [clauses[i] for i in order]
        want = reference(clauses, max_size=5)
        g = exactly_one_groups(n, *_csr(clauses), max_size=5)
        assert g.num_groups == len(want)
        expect_group = [-1] * (n + 1)
        expect_lit = [0] * (n + 1)
        for gid, ci in enumerate(want):
            for lit in clauses[ci]:
                if expect_group[abs(lit)] < 0:
                    expect_group[abs(lit)], expect_lit[abs(lit)] = gid, lit
        assert g.group_of_var.tolist() == expect_group
        assert g.literal_of_var.tolist() == expect_lit
        found += len(want)
    assert found > 50
