"""The count pipeline: exactness where promised, policies, error isolation, batching."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from bpcount.cnf import Formula
from bpcount.estimate import CountOptions, count, expand_inputs
from bpcount.report import text_line
from tests.conftest import brute_log_count, ganak_log_count, random_formula, random_tree_formula


def test_small_formulas_are_exact_and_match_brute_force():
    rng = np.random.default_rng(0)
    formulas = [random_formula(rng, int(rng.integers(1, 12)), int(rng.integers(0, 30)), weighted=i % 3 == 0)
                for i in range(60)]
    for f, r in zip(formulas, count(formulas)):
        want = brute_log_count(f)
        assert r.status == "ok" and r.exact
        assert (r.ln_count == want == -math.inf) or abs(r.ln_count - want) < 1e-9
        assert r.satisfiable == (want > -math.inf)


def test_bp_on_trees_above_enumeration_cap_is_accurate():
    rng = np.random.default_rng(1)
    for _ in range(5):
        clauses, n = random_tree_formula(rng, 6)  # ≤ 19 variables
        f = Formula.from_clauses(clauses, n + 3)  # three free variables on top
        (r,) = count([f], options=CountOptions(device="cpu", exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0))
        (ref,) = count([f], options=CountOptions(exact_max_vars=24))  # vectorised enumeration
        assert not r.exact and r.converged and ref.exact
        assert abs(r.ln_count - ref.ln_count) < 1e-8


def test_unsat_found_by_sat_solver_is_reported_exactly():
    # pigeonhole 4 -> 3 over 12 variables: no units, one component; enumeration disabled
    p = lambda i, j: 3 * i + j + 1  # noqa: E731
    clauses = [[p(i, j) for j in range(3)] for i in range(4)]
    clauses += [[-p(i, j), -p(k, j)] for j in range(3) for i in range(4) for k in range(i + 1, 4)]
    (r,) = count([Formula.from_clauses(clauses, 12)], options=CountOptions(exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0))
    assert r.ln_count == -math.inf and r.satisfiable is False and r.stats["unsat_reason"] == "SAT solver"
    (r,) = count([Formula.from_clauses(clauses, 12)], options=CountOptions(exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0, sat_check=False))
    assert math.isfinite(r.ln_count) and r.satisfiable is None  # BP alone proves nothing


def test_bad_file_in_batch_is_isolated(tmp_path):
    good = tmp_path / "a.cnf"
    good.write_text("p cnf 3 2\n1 2 0\n-2 3 0\n")
    bad = tmp_path / "b.cnf"
    bad.write_text("p cnf 2 1\n1 5 0\n")
    results = count([good, bad, good])
    assert [r.status for r in results] == ["ok", "error", "ok"]
    assert results[1].error_kind == "input" and "b.cnf:2: literal 5 exceeds declared 2" in results[1].error
    assert abs(results[0].ln_count - math.log(4)) < 1e-12


def test_projection_policy(tmp_path):
    f = tmp_path / "show.cnf"
    f.write_text("p cnf 3 1\nc p show 1 0\n1 2 0\n")
    (r,) = count([f])
    assert r.status == "error" and "--ignore-projection" in r.error
    (r,) = count([f], options=CountOptions(ignore_projection=True))
    assert r.status == "ok" and r.projection_ignored == "c p show" and abs(r.ln_count - math.log(6)) < 1e-12
    g = tmp_path / "ind.cnf"
    g.write_text("p cnf 3 1\nc ind 1 0\n1 2 0\n")
    (r,) = count([g])
    assert r.status == "ok" and r.projection_ignored == "c ind" and any("c ind" in w for w in r.warnings)
    h = tmp_path / "all.cnf"
    h.write_text("p cnf 3 1\nc p show 1 2 3 0\n1 2 0\n")
    (r,) = count([h])  # showing every variable is plain model counting
    assert r.status == "ok" and r.projection_ignored is None


def test_nonconvergence_policy_error_gives_no_estimate():
    rng = np.random.default_rng(3)
    clauses = [list(rng.choice(np.arange(1, 41), 3, replace=False) * rng.choice([-1, 1], 3)) for _ in range(170)]
    f = Formula.from_clauses(clauses, 40)
    opts = CountOptions(exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0, max_iters=3, damping=0.0, sat_check=False)
    (r,) = count([f], options=opts)
    assert r.status == "ok" and r.converged is False and math.isfinite(r.ln_count)
    (r,) = count([f], options=CountOptions(**{**opts.__dict__, "on_nonconvergence": "error"}))
    assert r.status == "nonconverged" and r.ln_count is None


def test_batch_size_does_not_change_results():
    rng = np.random.default_rng(4)
    formulas = [random_formula(rng, 30, 60, kmax=3) for _ in range(9)]
    a = count(formulas, options=CountOptions(exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0, batch_size=1, sat_check=False))
    b = count(formulas, options=CountOptions(exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0, batch_size=4, sat_check=False))
    for x, y in zip(a, b):
        assert x.status == y.status
        if x.ln_count is not None:
            assert x.ln_count == y.ln_count or abs(x.ln_count - y.ln_count) < 1e-12


def test_expand_inputs_recurses_directories(tmp_path):
    (tmp_path / "d" / "e").mkdir(parents=True)
    for name in ["d/a.cnf", "d/e/b.cnf.gz", "d/c.txt", "d/f.dimacs.gz"]:
        (tmp_path / name).write_text("x")
    got = expand_inputs([tmp_path / "d", "-"])
    assert [p.split("/")[-1] for p in got] == ["a.cnf", "b.cnf.gz", "f.dimacs.gz", "-"]


def test_unknown_method_rejected():
    with pytest.raises(ValueError, match="unknown method"):
        count([Formula.from_clauses([[1, 2]], 2)], options=CountOptions(method="magic"))


def _equivalence_formula() -> Formula:
    # x1 ≡ x2 ≡ ¬x3 plus a 3-CNF core over x1, x4..x25 (too large to enumerate with exact_max_vars=0, exact_max_width=0)
    rng = np.random.default_rng(5)
    core = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(np.r_[1, np.arange(4, 26)], 3, replace=False)]
            for _ in range(40)]
    return Formula.from_clauses([[-1, 2], [1, -2], [-2, -3], [2, 3]] + core, 25)


def test_equivalence_policy_per_method(tmp_path):
    import torch

    from bpcount.bpnn.checkpoint import save_checkpoint
    from bpcount.bpnn.model import BPNN, BPNNConfig

    f = _equivalence_formula()
    subst = lambda r: r.stats["equivalent_vars"]  # noqa: E731
    (bp,) = count([f], options=CountOptions(method="bp", exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0))
    assert subst(bp) == 2  # bp substitutes by default
    (bp_off,) = count([f], options=CountOptions(method="bp", exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0, equivalences=False))
    assert subst(bp_off) == 0
    # a BPNN simplifies as its checkpoint was trained (absent key: without substitution)
    for trained_with in (None, True, False):
        path = tmp_path / f"m{trained_with}.pt"
        tc = {} if trained_with is None else {"equivalences": trained_with}
        save_checkpoint(path, BPNN(BPNNConfig(num_layers=2)).to(torch.float64), train_config=tc)
        (r,) = count([f], options=CountOptions(method="bpnn", checkpoint=str(path), exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0))
        assert r.status == "ok" and subst(r) == (2 if trained_with else 0)
        (forced,) = count([f], options=CountOptions(method="bpnn", checkpoint=str(path), exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0,
                                                    equivalences=True))
        assert subst(forced) == 2


def test_estimates_outside_the_feasible_range_are_clamped():
    from bpcount.estimate import CountResult, _with_engine, feasible_range
    from bpcount.simplify import simplify

    f = _equivalence_formula()
    res = simplify(f, exact_max_vars=0, exact_max_width=0).residual
    lo, hi = feasible_range(res)
    assert lo == res.ln_offset and hi == pytest.approx(res.ln_offset + res.num_vars * math.log(2))
    base = CountResult(file="f", status="ok", method="bp", satisfiable=True)  # a model is known: no warning of that
    for raw, want in ((-5e4, lo), (hi + 3.0, hi), (0.5 * (lo + hi), 0.5 * (lo + hi))):
        out = {"ln_count": raw, "converged": False, "iterations": 38, "residual": 1.0, "timed_out": False,
               "stats": {}}
        r = _with_engine(base, out, 0.0, CountOptions(), (lo, hi))
        assert r.ln_count == want
        assert ("clamped_from" in r.stats) == (raw != want) and len(r.warnings) == (raw != want)
    # weighted: only the upper bound Σ ln(w + w̄)
    w = np.full((25, 2), 0.25)
    wres = simplify(Formula.from_clauses(f.clauses(), 25, weights=w), exact_max_vars=0, exact_max_width=0).residual
    wlo, whi = feasible_range(wres)
    # substituted variables' weights are merged into their representatives, so use the residual's
    want_hi = wres.ln_offset + float(np.logaddexp(wres.log_phi[:, 0], wres.log_phi[:, 1]).sum())
    assert wlo == -math.inf and whi == pytest.approx(want_hi)
    from bpcount.simplify import exact_log_count

    assert exact_log_count(wres.num_vars, wres.lits, wres.clause_ptr, wres.log_phi) + wres.ln_offset <= whi  # a bound


@pytest.mark.parametrize("method", ["bp", "bpnn"])
def test_float32_run_agrees_with_float64_cpu_where_both_converge(method):
    """The CPU float64 run against the float32 run of the same batch: on CUDA (its default there)
    where a GPU is present, else on the CPU."""
    import torch

    from bpcount.generate import make_formula

    second = "cuda" if torch.cuda.is_available() else "cpu"
    formulas = [make_formula("kcnf", 4, i, n=60, ratio=3.5) for i in range(16)]  # CPU: 12 (bp), 14 converge
    opts = dict(method=method, exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0, sat_check=False)
    ref = count(formulas, options=CountOptions(device="cpu", dtype="float64", **opts))
    low = count(formulas, options=CountOptions(device=second, dtype="float32", **opts))
    both = [(a, b) for a, b in zip(ref, low) if a.converged and b.converged and math.isfinite(a.ln_count)]
    assert len(both) >= 8 and not any(r.exact for r in ref)
    for a, b in both:
        assert b.ln_count == pytest.approx(a.ln_count, abs=1e-3)


def test_worker_processes_give_the_same_results_in_the_same_order(tmp_path):
    """--jobs: the CPU stages of every input run in spawned workers; results, exactness, errors and
    order are those of the single-process run (the two 3-CNF formulas left to BP stay undecided by
    the search even with a 2 s budget, so its 0.2 s here decides nothing either way)."""
    from bpcount.generate import make_formula

    paths = []
    for i, (n, ratio) in enumerate([(12, 3.0), (60, 4.0), (90, 3.5), (40, 5.5), (150, 4.2)]):
        p = tmp_path / f"f{i}.cnf"
        p.write_text(make_formula("kcnf", seed=3, index=i, n=n, ratio=ratio).to_dimacs())
        paths.append(str(p))
    (tmp_path / "bad.cnf").write_text("p cnf 2 1\n1 x 0\n")
    paths.insert(2, str(tmp_path / "bad.cnf"))
    rng = np.random.default_rng(5)
    inputs = paths + [random_formula(rng, 9, 20)]
    opts = CountOptions(device="cpu", method="bp", batch_size=2, search_budget=0.2, probe_max_budget=0)
    one = count(inputs, options=opts)
    two = count(inputs, options=replace(opts, jobs=2))
    assert [r.file for r in two] == [r.file for r in one]
    assert [(r.status, r.exact, r.error_kind) for r in two] == [(r.status, r.exact, r.error_kind) for r in one]
    assert one[2].status == "error" and "expected an integer" in one[2].error
    assert any(r.exact for r in one) and any(r.status == "ok" and not r.exact for r in one)
    for a, b in zip(one, two):
        assert a.ln_count == b.ln_count or abs(a.ln_count - b.ln_count) < 1e-12


def test_an_unexpected_failure_while_preparing_one_input_is_isolated(monkeypatch):
    import bpcount.estimate as estimate

    real = estimate.simplify

    def flaky(formula, **kw):
        if formula.num_vars == 7:
            raise MemoryError("simulated")
        return real(formula, **kw)

    monkeypatch.setattr(estimate, "simplify", flaky)
    rng = np.random.default_rng(2)
    fs = [random_formula(rng, n, 12) for n in (5, 7, 6)]
    out = count(fs)
    assert [r.status for r in out] == ["ok", "error", "ok"]
    assert out[1].error_kind == "runtime" and "MemoryError: simulated" in out[1].error
    assert out[0].exact and out[2].exact


@pytest.mark.parametrize("weighted", [False, True])
def test_proven_bounds_contain_the_count_and_the_estimate(weighted):
    """Estimated formulas (exact stages off): lower ≤ brute-force ln Z ≤ upper, the estimate lies
    inside, the enumeration's models raise the lower bound (unweighted) and the mini-bucket bound is
    below the trivial one on some formulas."""
    from tests.test_elimination import random_clauses

    rng = np.random.default_rng(21 + weighted)
    formulas = [Formula.from_clauses(random_clauses(rng, 12, int(rng.integers(15, 40)), kmin=2, kmax=3), 12,
                                     weights=rng.uniform(0.05, 1.0, size=(12, 2)) if weighted else None)
                for _ in range(30)]
    opts = CountOptions(method="bp", exact_max_vars=0, exact_max_width=0, search_budget=0, probe_budget=0, enum_models=4)
    seen = tighter = raised = finite_lower = 0
    for f, r in zip(formulas, count(formulas, options=opts)):
        truth = brute_log_count(f)
        if r.status != "ok" or r.exact:
            continue
        seen += 1
        lo, hi = r.bounds
        assert lo - 1e-9 <= truth <= hi + 1e-9
        assert lo <= r.ln_count <= hi
        info = r.stats["bounds"]
        assert (info["ln_lower"], info["ln_upper"]) == tuple(x if math.isfinite(x) else None for x in (lo, hi))
        json.dumps(r.to_record(), allow_nan=False)  # strict JSON: no −inf in the stats
        tighter += hi < r.ln_count + 50 and info["minibucket"] and hi < _trivial_upper(f) - 1e-6
        raised += math.isfinite(lo) and lo >= math.log(5) - 1e-9  # 5 models found: enumeration stopped
        finite_lower += math.isfinite(lo)
    assert seen >= 15 and tighter >= 10
    if weighted:  # the models found give a lower bound by their weights: finite, below the estimate
        assert finite_lower == seen
    else:
        assert raised >= 5


def _trivial_upper(f: Formula) -> float:
    if f.weights is None:
        return f.num_vars * math.log(2)
    return float(np.log(f.weights.sum(axis=1)).sum())


def test_exact_answers_report_the_count_as_both_bounds_and_zero_budget_keeps_the_trivial_range():
    f = Formula.from_clauses([[1, 2], [-2, 3]], 4)
    (r,) = count([f], options=CountOptions(method="bp"))
    assert r.exact and r.bounds == (r.ln_count, r.ln_count)
    assert r.to_record()["ln_lower"] == r.to_record()["ln_upper"] == pytest.approx(math.log(8))
    from tests.test_elimination import random_clauses

    g = Formula.from_clauses(random_clauses(np.random.default_rng(4), 12, 20, kmin=2, kmax=3), 12)
    opts = dict(method="bp", exact_max_vars=0, exact_max_width=0, search_budget=0, probe_budget=0, enum_models=0)
    (off,) = count([g], options=CountOptions(**opts, bound_budget=0))
    assert not off.exact and "minibucket" not in off.stats["bounds"]
    assert off.bounds[1] == pytest.approx(off.bounds[0] + 12 * math.log(2))  # every assignment a model


def test_an_unfinished_search_raises_the_lower_bound():
    """Search budgets too small to finish: the search's partial count is a proven lower bound,
    checked against pyganak, and the reported lower bound includes it."""
    from tests.conftest import ganak_log_count
    from tests.test_search import random_3cnf

    rng = np.random.default_rng(9)
    used = 0
    for _ in range(8):
        f = random_3cnf(rng, 45, 120)
        truth = ganak_log_count(f.num_vars, f.clauses())
        opts = CountOptions(method="bp", exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0.03, probe_budget=0,
                            bound_budget=0)
        (r,) = count([f], options=opts)
        if r.exact or r.ln_count == -math.inf:
            continue
        lo, hi = r.bounds
        assert lo <= truth + 1e-9 <= hi + 2e-9
        part = r.stats["search"]["ln_lower"]
        if part is not None:
            used += 1
            assert lo >= part - 1e-9  # the residual's offset is 0 here: nothing was simplified away
    assert used >= 3


def _random_3cnf(rng: np.random.Generator, n: int, m: int, weighted: bool = False) -> Formula:
    clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, 3, replace=False) + 1] for _ in range(m)]
    return Formula.from_clauses(clauses, n, weights=rng.uniform(0.2, 1.0, (n, 2)) if weighted else None)


@pytest.mark.parametrize("weighted", [False, True])
def test_search_probes_answer_what_the_exact_stages_leave(weighted):
    """With enumeration and the search off, the probes answer a formula too wide for elimination:
    their mean is near the exact count (pyganak), within the proven bounds, the engine does not run,
    and turning them off gives the engine's answer."""
    rng = np.random.default_rng(11 + weighted)
    f = _random_3cnf(rng, 70, 190, weighted)
    off = dict(enum_models=0, search_budget=0)
    (r,) = count([f], options=CountOptions(method="bp", probe_budget=4.0, probe_max_budget=0, **off))
    probe = r.stats["probe"]
    assert r.status == "ok" and r.estimator == "probes" and not r.exact and probe["used"]
    assert probe["probes"] >= 4 and probe["random_choices"] > 0 and r.iterations is None and r.converged is None
    assert r.ln_lower <= r.ln_count <= r.ln_upper
    if not weighted:
        assert abs(r.ln_count - ganak_log_count(f.num_vars, f.clauses())) < 1.5
    assert r.to_record()["estimator"] == "probes"
    (e,) = count([f], options=CountOptions(method="bp", probe_budget=0, **off))
    assert e.estimator == "bp" and "probe" not in e.stats and e.iterations > 0


