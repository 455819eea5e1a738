"""Exact component-caching search: equal to brute force and pyganak, budgets honoured, wired into count()."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bpcount.cnf import Formula
from bpcount.estimate import CountOptions, count
from bpcount.search import search_log_count
from bpcount.simplify import simplify
from tests.conftest import REPO, brute_log_count, ganak_log_count, random_formula


def random_3cnf(rng: np.random.Generator, n: int, m: int) -> Formula:
    """m clauses of 3 distinct variables out of n, random signs."""
    return Formula.from_clauses([[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, 3, replace=False) + 1]
                                 for _ in range(m)], n)


def full_search(f: Formula, **kw):
    """Search the whole formula, branching all the way down (no enumeration, no elimination)."""
    lw = None if f.weights is None else np.log(f.weights)
    return search_log_count(f.num_vars, f.lits, f.clause_ptr, lw, **{"max_vars": 0, "max_width": 0, **kw})


def test_equal_to_brute_force_on_random_formulas():
    rng = np.random.default_rng(0)
    branched = hits = weighted_hits = unsat = 0
    for t in range(300):
        n = int(rng.integers(1, 13))
        f = random_formula(rng, n, int(rng.integers(0, 4 * n + 1)), kmax=int(rng.integers(2, 5)), weighted=t % 2 == 1)
        res = full_search(f, budget=60.0)
        truth = brute_log_count(f)
        assert res.ln_count == pytest.approx(truth, abs=1e-9) if math.isfinite(truth) else res.ln_count == -math.inf
        branched += res.nodes > 1
        hits += res.cache_hits
        weighted_hits += res.cache_hits if f.weights is not None else 0
        unsat += truth == -math.inf
    assert branched > 150 and hits > 0 and weighted_hits > 0 and unsat > 10  # the cases above did occur


def test_cached_components_keep_their_weights():
    """Two branches leave the same clauses over x with different weights on x: when b holds, y ≡ x
    and y's weight folds into x's; when it does not, y is free. A cache keyed on clauses alone
    would give both branches one count."""
    rng = np.random.default_rng(3)
    for _round in range(20):
        core = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(np.arange(1, 7), 3, replace=False)]
                for _ in range(8)]
        b, y = 7, 8
        clauses = core + [[-b, -1, y], [-b, 1, -y]]
        w = rng.uniform(0.05, 1.0, (8, 2))
        f = Formula.from_clauses(clauses, 8, weights=w)
        res = full_search(f, budget=60.0)
        truth = brute_log_count(f)
        assert res.ln_count == pytest.approx(truth, abs=1e-9) if math.isfinite(truth) else res.ln_count == -math.inf


def test_free_variables_and_extreme_weights():
    # variable 3 occurs in no clause: ln(w3 + w̄3) is added; weights of 1e-200 survive normalisation
    w = np.array([[1e-200, 1.0], [0.5, 0.5], [0.25, 0.75], [1.0, 1e-200]])
    f = Formula.from_clauses([[1, 2], [-1, 4], [2, -4]], 4, weights=w)
    res = full_search(f, budget=60.0)
    assert res.ln_count == pytest.approx(brute_log_count(f), abs=1e-9)
    # x1 = 0 forces x2, x4 is free; x1 = 1 forces x4 and then x2
    closed = w[0, 0] * w[1, 1] * (w[3, 0] + w[3, 1]) + w[0, 1] * w[1, 1] * w[3, 1]
    assert res.ln_count == pytest.approx(math.log(closed), abs=1e-9)
    g = Formula.from_clauses([[1, 2]], 5)  # variables 3..5 free
    assert full_search(g, budget=60.0).ln_count == pytest.approx(math.log(3 * 8), abs=1e-12)


def test_larger_formulas_match_pyganak():
    rng = np.random.default_rng(5)
    decided = 0
    for _ in range(8):
        n = int(rng.integers(30, 45))
        f = random_3cnf(rng, n, int(3.0 * n))
        s = simplify(f, exact_max_width=0)
        if s.residual is None:
            continue
        r = s.residual
        res = search_log_count(r.num_vars, r.lits, r.clause_ptr, r.log_phi, budget=60.0, max_width=10)
        exact = ganak_log_count(n, f.clauses())
        got = s.ln_exact + res.ln_count
        assert got == exact if exact == -math.inf else got == pytest.approx(exact, abs=1e-9)
        decided += res.nodes > 1
    assert decided >= 4


def test_budgets_give_no_count():
    f = random_3cnf(np.random.default_rng(1), 12, 30)
    assert full_search(f, budget=0.0).ln_count is None
    few = full_search(f, budget=60.0, max_nodes=3)
    assert few.ln_count is None and few.nodes == 4  # the node that ran over the bound is counted
    assert full_search(f, budget=60.0).ln_count is not None


def test_count_uses_the_search_and_reports_it():
    f = random_3cnf(np.random.default_rng(2), 40, 110)
    truth = ganak_log_count(40, f.clauses())
    base = dict(method="bp", exact_max_vars=0, exact_max_width=0, enum_models=0)
    (on,) = count([f], options=CountOptions(**base, search_budget=60.0))
    (off,) = count([f], options=CountOptions(**base, search_budget=0, probe_budget=0))
    assert on.exact and on.stats["search"]["decided"] and on.stats["search"]["nodes"] > 1
    assert on.ln_count == pytest.approx(truth, abs=1e-9) and on.satisfiable is True
    assert not off.exact and "search" not in off.stats and off.ln_count != pytest.approx(truth, abs=1e-9)
    (unsat,) = count([Formula.from_clauses([[1, 2], [1, -2], [-1, 2], [-1, -2], [3, 4]], 4)],
                     options=CountOptions(**base, sat_check=False, search_budget=60.0))
    assert unsat.exact and unsat.ln_count == -math.inf and unsat.satisfiable is False


def test_shipped_example_is_left_to_the_model():
    """The README's example must exercise the learned model: the exact stages give up on it."""
    (r,) = count([str(REPO / "examples" / "example.cnf")], options=CountOptions(method="bp"))
    assert not r.exact and r.stats["search"]["decided"] is False


