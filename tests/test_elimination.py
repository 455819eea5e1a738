"""Variable elimination: exact against enumeration, brute force and pyganak; width bound honoured."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bpcount.cnf import Formula
from bpcount.elimination import eliminate, elimination_log_count, elimination_order
from bpcount.estimate import CountOptions, count
from bpcount.simplify import exact_log_count, simplify
from tests.conftest import brute_log_count, ganak_log_count


def csr(clauses: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    lits = np.array([x for c in clauses for x in c], dtype=np.int64)
    return lits, np.concatenate([[0], np.cumsum([len(c) for c in clauses])]).astype(np.int64)


def random_clauses(rng: np.random.Generator, n: int, m: int, kmax: int = 4, band: int | None = None,
                   kmin: int = 1) -> list[list[int]]:
    """m clauses of 1..kmax distinct variables; with ``band``, every clause lies in a window of that
    many consecutive variables (a path-like formula of small width however large n is)."""
    out = []
    for _ in range(m):
        k = int(rng.integers(min(kmin, n), min(n, kmax) + 1))
        if band is None:
            vs = rng.choice(n, k, replace=False) + 1
        else:
            lo = int(rng.integers(0, n - band + 1))
            vs = lo + rng.choice(band, min(k, band), replace=False) + 1
        out.append([int(v) * int(rng.choice([-1, 1])) for v in vs])
    return out


def order_width(num_vars: int, clauses: list[list[int]], order: np.ndarray) -> int:
    """Width of an elimination order, the slow way: simulate it on adjacency sets."""
    adj = {v: set() for v in range(num_vars)}
    for c in clauses:
        for a in c:
            for b in c:
                if abs(a) != abs(b):
                    adj[abs(a) - 1].add(abs(b) - 1)
    width = 0
    for v in order.tolist():
        nb = adj.pop(v)
        width = max(width, len(nb))
        for u in nb:
            adj[u] |= nb - {u}
            adj[u].discard(v)
    return width


@pytest.mark.parametrize("weighted", [False, True])
def test_elimination_equals_enumeration_on_random_formulas(weighted):
    rng = np.random.default_rng(11 + weighted)
    unsat = 0
    for _ in range(150):
        n = int(rng.integers(1, 15))
        clauses = random_clauses(rng, n, int(rng.integers(0, 4 * n + 1)))
        lits, ptr = csr(clauses)
        lw = np.log(rng.uniform(0.05, 2.0, (n, 2))) if weighted else None
        want = exact_log_count(n, lits, ptr, lw)
        got = elimination_log_count(n, lits, ptr, lw, max_width=20)
        if want == -math.inf:
            unsat += 1
            assert got == -math.inf
        else:
            assert got == pytest.approx(want, abs=1e-9)
    assert unsat >= 3  # the UNSAT branch was exercised


def test_elimination_equals_python_brute_force_with_free_variables():
    # variables 5 and 6 are in no clause: each doubles the count
    clauses = [[1, -2], [2, 3, -4], [-1, 4], [3, -1]]
    lits, ptr = csr(clauses)
    want = brute_log_count(Formula.from_clauses(clauses, 6))
    assert elimination_log_count(6, lits, ptr) == pytest.approx(want, abs=1e-12)


def test_any_permutation_gives_the_same_count():
    rng = np.random.default_rng(5)
    clauses = random_clauses(rng, 12, 30)
    lits, ptr = csr(clauses)
    values = {round(eliminate(12, lits, ptr, None, rng.permutation(12)), 9) for _ in range(10)}
    assert len(values) == 1 and values.pop() == pytest.approx(exact_log_count(12, lits, ptr), abs=1e-9)


def test_order_is_a_permutation_within_the_width_bound():
    rng = np.random.default_rng(2)
    accepted = 0
    for i in range(60):
        n = int(rng.integers(10, 40))
        band = 6 if i % 2 else None  # path-like and unstructured formulas (fill-in matters for both)
        clauses = random_clauses(rng, n, int(rng.integers(n // 2, 2 * n)), kmax=3, band=band, kmin=2)
        lits, ptr = csr(clauses)
        order = elimination_order(n, lits, ptr, max_width=6)
        if order is None:
            continue
        accepted += 1
        assert sorted(order.tolist()) == list(range(n))
        assert order_width(n, clauses, order) <= 6
    assert accepted >= 15


def test_too_wide_or_too_much_work_gives_none():
    clique = [[a, b] for a in range(1, 13) for b in range(a + 1, 13)]  # K12: width 11 in any order
    lits, ptr = csr(clique)
    assert elimination_order(12, lits, ptr, max_width=10) is None
    assert elimination_order(12, lits, ptr, max_width=11) is not None
    assert elimination_order(12, lits, ptr, max_width=11, max_work=1 << 10) is None
    lits, ptr = csr([list(range(1, 9))])  # one clause of 8 variables needs width 7
    assert elimination_order(8, lits, ptr, max_width=6) is None


def underflow_formula() -> Formula:
    """x1 pulled towards false by its weight and (through z = x4) by ¬x1 ∨ ¬x4, towards true by
    x1 ∨ ¬x2 and x1 ∨ ¬x3: eliminating x2, x3, x4 first leaves four tables on x1 whose product is
    about 1e-400 everywhere, below float64's range, although Z ≈ 2·10^-400 > 0."""
    tiny = 1e-200
    w = np.array([[1.0, tiny], [tiny, 1.0], [tiny, 1.0], [tiny, 1.0]])
    return Formula.from_clauses([[1, -2], [1, -3], [-1, -4]], 4, weights=w)


