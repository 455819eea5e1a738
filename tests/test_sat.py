"""Budgeted SAT check and bounded model enumeration against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpcount.cnf import Formula
from bpcount.estimate import CountOptions, count
from bpcount.sat import DEFAULT_SAT_WORK_MODEL, SOLVER_NAME, _Meter, enumerate_models
from bpcount.simplify import exact_log_count, simplify
from tests.conftest import random_formula


def residuals(seed: int, weighted: bool, n_formulas: int = 60):
    """Residuals (every variable in some clause) of random formulas, with their exact ln counts."""
    rng = np.random.default_rng(seed)
    for _ in range(n_formulas):
        n = int(rng.integers(4, 16))
        f = random_formula(rng, n, int(rng.integers(n // 2, 2 * n)), kmax=3, weighted=weighted)
        s = simplify(f, exact_max_vars=0, exact_max_width=0)
        if s.residual is not None:
            r = s.residual
            yield r, exact_log_count(r.num_vars, r.lits, r.clause_ptr, r.log_phi)


@pytest.mark.parametrize("weighted", [False, True])
def test_enumeration_is_exact_when_it_finishes(weighted):
    seen = 0
    for r, want in residuals(1 + weighted, weighted):
        e = enumerate_models(r.num_vars, r.lits, r.clause_ptr, r.log_phi, max_models=1 << 16,
                             sat_budget=5.0, enum_budget=5.0)
        assert e.satisfiable is (want > -math.inf)
        check = enumerate_models(r.num_vars, r.lits, r.clause_ptr, max_models=0, sat_budget=5.0)
        assert check.satisfiable is e.satisfiable and (check.models == 1) is e.satisfiable
        if want == -math.inf:
            assert e.ln_count == -math.inf and e.models == 0
        else:
            assert e.ln_count == pytest.approx(want, abs=1e-9)
            if not weighted:
                assert e.models == round(math.exp(want))
            seen += 1
    assert seen >= 20


def test_enumeration_stops_at_the_bound_without_a_count():
    for r, want in residuals(3, False):
        models = round(math.exp(want)) if want > -math.inf else 0
        if models < 3:
            continue
        e = enumerate_models(r.num_vars, r.lits, r.clause_ptr, max_models=models - 1, sat_budget=5.0, enum_budget=5.0)
        assert e.satisfiable and e.ln_count is None and e.models == models
        assert e.ln_found == pytest.approx(math.log(models))  # the models found: a lower bound
        exact = enumerate_models(r.num_vars, r.lits, r.clause_ptr, max_models=models, sat_budget=5.0, enum_budget=5.0)
        assert exact.ln_count == pytest.approx(want, abs=1e-12)
        off = enumerate_models(r.num_vars, r.lits, r.clause_ptr, max_models=models, sat_budget=5.0, enum_budget=0.0)
        assert off.satisfiable and off.ln_count is None and off.models == 1 and off.ln_found == 0.0
        return
    pytest.fail("no residual with at least 3 models")


def random_3cnf(rng: np.random.Generator, n: int, m: int) -> Formula:
    clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(np.arange(1, n + 1), 3, replace=False)]
               for _ in range(m)]
    return Formula.from_clauses(clauses, n)


def test_count_is_exact_by_enumeration_up_to_the_bound_only():
    rng = np.random.default_rng(9)
    few = many = 0
    opts = dict(method="bp", exact_max_vars=0, exact_max_width=0, enum_models=256, search_budget=0, probe_budget=0, bound_budget=0)
    for _ in range(40):
        f = random_3cnf(rng, 18, int(rng.integers(40, 80)))
        truth = exact_log_count(f.num_vars, f.lits, f.clause_ptr)
        if truth == -math.inf or simplify(f, exact_max_vars=0, exact_max_width=0).residual is None:
            continue
        (on,) = count([f], options=CountOptions(**opts))
        (off,) = count([f], options=CountOptions(**{**opts, "enum_models": 0}))
        (no_sat,) = count([f], options=CountOptions(**opts, sat_check=False))
        assert not off.exact and not no_sat.exact and "enumerated_models" not in off.stats
        assert "sat" not in no_sat.stats and off.stats["sat"]["model_literals"] == 0
        assert on.stats["sat"]["work"] > 0 and on.stats["sat"]["propagations"] > 0
        # each model read back and blocked is charged its literals (the residual's variables); the
        # model past the bound is found but not blocked
        reads = on.stats["enumerated_models"] - (0 if on.exact else 1)
        assert on.stats["sat"]["model_literals"] == reads * on.stats["residual_vars"]
        if round(math.exp(truth)) <= 256:
            assert on.exact and on.ln_count == pytest.approx(truth, abs=1e-9)
            assert on.stats["enumerated_models"] == round(math.exp(truth))
            few += 1
        else:
            assert not on.exact and on.stats["enumerated_models"] == 257
            many += 1
    assert few >= 5 and many >= 3


def test_weighted_count_by_enumeration():
    rng = np.random.default_rng(4)
    w = rng.uniform(0.1, 0.9, (12, 2))
    f = random_formula(rng, 12, 18, kmax=3)
    f = Formula.from_clauses(f.clauses(), 12, weights=w)
    truth = exact_log_count(12, f.lits, f.clause_ptr, np.log(w))
    assert truth > -math.inf
    (r,) = count([f], options=CountOptions(method="bp", exact_max_vars=0, exact_max_width=0, search_budget=0, probe_budget=0, bound_budget=0))
    assert r.exact and r.ln_count == pytest.approx(truth, abs=1e-9)


def test_weighted_models_found_are_a_lower_bound():
    """Stopped at a bound, the weight of the models found is below the weighted count (brute force)
    and grows with the bound."""
    from tests.conftest import brute_log_count

    seen = 0
    for r, want in residuals(5, True):
        if want == -math.inf:
            continue
        truth = brute_log_count(r.to_formula())
        previous = -math.inf
        for k in (0, 1, 3):
            e = enumerate_models(r.num_vars, r.lits, r.clause_ptr, r.log_phi, max_models=k, sat_budget=5.0,
                                 enum_budget=5.0)
            assert e.ln_found <= truth + 1e-9 and e.ln_found >= previous - 1e-12
            previous = e.ln_found
        seen += 1
    assert seen >= 10


def _many_models(seed: int = 11, n: int = 40) -> Formula:
    """A satisfiable random 3-CNF well below the threshold: far more than 10^4 models."""
    return random_3cnf(np.random.default_rng(seed), n, 2 * n)


def test_budgets_are_work_so_a_cut_enumeration_is_the_same_on_every_run():
    """The enumeration stops where its charged work passes the budget, not where a clock does: the
    same formula gives the same models found and counts with or without a wall-clock limit, and the
    charge is what the work model makes of the counts."""
    from bpcount.sat import DEFAULT_SAT_WORK_MODEL, sat_work

    f = _many_models()
    runs = [enumerate_models(f.num_vars, f.lits, f.clause_ptr, max_models=10**6, sat_budget=1.0, enum_budget=2e-3,
                             wall_factor=factor) for factor in (5.0, 5.0, math.inf)]
    first = runs[0]
    assert first.satisfiable and first.ln_count is None and 1 < first.models < 10**6
    assert all(r.models == first.models and r.counts == first.counts for r in runs)
    assert first.ln_found == pytest.approx(math.log(first.models))
    assert first.work == pytest.approx(sat_work(DEFAULT_SAT_WORK_MODEL, **first.counts))
    assert first.work > 2e-3  # stopped because the charge passed the budget
    assert first.counts["model_literals"] == first.models * f.num_vars
    more = enumerate_models(f.num_vars, f.lits, f.clause_ptr, max_models=10**6, sat_budget=1.0, enum_budget=2e-2)
    assert more.models > first.models  # a larger budget goes further


def test_wall_clock_limit_still_stops_a_cheap_looking_enumeration():
    """With a work model that charges almost nothing, the wall-clock backstop (factor × budget) ends
    the enumeration, checked between solver calls as well as by the solver's interrupt."""
    from bpcount.sat import SatWorkModel

    f = _many_models()
    free = SatWorkModel(propagation=1e-15, conflict=1e-15, model_literal=1e-15)
    e = enumerate_models(f.num_vars, f.lits, f.clause_ptr, max_models=10**7, sat_budget=1.0, enum_budget=0.05,
                         work_model=free, wall_factor=2.0)
    assert e.satisfiable and e.ln_count is None and 1 < e.models < 10**7
    assert e.seconds < 2.0 and e.work < 0.05


