"""Neighbourhood BP (KCN) against brute-force enumeration and against the core BP."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from loopy_helpers import block_tree_edges, brute_model, clump_tree, linear_formula, part

from bpcount.bp import run_bp
from bpcount.graph import build_batch
from bpcount.loopy import LoopyCapError, estimate_graph
from bpcount.loopy.engine import KCNSolver
from bpcount.loopy.model import ising_model, model_from_graph


def kcn_ising(model, radius, **kw):
    """KCN (P1 (n,), E_{b_i}[ln ψ_a] averaged over a's endpoints (F,), CVM ln Z) on a model."""
    solver = KCNSolver(model, radius)
    sol = solver.solve(damping=0.0, max_iters=3000, tol=1e-13, **kw)
    assert bool(sol.converged.all())
    blocks = solver.beliefs(sol)
    nodes, facs, vals = solver.factor_expectations(blocks, 1.0)
    e = np.zeros(model.num_factors)
    np.add.at(e, facs, vals / 2.0)
    _, log_z = solver.cvm(blocks, 1.0)
    return solver.p_one(blocks), e, float(log_z[0])


def test_r0_equals_bethe_on_girth6_batch():
    # r = 0 is factor-graph BP when no two clauses share two variables (kcn.md §11); the CVM region
    # family then reduces to the Bethe free energy. Tolerance: both solved to 1e-14.
    rng = np.random.default_rng(2)
    parts = []
    for t in range(6):
        n = 30
        log_phi = rng.normal(size=(n, 2)) * 0.3 if t % 2 else None
        parts.append(part(n, linear_formula(rng, n, 25), log_phi))
    g = build_batch(parts)
    bp = run_bp(g, damping=0.0, max_iters=5000, tol=1e-14)
    res = estimate_graph(g, radius=0, damping=0.0, max_iters=5000, tol=1e-14)
    assert bool(res.converged.all()) and bool(bp.converged.all())
    assert res.log_z.dtype == torch.float64 and res.log_z.shape == (6,)
    assert torch.allclose(res.log_z, bp.log_z, atol=1e-10, rtol=0)


def test_clump_trees_exact_at_r2_not_at_r0():
    # every cycle of the factor graph passes through ≤ 3 clauses, so r = 2 is exact (kcn.md §11)
    rng = np.random.default_rng(5)
    worst0, parts, refs, margs = 0.0, [], [], []
    for _ in range(8):
        n, clauses = clump_tree(rng)
        log_phi = rng.normal(size=(n, 2)) * 0.4
        parts.append(part(n, clauses, log_phi))
    g = build_batch(parts)
    offs = g.var_ptr
    for b in range(len(parts)):
        sub = build_batch([parts[b]])
        lz, p1, _ = brute_model(model_from_graph(sub))
        refs.append(lz)
        margs.append(p1)
    res2 = estimate_graph(g, radius=2, damping=0.2, max_iters=3000, tol=1e-13)
    res0 = estimate_graph(g, radius=0, damping=0.2, max_iters=3000, tol=1e-13)
    assert bool(res2.converged.all())
    np.testing.assert_allclose(res2.log_z.numpy(), refs, atol=1e-9)
    for b in range(len(parts)):
        np.testing.assert_allclose(res2.marginals[offs[b]:offs[b + 1]].numpy(), margs[b], atol=1e-9)
        worst0 = max(worst0, abs(float(res0.log_z[b]) - refs[b]))
    assert worst0 > 1e-4  # r = 0 must not be exact on these loopy clusters
    assert res2.stats[0]["radius"] == 2 and res2.stats[0]["local_sums_sampled"] == 0


def test_batch_equals_single():
    rng = np.random.default_rng(9)
    parts = [part(*clump_tree(rng, 3)) for _ in range(3)]
    both = estimate_graph(build_batch(parts), radius=1, tol=1e-12, max_iters=3000)
    for b, p in enumerate(parts):
        one = estimate_graph(build_batch([p]), radius=1, tol=1e-12, max_iters=3000)
        assert abs(float(one.log_z[0]) - float(both.log_z[b])) < 1e-9


def test_ln_offset_included():
    rng = np.random.default_rng(1)
    p = part(*clump_tree(rng, 2))
    p.ln_offset = 3.25
    g = build_batch([p])
    res = estimate_graph(g, radius=2, tol=1e-12, max_iters=2000)
    ref, _, _ = brute_model(model_from_graph(g))
    assert abs(float(res.log_z[0]) - (ref + 3.25)) < 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_ising_block_trees_exact_when_circumference_le_r_plus_2(seed):
    # sufficient condition of kcn.md §6: every block's circumference ≤ r + 2 ⇒ P, U and ln Z exact
    rng = np.random.default_rng(seed)
    n, edges, circ = block_tree_edges(rng, blocks=4)
    edges = np.array(edges)
    beta = rng.uniform(0.2, 0.9)
    model = ising_model(n, edges, rng.choice([-1.0, 1.0], len(edges)) * rng.uniform(0.5, 1.5, len(edges)),
                        rng.normal(0, 0.3, n)).scaled(beta)
    lz, p1, e = brute_model(model)
    kp, ke, klz = kcn_ising(model, circ - 2)
    np.testing.assert_allclose(kp, p1, atol=1e-10)
    np.testing.assert_allclose(ke, e, atol=1e-10)
    assert abs(klz - lz) < 1e-9
    if circ >= 4:  # one radius less is not exact in general
        kp, _, klz = kcn_ising(model, circ - 4 if circ - 4 >= 0 else 0)
        assert max(np.abs(kp - p1).max(), abs(klz - lz)) > 1e-6


def test_trees_exact_for_every_radius():
    rng = np.random.default_rng(3)
    n = 12
    edges = np.array([(i, int(rng.integers(0, i))) for i in range(1, n)])
    model = ising_model(n, edges, rng.normal(0, 1, n - 1), rng.normal(0, 0.5, n)).scaled(0.7)
    lz, p1, _ = brute_model(model)
    for r in range(4):
        kp, _, klz = kcn_ising(model, r)
        np.testing.assert_allclose(kp, p1, atol=1e-12)
        assert abs(klz - lz) < 1e-10


def test_diamond_counterexample():
    # two triangles sharing an edge: no chordless cycle longer than 3, yet r = 1 is not exact (kcn.md §6)
    edges = np.array([(0, 1), (1, 2), (2, 0), (1, 3), (3, 2), (0, 4), (3, 5)])
    rng = np.random.default_rng(0)
    model = ising_model(6, edges, np.ones(len(edges)), rng.normal(0, 0.3, 6)).scaled(0.6)
    lz, p1, _ = brute_model(model)
    kp1, _, lz1 = kcn_ising(model, 1)
    kp2, _, lz2 = kcn_ising(model, 2)
    assert np.abs(kp1 - p1).max() > 1e-4
    assert np.abs(kp2 - p1).max() < 1e-12 and abs(lz2 - lz) < 1e-10


def test_monte_carlo_regions_close_to_enumeration():
    # capping components at 3 variables forces sampled local sums; importance weights + ESS reported
    rng = np.random.default_rng(11)
    n, clauses = clump_tree(rng, 3)
    g = build_batch([part(n, clauses, rng.normal(size=(n, 2)) * 0.2)])
    exact = estimate_graph(g, radius=0, tol=1e-10, max_iters=2000)
    mc = estimate_graph(g, radius=0, tol=1e-10, max_iters=2000, max_region_vars=3, mc_samples=20000, seed=1)
    st = mc.stats[0]
    assert st["local_sums_sampled"] > 0 and st["min_ess"] is not None and st["min_ess"] > 100
    assert st["capped_regions"] > 0
    assert np.abs(mc.marginals.numpy() - exact.marginals.numpy()).max() < 0.03
    assert abs(float(mc.log_z[0]) - float(exact.log_z[0])) < 0.15 * n / 10


def test_message_cap_error():
    rng = np.random.default_rng(0)
    g = build_batch([part(*clump_tree(rng, 3))])
    with pytest.raises(LoopyCapError, match=re.escape("above the cap of 5")):
        estimate_graph(g, radius=1, max_messages=5)


def test_stats_are_json_serialisable():
    import json

    rng = np.random.default_rng(4)
    g = build_batch([part(*clump_tree(rng, 3))])
    res = estimate_graph(g, radius=1)
    json.dumps(res.stats)
    assert res.stats[0]["region_vars_max"] >= 4 and res.iterations.dtype == torch.int64


def test_batch_with_empty_and_tiny_formulas():
    g = build_batch([part(3, [[1, 2], [-2, 3]]), part(0, []), part(2, [[1, -2]])])
    res = estimate_graph(g, radius=1, tol=1e-12, max_iters=500)
    np.testing.assert_allclose(res.log_z.numpy(), np.log([4.0, 1.0, 3.0]), atol=1e-10)
    assert bool(res.converged.all()) and res.stats[1]["num_messages"] == 0


def test_table_budget_lowers_enumeration_cap_then_errors():
    from bpcount.loopy.engine import _entries

    rng = np.random.default_rng(7)
    n = 40
    clauses = [[int(v + 1) * (1 if rng.random() < 0.5 else -1) for v in rng.choice(n, 3, replace=False)]
               for _ in range(90)]
    model = model_from_graph(build_batch([part(n, clauses)]))
    full = KCNSolver(model, 1)
    msub, nsub = full.msg_sub.sizes, full.node_sub.sizes
    biggest = int(max(msub.max(), nsub.max()))
    assert biggest > 11  # dense enough for the capped case below
    assert full.enum_cap == min(20, biggest)
    assert full.num_sampled_sums == int((msub > full.enum_cap).sum() + (nsub > full.enum_cap).sum())
    with pytest.raises(LoopyCapError, match="do not fit in"):
        KCNSolver(model, 1, max_table_entries=_entries(nsub, msub, 10) - 1)
    capped = KCNSolver(model, 1, max_table_entries=_entries(nsub, msub, 11), max_sampled_regions=100_000,
                       mc_samples=100)
    assert capped.enum_cap == 11 and capped.num_sampled_sums > 0


def test_high_degree_star_is_enumerated_per_component():
    # a hub in 12 clauses has a 25-variable star (above the cap of 20), but once the hub is fixed
    # its star splits into 12 two-variable components: nothing is sampled and r = 0 is still Bethe
    rng = np.random.default_rng(3)
    clauses = [[1 if rng.random() < 0.5 else -1, 2 * c + 2, -(2 * c + 3)] for c in range(12)]
    clauses += [[2, 4, -6], [-3, 8, 10]]  # a few more links between the spokes (no shared pairs)
    g = build_batch([part(25, clauses, rng.normal(size=(25, 2)) * 0.3)])
    res = estimate_graph(g, radius=0, damping=0.0, max_iters=3000, tol=1e-14)
    bp = run_bp(g, damping=0.0, max_iters=3000, tol=1e-14)
    st = res.stats[0]
    assert st["region_vars_max"] == 25 and st["local_sums_sampled"] == 0 and st["enumeration_cap"] <= 5
    assert abs(float(res.log_z[0]) - float(bp.log_z[0])) < 1e-10


def test_thermodynamic_integration_exact_on_clump_trees():
    # TI is exact wherever KCN is exact at every β (here r = 2 on clump trees); the residual is the
    # 48-node Gauss–Legendre quadrature error of a smooth integrand
    rng = np.random.default_rng(21)
    parts = []
    for _ in range(3):
        n, clauses = clump_tree(rng, 3)
        parts.append(part(n, clauses, rng.normal(size=(n, 2)) * 0.4))
    g = build_batch(parts)
    res = estimate_graph(g, radius=2, estimator="ti", tol=1e-11, max_iters=2000)
    refs = [brute_model(model_from_graph(build_batch([p])))[0] for p in parts]
    assert res.stats[0]["estimator"] == "ti" and bool(res.converged.all())
    np.testing.assert_allclose(res.log_z.numpy(), refs, atol=1e-6)
    bad = estimate_graph(g, radius=0, estimator="ti", tol=1e-11, max_iters=2000)
    assert np.abs(bad.log_z.numpy() - refs).max() > 1e-4
    with pytest.raises(ValueError, match="estimator must be one of"):
        estimate_graph(g, estimator="bethe")