def test_cache_key_is_the_formula():
    """Equal keys exactly for equal sub-formulas: clause and literal order do not matter, weights do."""
    from bpcount.search import _Component

    def comp(clauses, log_phi=None):
        lits = np.array([x for c in clauses for x in c], dtype=np.int64)
        ptr = np.concatenate([[0], np.cumsum([len(c) for c in clauses])]).astype(np.int64)
        return _Component(3, lits, ptr, log_phi)

    w = np.log(np.array([[0.5, 1.0], [1.0, 0.25], [1.0, 1.0]]))
    a = comp([[1, -2], [2, 3, -1]])
    assert a.key() == comp([[-1, 3, 2], [-2, 1]]).key()
    assert a.key() != comp([[1, -2], [2, 3, 1]]).key()
    assert a.key() != comp([[1, -2], [2, 3, -1]], w).key()
    assert comp([[1, -2], [2, 3, -1]], w).key() != comp([[1, -2], [2, 3, -1]], w[[1, 0, 2]]).key()


def test_depth_bound_gives_no_count(monkeypatch):
    import bpcount.search as search

    f = random_3cnf(np.random.default_rng(4), 14, 40)
    assert full_search(f, budget=60.0).ln_count is not None
    monkeypatch.setattr(search, "MAX_SEARCH_DEPTH", 1)
    assert full_search(f, budget=60.0).ln_count is None


def test_a_failing_search_leaves_the_estimate(monkeypatch):
    import bpcount.estimate as estimate

    def broken(*args, **kwargs):
        raise MemoryError("table too large")

    monkeypatch.setattr(estimate, "search_log_count", broken)
    f = random_3cnf(np.random.default_rng(2), 40, 110)
    (r,) = count([f], options=CountOptions(method="bp", exact_max_vars=0, exact_max_width=0, enum_models=0))
    assert r.status == "ok" and not r.exact and r.stats["search"] == {"decided": False,
                                                                       "error": "MemoryError: table too large"}


def test_branches_inside_the_part_that_blocks_elimination():
    """A hub in 30 binary clauses (a star: eliminable) beside a 6-clique (too wide at width 3): the
    search branches on a clique variable, not on the variable in most clauses."""
    from bpcount.search import DEFAULT_WORK_MODEL, _branch, _Component, _State

    hub, leaves, clique = 1, list(range(2, 32)), list(range(32, 38))
    clauses = [[hub, v] for v in leaves] + [[u, v] for i, u in enumerate(clique) for v in clique[i + 1:]]
    clauses.append([leaves[0], clique[0]])
    lits = np.array([x for c in clauses for x in c], dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum([len(c) for c in clauses])]).astype(np.int64)
    comp = _Component(37, lits, ptr, None)

    def state(width):
        return _State(budget=math.inf, deadline=math.inf, max_nodes=10, max_width=width, max_vars=20,
                      model=DEFAULT_WORK_MODEL)

    assert _branch(comp, state(3), None)[0] in clique
    assert _branch(comp, state(0), None)[0] == hub  # no width: the variable in most clauses