def test_a_moved_deadline_replaces_the_backstop():
    """Past its deadline a meter answers None; a deadline moved inside the ``with`` block (the probes'
    extension) lets calls run again, and the restarted timer does not interrupt them."""
    import time

    from pysat.solvers import Solver

    with Solver(name=SOLVER_NAME, bootstrap_with=[[1, 2], [-1, 2]]) as solver:
        with _Meter(solver, 10.0, DEFAULT_SAT_WORK_MODEL, time.monotonic() + 0.05) as meter:
            time.sleep(0.1)
            assert meter.solve() is None
            meter.move_deadline(time.monotonic() + 60.0)
            time.sleep(0.1)
            assert meter.solve() is True and meter.solve([-2]) is False



def _solver_factory(monkeypatch, runs_out: set[str], built: list[str]):
    """Make ``pysat.solvers.Solver`` record each solver built in ``built`` and, for the names in
    ``runs_out``, answer None to every limited call after doing the real call's work (a solver
    that ran out of its budget)."""
    import pysat.solvers

    real = pysat.solvers.Solver

    class Recording(real):
        def __init__(self, name="m22", **kwargs):
            super().__init__(name=name, **kwargs)
            self._runs_out = name in runs_out
            built.append(name)

        def solve_limited(self, assumptions=[], expect_interrupt=False):  # noqa: B006 (pysat's signature)
            answer = super().solve_limited(assumptions=assumptions, expect_interrupt=expect_interrupt)
            return None if self._runs_out else answer

    monkeypatch.setattr(pysat.solvers, "Solver", Recording)