def test_no_underflow_with_extreme_weights():
    f = underflow_formula()
    lw = np.log(f.weights)
    truth = float(np.logaddexp(0.0, 0.0) + 400 * np.log(1e-1))  # 2·10^-400 up to 1e-200 terms
    assert exact_log_count(4, f.lits, f.clause_ptr, lw) == pytest.approx(truth, abs=1e-9)
    for order in itertools.permutations(range(4)):
        assert eliminate(4, f.lits, f.clause_ptr, lw, np.array(order)) == pytest.approx(truth, abs=1e-9)
    s = simplify(f, exact_max_vars=0)
    assert s.residual is None and s.ln_exact == pytest.approx(truth, abs=1e-9)


def test_long_implication_chain_beyond_float_range():
    # x1 → x2 → ... → xn has n + 1 models; with 3000 free extra variables the count is 2^3000·(n+1)
    n, free = 2000, 3000
    lits, ptr = csr([[-i, i + 1] for i in range(1, n)])
    got = elimination_log_count(n + free, lits, ptr, max_width=2)
    assert got == pytest.approx(math.log(n + 1) + free * math.log(2), rel=1e-12)


def test_banded_formulas_match_pyganak():
    rng = np.random.default_rng(8)
    checked = 0
    for _ in range(12):
        n = int(rng.integers(60, 200))
        clauses = random_clauses(rng, n, int(1.5 * n), kmax=3, band=8, kmin=2)
        lits, ptr = csr(clauses)
        assert elimination_order(n, lits, ptr, max_width=12) is not None
        got = elimination_log_count(n, lits, ptr, max_width=12)
        exact = ganak_log_count(n, clauses)
        assert got == exact if exact == -math.inf else got == pytest.approx(exact, abs=1e-9)
        checked += exact > -math.inf
    assert checked >= 6


def banded_formula(seed: int, n: int = 80, weighted: bool = False) -> Formula:
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.2, 1.0, (n, 2)) if weighted else None
    return Formula.from_clauses(random_clauses(rng, n, int(1.5 * n), kmax=3, band=7, kmin=2), n, weights=w)


@pytest.mark.parametrize("weighted", [False, True])
def test_simplify_eliminates_narrow_components_only_when_allowed(weighted):
    f = banded_formula(3, weighted=weighted)
    on = simplify(f, exact_max_vars=0)
    off = simplify(f, exact_max_vars=0, exact_max_width=0)
    assert on.residual is None and on.stats["eliminated_components"] >= 1
    assert off.residual is not None and off.stats["eliminated_components"] == 0
    r = off.residual
    lits, ptr = r.lits, r.clause_ptr
    want = off.ln_exact + exact_log_count(r.num_vars, lits, ptr, r.log_phi) if r.num_vars <= 24 else None
    if want is None:  # cross-check by elimination on the residual the engine would have seen
        want = off.ln_exact + elimination_log_count(r.num_vars, lits, ptr, r.log_phi, max_width=20)
    assert on.ln_exact == pytest.approx(want, abs=1e-9)


