"""Search probes: unbiased (the exact expectation over every random path equals the count), exact
where no choice is random, deterministic under a seed, budgets honoured."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pysat.solvers import Solver

import bpcount.probe as probe_mod
from bpcount.cnf import Formula
from bpcount.probe import probe_log_count
from tests.conftest import brute_log_count


def random_3cnf(rng: np.random.Generator, n: int, m: int, weighted: bool = False) -> Formula:
    """m clauses of 3 distinct variables out of n, random signs; random weights in [0.05, 1]."""
    clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, 3, replace=False) + 1] for _ in range(m)]
    return Formula.from_clauses(clauses, n, weights=rng.uniform(0.05, 1.0, (n, 2)) if weighted else None)


def _run(f: Formula, **kw):
    lw = None if f.weights is None else np.log(f.weights)
    return probe_log_count(f.num_vars, f.lits, f.clause_ptr, lw, **kw)


def expected_value(f: Formula, monkeypatch, **kw) -> tuple[float, int]:
    """ln E[Ẑ] of one probe, exactly: every sequence of side choices is followed once and weighted by
    its probability (depth-first over the choices, the probe's own probabilities). Also returns how
    many distinct paths were followed."""
    total, paths = [], 0
    stack: list[list[bool]] = [[]]
    while stack:
        prefix = stack.pop()
        trace: list[tuple[float, bool]] = []

        def choose(_rng, p_pos, prefix=prefix, trace=trace):
            side = prefix[len(trace)] if len(trace) < len(prefix) else True
            trace.append((p_pos, side))
            return side

        monkeypatch.setattr(probe_mod, "_choose", choose)
        res = _run(f, max_probes=1, min_probes=1, budget=1e6, wall_limit=math.inf, **kw)
        paths += 1
        for j in range(len(prefix), len(trace)):  # siblings not yet followed
            stack.append([s for _, s in trace[:j]] + [False])
        ln_p = sum(math.log(p if s else 1.0 - p) for p, s in trace)
        total.append(ln_p + res.ln_samples[0])
    return float(np.logaddexp.reduce(total)), paths


@pytest.mark.parametrize("weighted", [False, True])
def test_expectation_equals_the_count_on_random_formulas(monkeypatch, weighted):
    """E[Ẑ] = Z exactly, branching all the way down (no elimination, no enumeration at the nodes),
    with the search's elimination at the leaves, and with runs of decisions taken without
    simplifying between them; the random choices did occur."""
    rng = np.random.default_rng(1 + weighted)
    random_paths = 0
    for t in range(45):
        n = int(rng.integers(5, 10))
        f = random_3cnf(rng, n, int(rng.integers(n, 4 * n)), weighted)
        truth = brute_log_count(f)
        if truth == -math.inf:
            continue
        kw = [{"max_width": 0, "max_vars": 0}, {"max_width": 2, "max_vars": 0, "run": 1},
              {"max_width": 2, "max_vars": 0, "run": 3, "run_min_stuck": 1}][t % 3]
        ln_e, paths = expected_value(f, monkeypatch, **kw)
        assert ln_e == pytest.approx(truth, abs=1e-9)
        random_paths += paths > 1
    assert random_paths > 10


def test_probes_reach_models_only():
    """With the SAT guidance every probe ends at a model: no sample is −inf on a satisfiable formula,
    even where most assignments fail (a formula with 3 models out of 2^10)."""
    rng = np.random.default_rng(5)
    models = rng.integers(0, 2, size=(3, 10)).astype(bool)
    clauses = []
    for a in range(1 << 10):  # forbid every other assignment: one clause each
        bits = np.array([(a >> i) & 1 for i in range(10)], dtype=bool)
        if not (models == bits).all(axis=1).any():
            clauses.append([(i + 1) if not b else -(i + 1) for i, b in enumerate(bits)])
    f = Formula.from_clauses(clauses, 10)
    res = _run(f, max_width=0, max_vars=0, max_probes=20, budget=1e6, wall_limit=math.inf)
    assert res.probes == 20 and all(math.isfinite(s) for s in res.ln_samples)
    assert res.ln_count == pytest.approx(math.log(len({m.tobytes() for m in models})), abs=1.5)


def test_a_forced_path_is_exact():
    """One model: every decision is forced, no choice is random and every probe is the count."""
    n = 9
    clauses = [[i, -(i + 1)] for i in range(1, n)] + [[n, -1], [1, 2, 3]]  # all equal, not all false: 1 model
    res = _run(Formula.from_clauses(clauses, n), max_width=0, max_vars=0, max_probes=5, budget=1e6,
               wall_limit=math.inf)
    assert res.random_choices == 0 and res.ln_count == pytest.approx(0.0, abs=1e-12)
    assert len(set(res.ln_samples)) == 1


def test_seeded_and_budgeted():
    rng = np.random.default_rng(7)
    f = random_3cnf(rng, 30, 90)
    with Solver(name="glucose4", bootstrap_with=f.clauses()) as solver:
        assert solver.solve()
    kw = {"max_width": 0, "max_vars": 0, "max_probes": 6, "budget": 1e6, "wall_limit": math.inf}
    a, b, c = _run(f, seed=3, **kw), _run(f, seed=3, **kw), _run(f, seed=4, **kw)
    assert a.ln_samples == b.ln_samples and a.ln_samples != c.ln_samples
    assert a.random_choices > 0 and a.rel_se is not None and a.rel_se > 0
    # a budget too small for min_probes gives no answer, and the work stays near the budget
    small = _run(f, max_width=0, max_vars=0, budget=1e-3, min_probes=4)
    assert small.ln_count is None and small.probes < 4 and small.work < 0.05
    assert _run(f, budget=0.0).ln_count is None


def test_no_extension_without_a_target_or_with_too_few_probes():
    f = random_3cnf(np.random.default_rng(7), 30, 90)
    kw = {"max_width": 0, "max_vars": 0, "seed": 5, "wall_limit": math.inf, "min_probes": 4}
    full = _run(f, budget=1e6, max_probes=12, **kw)
    ends = full.sample_work  # work charged when each probe ended (increasing)
    assert len(ends) == 12 and all(a < b for a, b in zip(ends, ends[1:]))
    few = (ends[1] + ends[2]) / 2  # two probes end within it: left to the engine, target or not
    for extra in ({}, {"max_budget": 1e6, "target_rse": 0.0}):
        res = _run(f, budget=few, **extra, **kw)
        assert res.ln_count is None and res.ln_samples == full.ln_samples[:2] and res.work < ends[2]
    tiny = _run(f, budget=ends[0] / 2, max_budget=1e6, target_rse=0.0, **kw)  # no probe ends within it
    assert tiny.ln_count is None and tiny.ln_samples == () and tiny.work < ends[0]
    enough = (ends[5] + ends[6]) / 2  # six end within it: no target, no extension
    a, b = _run(f, budget=enough, **kw), _run(f, budget=enough, max_budget=1e6, **kw)
    assert a.ln_samples == b.ln_samples == full.ln_samples[:6] and a.work == b.work


def test_a_target_error_extends_until_the_probes_agree():
    f = random_3cnf(np.random.default_rng(7), 30, 90)
    kw = {"max_width": 0, "max_vars": 0, "seed": 5, "wall_limit": math.inf, "min_probes": 4}
    full = _run(f, budget=1e6, max_probes=40, **kw)
    ends, lns = full.sample_work, list(full.ln_samples)
    spread = [probe_mod.relative_standard_error(lns[:k]) for k in range(1, 41)]
    target = float(np.median(spread[4:]))  # met by some prefixes beyond the fourth probe, not by all
    short = (ends[3] + ends[4]) / 2  # four probes end within it
    # the first k >= 4 whose mean meets the target, once the budget is spent (k >= 4 there)
    k = next(k for k in range(4, 41) if spread[k - 1] <= target)
    res = _run(f, budget=short, max_budget=1e6, target_rse=target, **kw)
    assert res.ln_samples == tuple(lns[:k]) and res.rel_se <= target
    if k > 4:  # went on past the budget because the first four disagreed
        assert spread[3] > target and res.work == pytest.approx(ends[k - 1])
    # met at the budget already: the same probes as without a target or an extension
    loose = max(spread[3:]) * 1.01
    a, b = _run(f, budget=short, **kw), _run(f, budget=short, max_budget=1e6, target_rse=loose, **kw)
    assert a.ln_samples == b.ln_samples == tuple(lns[:4])


def test_the_check_goes_on_where_too_few_probes_finish():
    """``check``: with fewer than ``min_probes`` within the budget, probing goes on (the same probes, in
    the same order, as one long run) until there are enough whose mean meets the target, or the
    extension is spent; ``ln_count`` stays None and ``ln_check`` is their mean. With enough within
    the budget the check changes nothing."""
    f = random_3cnf(np.random.default_rng(7), 30, 90)
    kw = {"max_width": 0, "max_vars": 0, "seed": 5, "wall_limit": math.inf, "min_probes": 4}
    full = _run(f, budget=1e6, max_probes=40, **kw)
    ends, lns = full.sample_work, list(full.ln_samples)
    spread = [probe_mod.relative_standard_error(lns[:k]) for k in range(1, 41)]
    few = (ends[1] + ends[2]) / 2  # two probes end within it
    for target in (math.inf, float(np.median(spread[4:]))):
        k = next(k for k in range(4, 41) if spread[k - 1] <= target)
        res = _run(f, budget=few, max_budget=1e6, target_rse=target, check=True, **kw)
        assert res.ln_count is None and res.ln_samples == tuple(lns[:k])
        assert res.ln_check == pytest.approx(float(np.logaddexp.reduce(lns[:k]) - math.log(k)))
        assert res.rel_se == pytest.approx(spread[k - 1])
    # the extension spent before enough finish: every finished probe is the check
    capped = (ends[2] + ends[3]) / 2
    res = _run(f, budget=few, max_budget=capped, target_rse=0.0, check=True, **kw)
    assert res.ln_samples == tuple(lns[:3]) and res.ln_check is not None and res.ln_count is None
    # the probe under way when the budget runs out finishes (without the check it is dropped)
    tiny = _run(f, budget=ends[0] / 2, max_budget=1e6, target_rse=math.inf, check=True, **kw)
    assert tiny.ln_samples == tuple(lns[:4]) and tiny.ln_count is None
    # enough within the budget: the same answer as without the check
    enough = (ends[5] + ends[6]) / 2
    for target in (math.inf, 0.0):
        a = _run(f, budget=enough, max_budget=ends[9], target_rse=target, **kw)
        b = _run(f, budget=enough, max_budget=ends[9], target_rse=target, check=True, **kw)
        assert a.ln_samples == b.ln_samples and a.ln_count == b.ln_count and b.ln_check is None


def test_overrules_an_engine_far_above_the_probes_or_below_their_lower_bound():
    gap, no_lower = probe_mod.CHECK_MIN_GAP, -math.inf
    assert probe_mod.overrules(20.0, no_lower, 20.0 + gap + 0.1)
    assert not probe_mod.overrules(20.0, no_lower, 20.0 + gap - 0.1)
    assert not probe_mod.overrules(20.0, no_lower, 10.0)  # below the mean: a few probes' mean runs low
    assert probe_mod.overrules(20.0, 12.0, 10.0) and not probe_mod.overrules(20.0, 9.0, 10.0)
    big = 1000.0  # the relative gap decides for large counts
    assert not probe_mod.overrules(big, no_lower, big * (1 + probe_mod.CHECK_REL_GAP) - 1)
    assert probe_mod.overrules(big, no_lower, big * (1 + probe_mod.CHECK_REL_GAP) + 1)
    assert not probe_mod.overrules(-math.inf, no_lower, 5.0) and not probe_mod.overrules(3.0, no_lower, math.nan)


def test_check_lower_bound_holds_with_its_confidence():
    """Heavy-tailed unbiased estimates (lognormal with E = Z = 1, sigma 3): the bound is below ln Z = 0
    in at least 95 % of trials for every number of probes; without samples it is -inf."""
    rng = np.random.default_rng(0)
    sigma = 3.0
    for k in (1, 2, 4, 16):
        ln = rng.normal(-sigma ** 2 / 2, sigma, size=(4000, k))
        covered = np.mean([probe_mod.check_lower_bound(row) < 0.0 for row in ln])
        assert covered >= probe_mod.CHECK_CONFIDENCE
    # not vacuous: it comes within a few nats of ln Z when the probes agree
    assert probe_mod.check_lower_bound([0.0] * 16) > -0.3
    assert probe_mod.check_lower_bound([]) == -math.inf


def test_unsatisfiable_formula_gives_minus_infinity():
    f = Formula.from_clauses([[1, 2], [-1, 2], [1, -2], [-1, -2], [3, 4]], 4)
    res = _run(f, max_width=0, max_vars=0, budget=1e6)
    assert res.ln_count == -math.inf


def test_kept_models_ring_keeps_the_newest(monkeypatch):
    """The oracle's kept models grow by doubling up to MAX_KEPT_MODELS, then the oldest are replaced:
    every kept row is one of the solver's models, and the newest are among them."""
    from bpcount.sat import DEFAULT_SAT_WORK_MODEL, _Meter
    from bpcount.search import DEFAULT_WORK_MODEL, _State

    monkeypatch.setattr(probe_mod, "MAX_KEPT_MODELS", 24)
    n = 6
    with Solver(name="glucose4") as solver:
        solver.add_clause([1, 2, 3, 4, 5, 6])
        meter = _Meter(solver, 1e6, DEFAULT_SAT_WORK_MODEL, math.inf)
        oracle = probe_mod._Oracle(solver, meter, n, 0.0)
        st = _State(budget=1e6, deadline=math.inf, max_nodes=1 << 62, max_width=0, max_vars=0,
                    model=DEFAULT_WORK_MODEL)
        cubes = [[(v + 1) if (a >> v) & 1 else -(v + 1) for v in range(n)] for a in range(1, 36)]
        with meter:
            for cube in cubes:  # each cube is one full assignment: a call, and its model kept
                assert oracle.satisfiable(cube[:-1], cube[-1], st)
    assert oracle.calls == 35 and oracle.kept == 24 and len(oracle.models) == 24
    kept = {tuple(row) for row in oracle.models}
    newest = {tuple(np.asarray(c) > 0) for c in cubes[-24:]}
    assert kept == newest


def test_a_probe_path_may_be_deeper_than_the_search_allows(monkeypatch):
    """The probes are iterative: a path of more decisions than the recursive search's cap
    (MAX_SEARCH_DEPTH) finishes (mc2022_track1_131's residual needs such paths). Branching on every
    variable of a sparse 1200-variable formula goes well past the cap."""
    from bpcount.search import MAX_SEARCH_DEPTH

    depths: list[int] = []
    node = probe_mod._node

    def recording(formula, st, depth, *args):
        depths.append(depth)
        return node(formula, st, depth, *args)

    monkeypatch.setattr(probe_mod, "_node", recording)
    f = random_3cnf(np.random.default_rng(11), 1200, 1800)
    res = _run(f, max_width=0, max_vars=0, max_probes=1, min_probes=1, budget=1e6, wall_limit=math.inf)
    assert max(depths) > MAX_SEARCH_DEPTH
    assert res.probes == 1 and 0.0 < res.ln_count <= 1200 * math.log(2.0)


def _switch_keeps_the_expectation(f: Formula, truth: float, monkeypatch, switch: str) -> bool:
    """Asserts E[Ẑ] = ``truth`` exactly with the probe option ``switch`` on and off (branching all the
    way down; undoes ``monkeypatch`` after); returns whether 8 probes with it on differ from 8 without."""
    for on in (True, False):
        ln_e, _ = expected_value(f, monkeypatch, max_width=0, max_vars=0, **{switch: on})
        assert ln_e == pytest.approx(truth, abs=1e-9)
    monkeypatch.undo()
    kw = {"max_width": 0, "max_vars": 0, "max_probes": 8, "budget": 1e6, "wall_limit": math.inf}
    return _run(f, **{switch: True}, **kw).ln_samples != _run(f, **{switch: False}, **kw).ln_samples


def test_inputs_first_keeps_the_expectation_on_circuits(monkeypatch):
    """Branching on the circuit's inputs first (``prefer_inputs``) changes the paths on random
    circuits and leaves E[Ẑ] = Z exactly."""
    from tests.test_gategraph import circuit_like

    rng = np.random.default_rng(21)
    changed = 0
    for _ in range(12):
        clauses, n = circuit_like(rng)
        f = Formula.from_clauses(clauses, n)
        truth = brute_log_count(f)
        if truth == -math.inf:
            continue
        changed += _switch_keeps_the_expectation(f, truth, monkeypatch, "prefer_inputs")
    assert changed >= 3


def test_groups_keep_the_expectation(monkeypatch):
    """Deciding exactly-one groups at once (``prefer_groups``) leaves E[Ẑ] = Z exactly, weighted or
    not, on random formulas with planted groups (random polarity, some with an exclusion missing, so
    that the clause is no group); group decisions did occur and did change the probes."""
    from tests.test_onehot import one_hot

    rng = np.random.default_rng(31)
    decided = changed = 0
    real = probe_mod._decide_group

    def counting(*args, **kw):
        nonlocal decided
        decided += 1
        return real(*args, **kw)

    for t in range(40):
        n = int(rng.integers(6, 10))
        clauses: list[list[int]] = []
        for start in range(0, n - 3, 4):
            group = [int(v) * int(rng.choice([-1, 1])) for v in range(start + 1, start + 5)][: int(rng.integers(3, 5))]
            planted = one_hot(group)
            clauses += planted if rng.random() < 0.8 else planted[:-1]
        clauses += [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, 3, replace=False) + 1]
                    for _ in range(int(rng.integers(1, n)))]
        if len({abs(x) for c in clauses for x in c}) < n:  # the probes take a residual: no free variable
            continue
        weighted = t % 2 == 1
        f = Formula.from_clauses(clauses, n, weights=rng.uniform(0.05, 1.0, (n, 2)) if weighted else None)
        truth = brute_log_count(f)
        if truth == -math.inf:
            continue
        monkeypatch.setattr(probe_mod, "_decide_group", counting)
        changed += _switch_keeps_the_expectation(f, truth, monkeypatch, "prefer_groups")
    assert decided > 20 and changed >= 5
