"""Mini-bucket upper bounds: never below the exact count (brute force, weighted and not), exact when
nothing is split or dropped, budgets and work charges deterministic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpcount.bounds import BOUND_WORK, BoundWorkModel, bound_work, minibucket_upper_bound
from bpcount.cnf import Formula
from tests.conftest import brute_log_count
from tests.test_elimination import csr, random_clauses


def _bound(clauses, n, weights=None, **kw):
    lits, ptr = csr(clauses)
    lw = None if weights is None else np.log(weights)
    return minibucket_upper_bound(n, lits, ptr, lw, **kw)


@pytest.mark.parametrize("weighted", [False, True])
def test_never_below_the_exact_count_and_exact_when_nothing_is_split(weighted):
    rng = np.random.default_rng(11 + weighted)
    splits = exact_seen = 0
    for _ in range(120):
        n = int(rng.integers(3, 12))
        clauses = random_clauses(rng, n, int(rng.integers(1, 4 * n)), kmax=4)
        w = rng.uniform(0.05, 1.0, size=(n, 2)) if weighted else None
        truth = brute_log_count(Formula.from_clauses(clauses, n, weights=w))
        for i_bound in (1, 2, 3, 16):
            ub = _bound(clauses, n, w, i_bound=i_bound)
            assert ub.ln_upper is not None
            assert ub.ln_upper >= truth - 1e-9, (clauses, i_bound)
            splits += ub.split_buckets > 0
            if ub.exact:
                exact_seen += 1
                assert ub.ln_upper == pytest.approx(truth, abs=1e-9) if math.isfinite(truth) else ub.ln_upper == truth
    assert splits > 50 and exact_seen > 50  # both regimes were exercised


def test_wide_clauses_are_dropped_and_the_bound_stays_valid():
    rng = np.random.default_rng(3)
    for _ in range(40):
        n = 10
        clauses = random_clauses(rng, n, 25, kmax=6, kmin=4)
        ub = _bound(clauses, n, i_bound=3)  # clauses of 5 or 6 literals do not fit a 4-variable bucket
        wide = sum(len(c) > 4 for c in clauses)
        assert ub.dropped_clauses == wide
        assert ub.ln_upper >= brute_log_count(Formula.from_clauses(clauses, n)) - 1e-9


def test_unsatisfiable_core_gives_minus_infinity_and_free_variables_count():
    core = [[1, 2], [1, -2], [-1, 2], [-1, -2]]
    assert _bound(core, 2, i_bound=4).ln_upper == -math.inf
    # variable 3 appears in no clause: a factor 2 on top of the 3 models of (1 ∨ 2)
    ub = _bound([[1, 2]], 3, i_bound=4)
    assert ub.exact and ub.ln_upper == pytest.approx(math.log(6))


def test_budget_stops_it_and_work_is_the_charge_of_its_counts():
    rng = np.random.default_rng(5)
    clauses = random_clauses(rng, 60, 200, kmax=3)
    full = _bound(clauses, 60, i_bound=6)
    again = _bound(clauses, 60, i_bound=6)
    assert full.counts == again.counts and full.work == again.work and full.ln_upper == again.ln_upper
    assert full.work == pytest.approx(bound_work(BOUND_WORK, **full.counts))
    assert full.counts["steps"] == 60
    stopped = _bound(clauses, 60, i_bound=6, budget=full.work / 3)
    assert stopped.ln_upper is None and stopped.work <= full.work
    # a model charging only per step: the budget is exactly a number of eliminated variables
    per_step = BoundWorkModel(step=1.0, scan=0.0, pair=0.0, entry=0.0)
    assert _bound(clauses, 60, i_bound=6, budget=60.0, work_model=per_step).ln_upper == full.ln_upper
    cut = _bound(clauses, 60, i_bound=6, budget=10.0, work_model=per_step)
    # it checks before each step and stops once the charge exceeds the budget: after step 11
    assert cut.ln_upper is None and cut.counts["steps"] == 11
    with pytest.raises(ValueError):
        _bound(clauses, 60, i_bound=0)


def test_wall_limit_backstop():
    rng = np.random.default_rng(6)
    clauses = random_clauses(rng, 40, 120, kmax=3)
    assert _bound(clauses, 40, i_bound=6, wall_limit=0.0).ln_upper is None


def test_ladder_keeps_the_least_bound_and_shares_one_budget():
    from bpcount.bounds import upper_bound

    rng = np.random.default_rng(8)
    clauses = random_clauses(rng, 40, 100, kmin=2, kmax=3)
    lits, ptr = csr(clauses)
    runs = [minibucket_upper_bound(40, lits, ptr, i_bound=i) for i in (2, 4, 6)]
    assert all(math.isfinite(r.ln_upper) and not r.exact for r in runs)
    assert runs[2].ln_upper < runs[0].ln_upper  # a larger i-bound is tighter here
    best = upper_bound(40, lits, ptr, i_bounds=(2, 4, 6))
    assert best.ln_upper == min(r.ln_upper for r in runs)
    assert best.i_bound == min(runs, key=lambda r: r.ln_upper).i_bound
    assert best.work == pytest.approx(sum(r.work for r in runs))
    # a budget that covers only the first run: its bound, and the second run's partial work
    first = upper_bound(40, lits, ptr, i_bounds=(2, 4, 6), budget=runs[0].work * 1.01)
    assert first.ln_upper == runs[0].ln_upper and first.i_bound == 2 and first.work > runs[0].work
    assert upper_bound(40, lits, ptr, i_bounds=(2,), budget=runs[0].work / 2).ln_upper is None


def test_memory_limit_drops_the_widest_clauses_or_gives_up():
    rng = np.random.default_rng(12)
    clauses = random_clauses(rng, 12, 30, kmin=2, kmax=5)
    truth = brute_log_count(Formula.from_clauses(clauses, 12))
    full = _bound(clauses, 12, i_bound=6)
    # room for the 2- and 3-literal clauses' tables only: the wider ones are dropped, still a bound
    narrow = sum(len(c) <= 3 for c in clauses)
    room = sum(1 << len(c) for c in clauses if len(c) <= 3)
    cut = _bound(clauses, 12, i_bound=6, max_live_entries=room)
    assert cut.dropped_clauses == len(clauses) - narrow > 0
    assert cut.ln_upper is not None and cut.ln_upper >= truth - 1e-9 and full.ln_upper >= truth - 1e-9
    # no room at all: every clause dropped, nothing held, the bound is every assignment
    none = _bound(clauses, 12, i_bound=6, max_live_entries=0)
    assert none.dropped_clauses == len(clauses) and none.ln_upper == pytest.approx(12 * math.log(2))
    # room for every clause table but not for the messages elimination builds: no bound
    dense = random_clauses(rng, 12, 40, kmin=3, kmax=3)
    held = sum(1 << len(c) for c in dense)
    assert _bound(dense, 12, i_bound=11, max_live_entries=held).ln_upper is None
    assert _bound(dense, 12, i_bound=11, max_live_entries=1000 * held).ln_upper is not None