def test_probes_that_met_no_random_choice_are_exact(monkeypatch):
    """Every decision forced: the probes' one path is the count, reported as exact."""
    import bpcount.estimate as est
    from bpcount.probe import ProbeResult

    rng = np.random.default_rng(4)
    f = _random_3cnf(rng, 60, 180)
    monkeypatch.setattr(est, "probe_log_count", lambda *a, **k: ProbeResult(3.5, (3.5,) * 4, 0.0, 0, 7, 0.1, 0.1))
    (r,) = count([f], options=CountOptions(method="bp", exact_max_width=0, enum_models=0, search_budget=0))
    assert r.exact and r.estimator == "exact" and r.ln_count == pytest.approx(3.5)
    monkeypatch.setattr(est, "probe_log_count", lambda *a, **k: ProbeResult(None, (3.5,), None, 2, 7, 0.1, 0.1))
    (r,) = count([f], options=CountOptions(method="bp", exact_max_width=0, enum_models=0, search_budget=0))
    assert not r.exact and r.estimator == "bp" and r.stats["probe"]["used"] is False


def test_the_probes_check_overrules_only_an_engine_far_from_them(monkeypatch):
    """Too few probes to answer, but their mean (the check) far below the engine's estimate, or the
    engine below the lower bound their values give: the probes answer, within the proven bounds, with
    a warning and the engine's estimate kept; a check close to the engine, or none, leaves the
    engine's answer."""
    import bpcount.estimate as est
    from bpcount.probe import CHECK_MIN_GAP, ProbeResult

    f = _random_3cnf(np.random.default_rng(4), 60, 180)
    opts = CountOptions(method="bp", exact_max_width=0, enum_models=0, search_budget=0)
    offsets = []
    real = est.simplify
    monkeypatch.setattr(est, "simplify", lambda *a, **k: offsets.append(real(*a, **k)) or offsets[-1])
    (plain,) = count([f], options=replace(opts, probe_budget=0))
    offset = offsets[-1].residual.ln_offset

    asked = []

    def probes(ln_check, samples=(1.0, 2.0)):
        def stub(*a, **k):
            asked.append(k["check"])
            return ProbeResult(None, samples, 0.5, 2, 7, 0.1, 0.1,
                               ln_check=None if ln_check is None else ln_check - offset)
        monkeypatch.setattr(est, "probe_log_count", stub)

    probes(plain.ln_count - CHECK_MIN_GAP - 2)
    (r,) = count([f], options=opts)
    assert r.estimator == "probes" and r.ln_count == pytest.approx(plain.ln_count - CHECK_MIN_GAP - 2)
    assert r.stats["probe"]["overruled"]["ln_count"] == pytest.approx(plain.ln_count)
    assert r.ln_lower <= r.ln_count <= r.ln_upper and any("far above" in w for w in r.warnings)
    assert "overruled" in text_line(r)
    probes(-50.0)  # below the proven lower bound: clamped to it
    (r,) = count([f], options=opts)
    assert r.estimator == "probes" and r.ln_count == pytest.approx(r.ln_lower)
    for check in (plain.ln_count - CHECK_MIN_GAP / 2, plain.ln_count + 30, None):
        probes(check)
        (r,) = count([f], options=opts)
        assert r.estimator == "bp" and r.ln_count == plain.ln_count and "overruled" not in r.stats["probe"]
    # three probes that agree, all 10 nats above the engine: it is below their 95 % lower bound
    probes(plain.ln_count + 10, samples=(plain.ln_count + 10 - offset,) * 3)
    (r,) = count([f], options=opts)
    assert r.estimator == "probes" and r.ln_count == pytest.approx(min(plain.ln_count + 10, r.ln_upper))
    assert r.stats["probe"]["check_lower"] > plain.ln_count and any("lower bound" in w for w in r.warnings)
    count([f], options=replace(opts, probe_check=False))
    assert asked[-1] is False and all(asked[:-1])  # the option reaches the probes