def test_a_stuck_set_found_for_branching_is_carried_into_the_branches():
    """When elimination was refused before its order ran (here a clause wider than the width), the
    branching step finds the stuck set itself; it hands that set, without the branching variable, to
    the branches (the hint), instead of dropping it and making every branch find it again."""
    from bpcount.search import DEFAULT_WORK_MODEL, _branch, _Component, _eliminate, _State

    clique = list(range(1, 8))  # a 7-clique (too wide at width 3) and one clause of 6 literals
    clauses = [[u, v] for i, u in enumerate(clique) for v in clique[i + 1:]] + [[8, 9, 10, 11, 12, 1]]
    lits = np.array([x for c in clauses for x in c], dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum([len(c) for c in clauses])]).astype(np.int64)
    comp = _Component(12, lits, ptr, None)
    st = _State(budget=math.inf, deadline=math.inf, max_nodes=10, max_width=3, max_vars=20,
                model=DEFAULT_WORK_MODEL)
    ln, stuck = _eliminate(comp, st)
    assert ln is None and stuck is None  # refused by the clause-width test: no order ran
    x, hint = _branch(comp, st, None)
    assert x in clique and hint is not None
    carried = set((hint[0] + 1).tolist())
    assert x not in carried and set(clique) - {x} <= carried


def test_components_are_eliminated_inside_the_search_once_each(monkeypatch):
    """With a narrow elimination width the search both eliminates and branches: still equal to brute
    force, and no component is eliminated twice (a part of a component that a decision does not
    touch is the same on both sides, and the second time it comes from the cache)."""
    import bpcount.search as search

    calls: dict[bytes, int] = {}
    real = search.eliminate

    def counting(num_vars, lits, clause_ptr, log_weights, order):
        key = search._Component(num_vars, np.asarray(lits), np.asarray(clause_ptr), log_weights).key()
        calls[key] = calls.get(key, 0) + 1
        return real(num_vars, lits, clause_ptr, log_weights, order)

    monkeypatch.setattr(search, "eliminate", counting)
    rng = np.random.default_rng(3)
    eliminated = 0
    for t in range(200):
        n = int(rng.integers(4, 14))
        f = random_formula(rng, n, int(rng.integers(n, 3 * n)), kmax=3, weighted=t % 2 == 1)
        truth = brute_log_count(f)
        s = simplify(f, exact_max_vars=0, exact_max_width=0)  # the search's input: a residual
        if s.unsat or s.residual is None:
            continue
        r = s.residual
        calls.clear()
        res = search_log_count(r.num_vars, r.lits, r.clause_ptr, r.log_phi, budget=60.0, max_vars=0, max_width=2)
        got = s.ln_exact + res.ln_count
        assert got == pytest.approx(truth, abs=1e-9) if math.isfinite(truth) else got == -math.inf
        assert all(c == 1 for c in calls.values()), t
        eliminated += len(calls)
    assert eliminated > 30  # 50 with this seed
    # x = 1 sits in a 5-clique with 11..14 (too wide at width 2: branched on) and forces y = 2 on
    # both sides ((1 ∨ 2), (¬1 ∨ 2)); the path 3..10 hanging off y is then the same component in
    # both branches: eliminated in the first, taken from the cache in the second
    clique = [[a, b, c] for a, b, c in itertools.combinations([1, 11, 12, 13, 14], 3)]
    path = [[2, 3]] + [[-v, v + 1] for v in range(3, 10)]
    f = Formula.from_clauses(clique + [[1, 2], [-1, 2]] + path, 14)
    calls.clear()
    res = search_log_count(f.num_vars, f.lits, f.clause_ptr, None, budget=60.0, max_vars=0, max_width=2)
    assert res.ln_count == pytest.approx(brute_log_count(f), abs=1e-9)
    assert res.cache_hits > 0 and len(calls) > 0 and all(c == 1 for c in calls.values())
    # the stuck sets came with the failed elimination attempts: the order never ran a second time
    monkeypatch.setattr(search, "stuck_variables", lambda *a, **k: pytest.fail("order run twice"))
    again = search_log_count(f.num_vars, f.lits, f.clause_ptr, None, budget=60.0, max_vars=0, max_width=2)
    assert again.ln_count == res.ln_count and again.nodes == res.nodes