def test_count_reports_eliminated_formulas_as_exact():
    f = banded_formula(4)
    (on,) = count([f], options=CountOptions(method="bp", sat_check=False))
    (off,) = count([f], options=CountOptions(method="bp", sat_check=False, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0))
    assert on.exact and on.converged and not off.exact
    assert on.ln_count == pytest.approx(simplify(f, exact_max_vars=0).ln_exact, abs=1e-12)


def test_stuck_variables_are_the_part_that_blocks_elimination():
    from bpcount.elimination import stuck_variables

    # a clique on variables 1..6 (every pair in a clause) with a path 6-7-8-...-20 hanging off it
    clique = [[u, v] for u in range(1, 7) for v in range(u + 1, 7)]
    path = [[v, v + 1] for v in range(6, 20)]
    lits, ptr = csr(clique + path)
    left, degree = stuck_variables(20, lits, ptr, max_width=4)
    assert left.tolist() == [0, 1, 2, 3, 4, 5] and degree.tolist() == [5] * 6  # the path went first
    assert elimination_order(20, lits, ptr, max_width=4) is None
    left, degree = stuck_variables(20, lits, ptr, max_width=5)  # wide enough: never stuck
    assert len(left) == 0 and len(degree) == 0
    assert elimination_order(20, lits, ptr, max_width=5) is not None
    # a deadline already passed stops the order at its next check (every 1024 variables)
    import time

    from bpcount.elimination import OrderTimeout

    long_path = csr(clique + [[v, v + 1] for v in range(6, 3000)])
    with pytest.raises(OrderTimeout):
        stuck_variables(3000, *long_path, max_width=4, deadline=time.monotonic() - 1.0)
    assert len(stuck_variables(3000, *long_path, max_width=4, deadline=time.monotonic() + 60.0)[0]) == 6


def test_greedy_order_returns_the_stuck_set_of_a_failed_order():
    """When the order stops at the width bound, greedy_order gives what stuck_variables computes;
    when it finishes, the order and no stuck set."""
    from bpcount.elimination import greedy_order, stuck_variables

    rng = np.random.default_rng(8)
    checked = 0
    for _ in range(20):
        n = int(rng.integers(20, 40))
        clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(np.arange(1, n + 1), 3, replace=False)]
                   for _ in range(int(0.8 * n))]  # sparse enough to pass the edge-count test
        lits, ptr = csr(clauses)
        found = greedy_order(n, lits, ptr, max_width=3)
        if found.order is not None:
            continue
        fresh = stuck_variables(n, lits, ptr, max_width=3)
        assert [x.tolist() for x in found.stuck] == [x.tolist() for x in fresh] and len(fresh[0])
        checked += 1
    assert checked >= 5
    clique = [[u, v] for u in range(1, 7) for v in range(u + 1, 7)]
    lits, ptr = csr(clique)
    wide = greedy_order(6, lits, ptr, max_width=5)
    assert wide.stuck is None and sorted(wide.order.tolist()) == list(range(6))


def test_greedy_order_reports_its_work():
    """On a chain x1–x2–…–xn min-degree eliminates an end each time (degree 1, table 2^2) and the last
    variable alone (2^1): work 4(n−1) + 2, the table entries the search charges for eliminating
    along it (bpcount.search.WorkModel). An order stopped at the width bound reports the work of the
    variables it eliminated before."""
    from bpcount.elimination import greedy_order

    n = 50
    lits, ptr = csr([[v, v + 1] for v in range(1, n)])
    found = greedy_order(n, lits, ptr, max_width=3)
    assert found.order is not None and found.work == 4 * (n - 1) + 2
    clique = [[u, v] for u in range(1, 7) for v in range(u + 1, 7)]
    lits, ptr = csr(clique + [[6, 7], [7, 8]])
    stuck = greedy_order(8, lits, ptr, max_width=3)
    assert stuck.order is None and len(stuck.stuck[0]) == 6 and stuck.work == 4 + 4