def test_a_bpnn_whose_gate_base_is_below_the_lower_bound_answers_the_bound():
    """The model's corrections start from an artefact there: the proven lower bound answers (as gate BP's
    projection does), with a warning and the model's own estimate kept; a base within the bounds, or
    no base (BP), leaves the estimate as it is."""
    from bpcount.estimate import CountResult, _with_engine

    r = CountResult(file="f.cnf", status="ok", method="bpnn", satisfiable=True)  # no warning of an unknown
    out = {"ln_count": 30.0, "converged": True, "iterations": 38, "residual": 0.0, "timed_out": False,
           "stats": {"gate_base": -900.0}}
    got = _with_engine(r, out, 0.0, CountOptions(method="bpnn"), (1.6, 500.0))
    assert got.ln_count == 1.6 and got.stats["model_estimate"] == 30.0 and "below the proven lower bound" in got.warnings[0]
    for stats in ({"gate_base": 2.0}, {}):
        got = _with_engine(r, {**out, "stats": stats}, 0.0, CountOptions(method="bpnn"), (1.6, 500.0))
        assert got.ln_count == 30.0 and "model_estimate" not in got.stats and not got.warnings
    # the shipped model's engine reports its base
    f = _random_3cnf(np.random.default_rng(4), 60, 180)
    (e,) = count([f], options=CountOptions(method="bpnn", exact_max_width=0, enum_models=0, search_budget=0,
                                           probe_budget=0))
    assert e.estimator == "bpnn" and math.isfinite(e.stats["gate_base"])