def test_stuck_sets_are_carried_into_the_components_in_their_own_numbering():
    """_carry maps the parent's stuck variables through the simplifier's renumbering and the
    component split: each component gets exactly the stuck variables it holds, with their degrees."""
    from bpcount.search import _carry, _components

    rng = np.random.default_rng(8)
    checked = 0
    for _ in range(40):
        n = int(rng.integers(15, 40))
        f = random_3cnf(rng, n, int(rng.integers(n, 2 * n)))
        stuck = np.sort(rng.choice(n, int(rng.integers(1, n)), replace=False))
        degree = rng.integers(1, 50, len(stuck))
        x = int(rng.integers(1, n + 1))
        g = Formula.from_clauses(f.clauses() + [[x]], n)
        s = simplify(g, exact_max_vars=0, exact_max_width=0)
        if s.residual is None:
            continue
        r = s.residual
        comps = _components(r.num_vars, r.lits, r.clause_ptr, None)
        hints = _carry((stuck, degree), comps, r.orig_var, n)
        for comp, (local, deg) in zip(comps, hints):
            parent = r.orig_var[comp.origin - 1] - 1  # 0-based variables of g, per local variable
            want = {int(v): int(d) for v, d in zip(stuck, degree) if v in set(parent.tolist())}
            assert {int(parent[i]): int(d) for i, d in zip(local, deg)} == want
            checked += len(want)
    assert checked > 100


def test_branching_on_carried_stuck_sets_stays_exact(monkeypatch):
    """With the threshold at 1 every child branches on its parent's stuck set without an elimination
    attempt of its own: counts still equal brute force, and fewer orders are computed."""
    import bpcount.search as search

    calls = {"orders": 0}
    real = search.greedy_order

    def counting(*a, **k):
        calls["orders"] += 1
        return real(*a, **k)

    monkeypatch.setattr(search, "greedy_order", counting)
    rng = np.random.default_rng(9)
    totals = {}
    for threshold in (10**9, 1):
        monkeypatch.setattr(search, "HINT_MIN_STUCK", threshold)
        calls["orders"] = 0
        rng = np.random.default_rng(9)
        for _ in range(25):
            n = int(rng.integers(8, 14))
            f = random_3cnf(rng, n, int(rng.integers(n, 3 * n)))
            s = simplify(f, exact_max_vars=0, exact_max_width=0)
            if s.residual is None:
                continue
            r = s.residual
            res = search_log_count(r.num_vars, r.lits, r.clause_ptr, r.log_phi, budget=60.0, max_vars=0,
                                   max_width=2)
            truth = brute_log_count(f)
            assert s.ln_exact + res.ln_count == pytest.approx(truth, abs=1e-9) if math.isfinite(truth) \
                else res.ln_count == -math.inf
        totals[threshold] = calls["orders"]
    assert totals[1] < totals[10**9]


def test_cache_key_ignores_clause_order_and_repeated_clauses_on_random_formulas():
    """The key is the clause *set*: shuffled clauses, shuffled literals and repeated clauses give the
    same key; changing one literal gives another."""
    from bpcount.search import _Component

    def comp(clauses, n):
        lits = np.array([x for c in clauses for x in c], dtype=np.int64)
        ptr = np.concatenate([[0], np.cumsum([len(c) for c in clauses])]).astype(np.int64)
        return _Component(n, lits, ptr, None)

    rng = np.random.default_rng(12)
    for _ in range(200):
        n = int(rng.integers(3, 30))
        clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, int(rng.integers(1, min(n, 6) + 1)),
                                                                          replace=False) + 1]
                   for _ in range(int(rng.integers(1, 40)))]
        key = comp(clauses, n).key()
        again = [list(rng.permutation(c)) for c in clauses] + [clauses[int(rng.integers(len(clauses)))]]
        assert comp([again[i] for i in rng.permutation(len(again))], n).key() == key
        changed = [list(c) for c in clauses]
        changed[0][0] = -changed[0][0]
        if sorted(map(sorted, changed)) != sorted(map(sorted, clauses)) and \
                {tuple(sorted(c)) for c in changed} != {tuple(sorted(c)) for c in clauses}:
            assert comp(changed, n).key() != key


@pytest.mark.parametrize("multiplier", [0, 1])
def test_cache_key_stays_exact_when_every_row_hash_collides(monkeypatch, multiplier):
    """With a degenerate row hash (multiplier 0: a clause's hash is its first literal; 1: the sum of
    its literals) clauses collide all the time: keys may then miss a repeat, but equal keys must
    still mean equal clause sets."""
    import bpcount.search as search

    monkeypatch.setattr(search, "KEY_HASH_MULTIPLIER", np.int64(multiplier))

    def comp(clauses, n):
        lits = np.array([x for c in clauses for x in c], dtype=np.int64)
        ptr = np.concatenate([[0], np.cumsum([len(c) for c in clauses])]).astype(np.int64)
        return search._Component(n, lits, ptr, None)

    rng = np.random.default_rng(14)
    seen: dict[bytes, frozenset] = {}
    for _ in range(600):
        n = 4
        clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, int(rng.integers(1, 4)), replace=False) + 1]
                   for _ in range(int(rng.integers(1, 5)))]
        as_set = frozenset(tuple(sorted(c)) for c in clauses)
        key = comp(clauses, n).key()
        assert seen.setdefault(key, as_set) == as_set, clauses
    assert len(set(seen.values())) > 200


