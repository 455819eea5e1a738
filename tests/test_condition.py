"""Conditioning on a loop cutset: the cutset, the branch formulas, the sum, and the engine wiring."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bpcount.cnf import Formula
from bpcount.condition import BranchOutcome, branches, combine, conditioning_vars, loop_cutset
from bpcount.estimate import CountOptions, count
from bpcount.simplify import simplify
from tests.conftest import brute_log_count


def random_bipartite(rng, nv, nf, e):
    """Distinct (variable, factor) edges."""
    pairs = {(int(rng.integers(nv)), int(rng.integers(nf))) for _ in range(e)}
    v, f = np.array(sorted(pairs)).T
    return v, f


def slow_cutset(nv, nf, v_of_e, f_of_e, max_vars):
    """Reference: remove leaves one at a time, pick the variable of largest degree (lowest number)."""
    alive = set(range(len(v_of_e)))

    def degrees():
        d = {}
        for e in alive:
            d[("v", v_of_e[e])] = d.get(("v", v_of_e[e]), 0) + 1
            d[("f", f_of_e[e])] = d.get(("f", f_of_e[e]), 0) + 1
        return d

    def peel():
        while True:
            d = degrees()
            leaf = next((e for e in sorted(alive) if d[("v", v_of_e[e])] == 1 or d[("f", f_of_e[e])] == 1), None)
            if leaf is None:
                return
            alive.discard(leaf)

    chosen = []
    peel()
    while len(chosen) < max_vars and alive:
        d = degrees()
        best = max(range(nv), key=lambda u: (d.get(("v", u), 0), -u))
        chosen.append(best)
        alive.difference_update([e for e in alive if v_of_e[e] == best])
        peel()
    return chosen, not alive


def is_forest(nv, nf, v_of_e, f_of_e):
    if len(v_of_e) == 0:
        return True
    nodes = np.unique(np.concatenate([v_of_e, nv + f_of_e]))
    adj = coo_matrix((np.ones(len(v_of_e)), (v_of_e, nv + f_of_e)), shape=(nv + nf, nv + nf))
    _, label = connected_components(adj, directed=False)
    return len(v_of_e) == len(nodes) - len(np.unique(label[nodes]))


@pytest.mark.parametrize("seed", range(40))
def test_loop_cutset_matches_reference_and_leaves_a_forest(seed):
    rng = np.random.default_rng(seed)
    nv, nf = int(rng.integers(3, 14)), int(rng.integers(2, 12))
    v, f = random_bipartite(rng, nv, nf, int(rng.integers(2, 30)))
    for max_vars in (1, 3, 100):
        got = loop_cutset(nv, v, f, nf, max_vars)
        assert got == slow_cutset(nv, nf, v.tolist(), f.tolist(), max_vars)
    chosen, complete = loop_cutset(nv, v, f, nf, 100)
    keep = ~np.isin(v, chosen)
    assert complete and is_forest(nv, nf, v[keep], f[keep])
    if chosen:  # the greedy cutset is not minimal, but it never takes a variable without a loop left
        assert not is_forest(nv, nf, v, f)


def test_loop_cutset_of_a_tree_and_a_cycle():
    # a path v0 - f0 - v1 - f1 - v2: no loop, nothing chosen
    assert loop_cutset(3, np.array([0, 1, 1, 2]), np.array([0, 0, 1, 1]), 2, 5) == ([], True)
    # a 4-cycle v0 - f0 - v1 - f1 - v0 with a pendant v2 on f1: one variable breaks it
    chosen, complete = loop_cutset(3, np.array([0, 1, 1, 0, 2]), np.array([0, 0, 1, 1, 1]), 2, 5)
    assert len(chosen) == 1 and chosen[0] in (0, 1) and complete


def residual_of(f):
    s = simplify(f, exact_max_vars=0, exact_max_width=0)
    assert s.residual is not None
    return s


@pytest.mark.parametrize("seed", range(25))
def test_branches_sum_to_the_exact_count(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(6, 11))
    clauses = [[int(x) * int(rng.choice([-1, 1])) for x in rng.choice(np.arange(1, n + 1), 3, replace=False)]
               for _ in range(int(rng.integers(n, 2 * n)))]
    f = Formula.from_clauses(clauses, n, weights=rng.uniform(0.1, 1.0, (n, 2)) if seed % 2 else None)
    truth = brute_log_count(f)
    if not math.isfinite(truth):
        return
    s = simplify(f, exact_max_vars=0, exact_max_width=0, equivalences=False)
    if s.residual is None:
        return
    r = s.residual
    variables = [int(x) for x in rng.choice(np.arange(1, r.num_vars + 1), min(3, r.num_vars), replace=False)]
    b = branches(r, variables)
    assert len(b.formulas) == 2 ** len(variables)
    outcomes = [BranchOutcome(brute_log_count(g), True) for g in b.formulas]
    assert combine(r.ln_offset, outcomes) == pytest.approx(truth, abs=1e-9)
    # and the chosen variables are fixed as claimed: branch 0 sets all of them true
    first = b.formulas[0].clauses()[-len(variables):]
    assert first == [[v] for v in variables]


def test_combine_rejects_unconverged_and_sums_unsat():
    assert combine(1.0, [BranchOutcome(0.0, True), BranchOutcome(0.0, False)]) is None
    assert combine(1.0, [BranchOutcome(-math.inf, True)] * 2) == -math.inf
    assert combine(1.0, [BranchOutcome(-math.inf, True), BranchOutcome(math.log(3), True),
                         BranchOutcome(math.log(5), True)]) == pytest.approx(1.0 + math.log(8))


def random_3cnf(rng, n, m):
    clauses = [[int(x) * int(rng.choice([-1, 1])) for x in rng.choice(np.arange(1, n + 1), 3, replace=False)]
               for _ in range(m)]
    return Formula.from_clauses(clauses, n)


def test_count_with_condition_is_exact_when_every_branch_is_enumerated():
    # 13 variables, enumeration up to 8: once ≥ 5 cutset variables are set, each branch is enumerated
    rng = np.random.default_rng(7)
    done = 0
    for _ in range(30):
        f = random_3cnf(rng, 13, 40)
        truth = brute_log_count(f)
        if not math.isfinite(truth):
            continue
        plain, cond = (count([f], options=CountOptions(method="bp", device="cpu", exact_max_vars=8, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0, sat_check=False,
                                                       condition=c))[0] for c in (0, 16))
        info = cond.stats["conditioning"]
        if not cond.exact:
            continue
        assert info["used"] and info["exact_branches"] == info["branches"] == 2 ** info["vars"]
        assert cond.ln_count == pytest.approx(truth, abs=1e-9) and cond.converged
        assert info["unconditioned"] == plain.ln_count and not plain.exact
        done += 1
    assert done >= 5


def test_count_keeps_the_plain_estimate_when_a_branch_does_not_converge():
    rng = np.random.default_rng(3)
    f = random_3cnf(rng, 30, 120)
    opts = dict(method="bp", device="cpu", exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0, sat_check=False, max_iters=2)
    plain = count([f], options=CountOptions(**opts))[0]
    cond = count([f], options=CountOptions(**opts, condition=4))[0]
    info = cond.stats["conditioning"]
    assert info["vars"] == 4 and not info["used"] and info["reason"] == "a branch did not converge"
    assert cond.ln_count == plain.ln_count and not cond.converged


def test_conditioning_vars_budget():
    rng = np.random.default_rng(5)
    r = residual_of(random_3cnf(rng, 30, 120)).residual
    assert conditioning_vars(r, 0) == []
    got = conditioning_vars(r, 5)
    assert len(got) == 5 and len(set(got)) == 5 and all(1 <= v <= r.num_vars for v in got)


def test_negative_condition_is_refused():
    with pytest.raises(ValueError, match="condition"):
        count([random_3cnf(np.random.default_rng(0), 30, 120)], options=CountOptions(method="bp", condition=-1))