def test_search_probes_are_seeded():
    rng = np.random.default_rng(4)
    f = _random_3cnf(rng, 60, 180)
    opts = CountOptions(method="bp", exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0.5,
                        probe_max_budget=1.0)
    a, b = count([f, f], options=opts)
    (c,) = count([f], options=replace(opts, seed=1))
    assert a.estimator == "probes" and a.ln_count == b.ln_count and c.ln_count != a.ln_count


def test_the_probe_extension_follows_its_options():
    """A target no spread meets makes the probes spend the whole extension; with no target (inf)
    the extension changes nothing."""
    f = _random_3cnf(np.random.default_rng(4), 60, 180)
    opts = CountOptions(method="bp", exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0.3,
                        probe_max_budget=0)
    (base,) = count([f], options=opts)
    (wide,) = count([f], options=replace(opts, probe_max_budget=1.0, probe_target_rse=0.0))
    (loose,) = count([f], options=replace(opts, probe_max_budget=1.0, probe_target_rse=math.inf))
    assert base.estimator == wide.estimator == loose.estimator == "probes"
    assert base.stats["probe"]["work"] < 0.4 and wide.stats["probe"]["work"] > 0.9
    assert wide.stats["probe"]["probes"] > base.stats["probe"]["probes"]
    assert loose.ln_count == base.ln_count and loose.stats["probe"]["probes"] == base.stats["probe"]["probes"]