def test_budget_is_charged_work_not_wall_time(monkeypatch):
    """The search charges each step the reference-machine seconds its size predicts (WorkModel), so
    what it decides does not depend on the clock: a clock that races ahead (a machine far slower than
    the reference) changes nothing while the wall-clock limit is off, and stops the search when it
    is on."""
    import bpcount.search as search

    rng = np.random.default_rng(11)
    f = random_3cnf(rng, 40, 150)
    r = simplify(f).residual
    assert r is not None
    args = (r.num_vars, r.lits, r.clause_ptr, r.log_phi)
    normal = search.search_log_count(*args, budget=60.0)
    assert normal.ln_count is not None and normal.nodes > 1 and normal.work > 0

    class RacingClock:
        """time.monotonic advancing 1000 s per call."""

        def __init__(self):
            self.now = 0.0

        def monotonic(self):
            self.now += 1000.0
            return self.now

    monkeypatch.setattr(search, "time", RacingClock())
    slow = search.search_log_count(*args, budget=60.0, wall_limit=math.inf)
    assert (slow.ln_count, slow.nodes, slow.cache_hits, slow.work) == (normal.ln_count, normal.nodes,
                                                                       normal.cache_hits, normal.work)
    assert search.search_log_count(*args, budget=60.0).ln_count is None  # default limit: 5 × 60 s


def test_budget_stops_exactly_where_the_charges_pass_it():
    """A budget of the work a decided search was charged decides it again; a little less does not.
    With a model charging 1 s per node and nothing else, the budget is a node count."""
    from bpcount.search import WorkModel

    rng = np.random.default_rng(12)
    f = random_3cnf(rng, 40, 150)
    r = simplify(f).residual
    args = (r.num_vars, r.lits, r.clause_ptr, r.log_phi)
    full = search_log_count(*args, budget=60.0, wall_limit=math.inf)
    assert full.ln_count is not None and full.nodes > 3
    again = search_log_count(*args, budget=full.work * (1 + 1e-9), wall_limit=math.inf)
    assert again.ln_count == full.ln_count and again.work == full.work
    assert search_log_count(*args, budget=full.work * (1 - 1e-6), wall_limit=math.inf).ln_count is None

    per_node = WorkModel(**{name: 0.0 for name in WorkModel.__dataclass_fields__} | {"node": 1.0})
    counted = search_log_count(*args, budget=1e9, work_model=per_node)
    assert counted.ln_count == full.ln_count and counted.work == counted.nodes == full.nodes
    cut = search_log_count(*args, budget=full.nodes - 1.5, work_model=per_node)
    assert cut.ln_count is None and cut.nodes == full.nodes - 1 and cut.work == full.nodes - 1


@pytest.mark.parametrize("weighted", [False, True])
def test_an_unfinished_search_gives_a_lower_bound(weighted):
    """Cut short at every node limit, the search's ln_lower never exceeds the exact ln Z, is often
    finite, grows with the nodes allowed, and equals the count once the search finishes."""
    from bpcount.search import search_log_count

    rng = np.random.default_rng(17 + weighted)
    finite = 0
    for _ in range(8):
        f = random_3cnf(rng, 12, int(rng.integers(20, 40)))
        if weighted:
            f = Formula.from_clauses(f.clauses(), 12, weights=rng.uniform(0.05, 1.0, size=(12, 2)))
        truth = brute_log_count(f)
        lw = None if f.weights is None else np.log(f.weights)
        args = (f.num_vars, f.lits, f.clause_ptr, lw)
        full = search_log_count(*args, budget=60.0, max_vars=0, max_width=0)
        assert full.ln_lower == full.ln_count
        previous = -math.inf
        for nodes in range(1, full.nodes):
            cut = search_log_count(*args, budget=60.0, max_vars=0, max_width=0, max_nodes=nodes)
            assert cut.ln_count is None
            assert cut.ln_lower <= truth + 1e-9
            assert cut.ln_lower >= previous - 1e-9  # a DFS that gets further has counted more
            previous = cut.ln_lower
            finite += math.isfinite(cut.ln_lower)
    assert finite > 20
