"""BP engine: closed forms vs dense enumeration, exactness on trees, batching, dtypes, devices."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from bpcount.bp import (
    bethe_log_z,
    bethe_terms,
    bp_step,
    clause_to_var,
    log1mexp,
    run_bp,
    var_to_clause,
)
from bpcount.cnf import Formula
from bpcount.graph import build_batch
from bpcount.simplify import simplify
from tests.conftest import brute_log_count, random_formula, random_tree_formula


def part_of(clauses, n, log_phi=None):
    """A simplified residual with the original numbering (formulas here have no units/free vars)."""
    f = Formula.from_clauses(clauses, n, weights=None if log_phi is None else np.exp(log_phi))
    s = simplify(f, exact_max_vars=0, exact_max_width=0)
    assert s.residual is not None and s.residual.num_vars == n
    return s.residual


def dense_clause_message(k, signs, incoming):
    """ν_{a→i}(x_i) for i = 0 by summing ψ_a over all 2^k assignments (reference)."""
    out = np.zeros(2)
    for x in itertools.product((0, 1), repeat=k):
        sat = any((s > 0) == bool(v) for s, v in zip(signs, x))
        if sat:
            out[x[0]] += np.prod([incoming[j][x[j]] for j in range(1, k)])
    return out / out.sum()


def test_clause_message_matches_dense_enumeration():
    rng = np.random.default_rng(0)
    for _ in range(300):
        k = int(rng.integers(2, 8))
        signs = rng.choice([-1, 1], size=k)
        clause = [int(s * (j + 1)) for j, s in enumerate(signs)]
        # incoming variable->clause messages are set through unary fields (the only other clause,
        # over two fresh variables, does not touch the clause's variables)
        logits = rng.normal(size=k) * 2
        log_phi = np.zeros((k + 2, 2))
        log_phi[:k, 1] = logits
        g = build_batch([part_of([clause, [k + 1, k + 2]], k + 2, log_phi)])
        lam0 = torch.zeros(g.num_edges, dtype=torch.float64)
        ell, cav = var_to_clause(g, lam0)
        lam = clause_to_var(g, ell)
        p1 = 1 / (1 + np.exp(-logits))
        incoming = [np.array([1 - p, p]) for p in p1]
        want = dense_clause_message(k, signs, incoming)
        # edge 0 belongs to variable 1 (edges sorted by clause, then variable)
        f0 = 1 if signs[0] < 0 else 0
        got_log_ratio = lam[0].item()
        assert abs(got_log_ratio - (math.log(want[f0]) - math.log(want[1 - f0]))) < 1e-10


def test_clause_entropy_matches_dense_enumeration():
    rng = np.random.default_rng(1)
    for _ in range(200):
        k = int(rng.integers(2, 7))
        signs = rng.choice([-1, 1], size=k)
        clause = [int(s * (j + 1)) for j, s in enumerate(signs)]
        log_phi = np.zeros((k, 2))
        log_phi[:, 1] = rng.normal(size=k) * 2
        g = build_batch([part_of([clause], k, log_phi)])
        t = bethe_terms(g, torch.zeros(g.num_edges, dtype=torch.float64))
        p1 = 1 / (1 + np.exp(-log_phi[:, 1]))
        q = []
        for x in itertools.product((0, 1), repeat=k):
            sat = any((s > 0) == bool(v) for s, v in zip(signs, x))
            q.append(np.prod([p1[j] if x[j] else 1 - p1[j] for j in range(k)]) if sat else 0.0)
        q = np.array(q) / sum(q)
        h = -sum(v * math.log(v) for v in q if v > 0)
        assert abs(t.clause_entropy[0].item() - h) < 1e-12


@pytest.mark.parametrize("weighted", [False, True])
def test_bethe_is_exact_on_random_trees(weighted, device):
    rng = np.random.default_rng(2 + weighted)
    parts, want = [], []
    for _ in range(60):
        clauses, n = random_tree_formula(rng, int(rng.integers(1, 6)))
        lp = rng.normal(size=(n, 2)) if weighted else None
        parts.append(part_of(clauses, n, lp))
        want.append(brute_log_count(Formula.from_clauses(clauses, n, weights=None if lp is None else np.exp(lp))))
    g = build_batch(parts, device=device)
    for damping in (0.0, 0.5):
        r = run_bp(g, damping=damping, max_iters=1000)
        assert bool(r.converged.all())
        # float64; tolerance = convergence tol 1e-10 propagated through a handful of terms
        np.testing.assert_allclose(r.log_z.cpu().numpy(), want, atol=1e-8)


def test_float32_close_to_float64_on_trees():
    rng = np.random.default_rng(4)
    parts = [part_of(*random_tree_formula(rng, 5)) for _ in range(20)]
    g64 = build_batch(parts)
    r64 = run_bp(g64)
    r32 = run_bp(g64.to(dtype=torch.float32))
    # float32 messages (tol 1e-6) with float64 reductions: agreement to ~1e-5 nats
    np.testing.assert_allclose(r32.log_z.numpy(), r64.log_z.numpy(), atol=1e-4)


def test_batched_equals_one_by_one():
    rng = np.random.default_rng(5)
    parts = []
    for _ in range(12):
        s = simplify(random_formula(rng, 14, 30, kmax=4, weighted=bool(rng.random() < 0.5)), exact_max_vars=0, exact_max_width=0)
        if s.residual is not None:
            parts.append(s.residual)
    batched = run_bp(build_batch(parts), max_iters=300)
    for i, p in enumerate(parts):
        single = run_bp(build_batch([p]), max_iters=300)
        assert abs(single.log_z.item() - batched.log_z[i].item()) < 1e-12
        assert single.iterations.item() == batched.iterations[i].item()


def test_message_and_belief_forms_agree_at_convergence():
    # ln Z = Σ ln Z_a + Σ ln Z_i − Σ ln Z_ia (message form) equals the belief form at a fixed point
    rng = np.random.default_rng(6)
    f = random_formula(rng, 12, 18, kmax=3)
    s = simplify(Formula.from_clauses([c for c in f.clauses() if len(set(map(abs, c))) == len(c) and len(c) > 1], 12), exact_max_vars=0, exact_max_width=0)
    g = build_batch([s.residual])
    r = run_bp(g, damping=0.5, max_iters=5000)
    assert bool(r.converged.all())
    lam = r.lam
    ell, cav = var_to_clause(g, lam)
    zeros_v = torch.zeros(g.num_vars, dtype=torch.float64)
    s_a = torch.zeros(g.num_clauses, dtype=torch.float64).index_add_(0, g.clause_of_edge, ell)
    ln_za = log1mexp(s_a)  # Z_a = Σ_x ψ_a Π_j n_j(x_j) = 1 − p*_a
    # normalised clause messages: log ν̂(x) with ν(s) = 1, ν(f) = e^λ
    log_norm = torch.nn.functional.softplus(lam)
    log_nu1 = torch.where(g.fval_of_edge, lam, torch.zeros_like(lam)) - log_norm  # x = 1
    log_nu0 = torch.where(g.fval_of_edge, torch.zeros_like(lam), lam) - log_norm  # x = 0
    ln_zi = torch.logaddexp(zeros_v.index_add(0, g.var_of_edge, log_nu0), zeros_v.index_add(0, g.var_of_edge, log_nu1))
    n1 = torch.sigmoid(cav)  # n_{i→a}(x = 1)
    ln_zia = torch.log(n1 * log_nu1.exp() + (1 - n1) * log_nu0.exp())
    message_form = ln_za.sum() + ln_zi.sum() - ln_zia.sum() + g.ln_offset[0]
    assert abs(message_form.item() - r.log_z.item()) < 1e-9


def test_tree_result_is_independent_of_clause_order_and_polarity_flips():
    rng = np.random.default_rng(7)
    clauses, n = random_tree_formula(rng, 6)
    base = run_bp(build_batch([part_of(clauses, n)])).log_z.item()
    flip = set(rng.choice(np.arange(1, n + 1), size=3, replace=False).tolist())
    flipped = [[-x if abs(x) in flip else x for x in c] for c in reversed(clauses)]
    assert abs(run_bp(build_batch([part_of(flipped, n)])).log_z.item() - base) < 1e-9


def test_no_nan_on_hard_formulas_and_floor_reported():
    # nearly-forced formula: long implication chain plus a contradiction-prone loop
    n = 40
    clauses = [[-i, i + 1] for i in range(1, n)] + [[1, 2], [-n, -1, 3]]
    g = build_batch([part_of(clauses, n)])
    r = run_bp(g, damping=0.0, max_iters=200)
    assert torch.isfinite(r.log_z).all()


def test_bethe_log_z_includes_offset():
    p = part_of([[1, 2], [2, 3]], 3)
    g = build_batch([p])
    lam = run_bp(g).lam
    assert abs(bethe_log_z(g, lam).item() - math.log(5)) < 1e-9


def test_bp_step_fixed_point():
    g = build_batch([part_of([[1, 2, 3], [-1, 4], [2, -4, 5]], 5)])
    lam = run_bp(g, damping=0.0, max_iters=100).lam
    assert torch.allclose(bp_step(g, lam), lam, atol=1e-12)


def test_timeout_deadline_stops_loop():
    rng = np.random.default_rng(8)
    f = random_formula(rng, 30, 130, kmax=3)
    s = simplify(Formula.from_clauses([c for c in f.clauses() if len(c) == 3 and len(set(map(abs, c))) == 3], 30), exact_max_vars=0, exact_max_width=0)
    r = run_bp(build_batch([s.residual]), damping=0.0, max_iters=10**7, deadline=0.0)
    assert r.timed_out and r.iterations.item() == 10