def test_a_probe_answer_outside_the_proven_bounds_is_clamped_with_a_warning(monkeypatch):
    import bpcount.estimate as est
    from bpcount.probe import ProbeResult

    rng = np.random.default_rng(4)
    f = _random_3cnf(rng, 60, 180)
    monkeypatch.setattr(est, "probe_log_count", lambda *a, **k: ProbeResult(-50.0, (-50.0,) * 4, 0.1, 3, 7, 0.1, 0.1))
    (r,) = count([f], options=CountOptions(method="bp", exact_max_width=0, enum_models=0, search_budget=0))
    assert r.estimator == "probes" and r.ln_count == pytest.approx(r.ln_lower) and r.stats["clamped_from"] < r.ln_lower
    assert any("clamped to the proven lower bound" in w for w in r.warnings)


def test_unknown_satisfiability_is_warned_and_settled_by_a_probe(monkeypatch):
    """No model found (a SAT check with no budget, no probes): the estimate says it assumes one and the
    MCC line says UNKNOWN. A search probe that finished found a model, even where too few finished to
    answer: the formula is then satisfiable and nothing is warned. A full SAT check finds one too."""
    import bpcount.estimate as estimate_mod
    from bpcount.estimate import SATISFIABILITY_UNKNOWN
    from bpcount.report import mcc_block

    rng = np.random.default_rng(0)
    clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(40, 3, replace=False) + 1] for _ in range(150)]
    f = Formula.from_clauses(clauses, 40)
    stages = dict(exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, bound_budget=0, method="bp")
    (r,) = count([f], options=CountOptions(sat_budget=1e-9, probe_budget=0, **stages))
    assert r.status == "ok" and r.satisfiable is None and SATISFIABILITY_UNKNOWN in r.warnings
    assert "s UNKNOWN" in mcc_block(r)

    real = estimate_mod.probe_log_count
    monkeypatch.setattr(estimate_mod, "probe_log_count", lambda *a, **kw: real(*a, **{**kw, "min_probes": 10**6}))
    (r,) = count([f], options=CountOptions(sat_budget=1e-9, probe_budget=0.2, **stages))
    assert r.stats["probe"]["probes"] > 0 and not r.stats["probe"]["used"]  # finished, but too few to answer
    assert r.estimator == "bp" and r.satisfiable is True and SATISFIABILITY_UNKNOWN not in r.warnings
    monkeypatch.undo()
    (r,) = count([f], options=CountOptions(probe_budget=0, **stages))
    assert r.satisfiable is True and SATISFIABILITY_UNKNOWN not in r.warnings