def test_the_second_solver_answers_where_the_first_ran_out(monkeypatch):
    """Where the first solver runs out of the check's budget, the next one checks with a budget of
    its own and the enumeration goes on with it: counts still exact against brute force, the
    answering solver named, and both solvers' work charged."""
    from bpcount.sat import CHECK_SOLVERS

    assert len(CHECK_SOLVERS) >= 2 and CHECK_SOLVERS[0] == SOLVER_NAME
    first, second = CHECK_SOLVERS[:2]
    cases = list(residuals(seed=21, weighted=False, n_formulas=25))
    assert cases
    alone = {}
    for i, (r, _) in enumerate(cases):  # reference runs with the real solvers, one at a time
        alone[i] = (enumerate_models(r.num_vars, r.lits, r.clause_ptr, max_models=0, sat_budget=5.0,
                                     solvers=(first,)),
                    enumerate_models(r.num_vars, r.lits, r.clause_ptr, max_models=1 << 16, sat_budget=5.0,
                                     enum_budget=5.0, solvers=(second,)))
    built: list[str] = []
    _solver_factory(monkeypatch, {first}, built)
    for i, (r, ln_z) in enumerate(cases):
        built.clear()
        e = enumerate_models(r.num_vars, r.lits, r.clause_ptr, max_models=1 << 16, sat_budget=5.0, enum_budget=5.0)
        assert built == [first, second]
        g, m = alone[i]
        assert e.solver == second and e.satisfiable == (ln_z > -math.inf)
        assert e.ln_count == pytest.approx(ln_z, abs=1e-9) if ln_z > -math.inf else e.ln_count == -math.inf
        assert e.counts == {k: g.counts[k] + m.counts[k] for k in e.counts}


def test_the_second_solver_is_not_built_where_the_first_answers(monkeypatch):
    """Where the first solver answers (a model or a proof), the answer is its own: no second solver
    is built and nothing changes against running it alone; where every solver runs out, the check
    says so (None) after trying each."""
    from bpcount.sat import CHECK_SOLVERS

    cases = list(residuals(seed=22, weighted=True, n_formulas=20))
    reference = [enumerate_models(r.num_vars, r.lits, r.clause_ptr, r.log_phi, max_models=8, sat_budget=5.0,
                                  enum_budget=5.0, solvers=CHECK_SOLVERS[:1]) for r, _ in cases]
    built: list[str] = []
    _solver_factory(monkeypatch, set(), built)
    for (r, _), ref in zip(cases, reference):
        built.clear()
        e = enumerate_models(r.num_vars, r.lits, r.clause_ptr, r.log_phi, max_models=8, sat_budget=5.0,
                             enum_budget=5.0)
        assert built == [CHECK_SOLVERS[0]] and e.solver == CHECK_SOLVERS[0]
        assert (e.satisfiable, e.ln_count, e.models, e.ln_found, e.counts) == \
            (ref.satisfiable, ref.ln_count, ref.models, ref.ln_found, ref.counts)
    monkeypatch.undo()
    _solver_factory(monkeypatch, set(CHECK_SOLVERS), built)
    r, _ = cases[0]
    built.clear()
    e = enumerate_models(r.num_vars, r.lits, r.clause_ptr, max_models=8, sat_budget=5.0, enum_budget=5.0)
    assert built == list(CHECK_SOLVERS)
    assert e.satisfiable is None and e.solver is None and e.models == 0 and e.ln_count is None
