"""BP on gate factor graphs: exact on tree circuits, = clause BP without gates, batching, invariance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bpcount.bp import run_bp
from bpcount.cnf import Formula
from bpcount.estimate import CountOptions, count
from bpcount.gatebp import gate_bethe_log_z, run_gate_bp
from bpcount.gategraph import build_gate_graph
from bpcount.graph import build_batch
from tests.conftest import brute_log_count
from tests.test_gategraph import and_gate, circuit_like, raw, xor_gate


def tree_circuit(rng: np.random.Generator) -> tuple[list[list[int]], int]:
    """Gates whose inputs are used once each (a tree circuit): AND/OR with 1..3 inputs, XORs."""
    n = int(rng.integers(3, 8))
    avail, clauses = list(range(1, n + 1)), []
    while len(avail) >= 2:
        k = int(rng.integers(2, min(3, len(avail)) + 1))
        ins = [int(v) for v in rng.choice(avail, size=k, replace=False)]
        for v in ins:
            avail.remove(v)
        n += 1
        if k == 2 and rng.random() < 0.4:
            clauses += xor_gate((n, ins[0], ins[1]), int(rng.integers(2)))
        else:
            clauses += and_gate(n * int(rng.choice([-1, 1])), [v * int(rng.choice([-1, 1])) for v in ins])
        avail.append(n)
    return clauses, n


def ln_count(clauses, n, weights=None) -> float:
    return brute_log_count(Formula.from_clauses(clauses, n, weights=weights))


@pytest.mark.parametrize("weighted", [False, True])
def test_exact_on_tree_circuits(weighted):
    rng = np.random.default_rng(0)
    for _ in range(40):
        clauses, n = tree_circuit(rng)
        w = rng.uniform(0.1, 1.0, size=(n, 2)) if weighted else None
        g = build_batch([raw(clauses, n, None if w is None else np.log(w))])
        res = run_gate_bp(build_gate_graph(g), max_iters=2000, tol=1e-13)
        assert bool(res.converged.all())
        assert res.log_z.item() == pytest.approx(ln_count(clauses, n, w), abs=1e-9)
        # the clause-level Bethe value is biased on the same formulas (what the gates fix)
    clause_bp = run_bp(g, max_iters=2000).log_z.item()
    assert abs(clause_bp - ln_count(clauses, n, w)) > 1e-3


def test_equals_clause_bp_when_there_are_no_gates():
    # ternary clauses no two of which share two variables: no gate, XOR or table pattern exists
    rng = np.random.default_rng(1)
    tested = 0
    for _ in range(20):
        n = int(rng.integers(10, 20))
        clauses, pairs = [], set()
        while len(clauses) < int(1.3 * n):
            vs = sorted(int(v) for v in rng.choice(n, size=3, replace=False) + 1)
            new = {(vs[0], vs[1]), (vs[0], vs[2]), (vs[1], vs[2])}
            if not new & pairs:
                pairs |= new
                clauses.append([v * int(rng.choice([-1, 1])) for v in vs])
            elif rng.random() < 0.02:
                break
        g = build_batch([raw(clauses, n)])
        gg = build_gate_graph(g)
        assert (gg.num_and, gg.num_xor, gg.num_table) == (0, 0, 0)
        tested += 1
        for iters in (1, 7, 300):
            a = run_gate_bp(gg, max_iters=iters, tol=0.0).log_z
            b = run_bp(g, max_iters=iters, tol=0.0).log_z
            torch.testing.assert_close(a, b, rtol=0, atol=1e-8)
    assert tested == 20


def test_loopy_circuits_stay_finite_and_close():
    rng = np.random.default_rng(2)
    errs = []
    for _ in range(60):
        clauses, n = circuit_like(rng)
        exact = ln_count(clauses, n)
        res = run_gate_bp(build_gate_graph(build_batch([raw(clauses, n)])), max_iters=500)
        z = res.log_z.item()
        assert math.isfinite(z)
        if math.isfinite(exact):
            errs.append(abs(z - exact))
    assert np.median(errs) < 0.5  # small loopy formulas: BP is approximate, not wild


def test_batched_equals_single_and_polarity_flip_invariant():
    rng = np.random.default_rng(3)
    parts = [circuit_like(rng) for _ in range(5)]
    graph = build_gate_graph(build_batch([raw(c, n) for c, n in parts]))
    batched = run_gate_bp(graph, max_iters=60, tol=0.0).log_z
    single = torch.cat([run_gate_bp(build_gate_graph(build_batch([raw(c, n)])), max_iters=60, tol=0.0).log_z
                        for c, n in parts])
    torch.testing.assert_close(batched, single, rtol=0, atol=1e-9)
    for (clauses, n), ref in zip(parts, single):
        flip = set(int(v) for v in rng.choice(n, size=n // 2, replace=False) + 1)
        flipped = [[-x if abs(x) in flip else x for x in c] for c in clauses]
        z = run_gate_bp(build_gate_graph(build_batch([raw(flipped, n)])), max_iters=60, tol=0.0).log_z
        assert z.item() == pytest.approx(ref.item(), abs=1e-9)


def test_bethe_of_uniform_messages_is_finite_with_saturated_gates():
    # o ↔ AND(1, 2) with o forced false by a unit-free encoding (¬o ∨ 4)(¬o ∨ ¬4): messages
    # saturate at the log-odds clamp, and every value stays finite
    clauses = and_gate(3, [1, 2]) + [[-3, 4], [-3, -4]]
    gg = build_gate_graph(build_batch([raw(clauses, 4)]))
    for iters in (0, 1, 50):
        res = run_gate_bp(gg, max_iters=max(iters, 1))
        assert math.isfinite(res.log_z.item())
    assert math.isfinite(gate_bethe_log_z(gg, torch.zeros(gg.num_edges, dtype=torch.float64)).item())
    assert abs(res.log_z.item() - ln_count(clauses, 4)) < 0.1  # a loop (3, 4): close, not exact


def test_engine_uses_gates_by_default_and_no_gates_is_clause_bp():
    rng = np.random.default_rng(4)
    clauses, n = tree_circuit(rng)
    while len(clauses) < 12:
        clauses, n = tree_circuit(rng)
    f = Formula.from_clauses(clauses, n)
    opts = dict(method="bp", sat_check=False, exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0, equivalences=False)
    on = count([f], options=CountOptions(**opts))[0]
    off = count([f], options=CountOptions(gates=False, **opts))[0]
    assert on.ln_count == pytest.approx(ln_count(clauses, n), abs=1e-8)
    assert on.stats["gates"]["and"] + on.stats["gates"]["xor"] > 0
    assert "gates" not in off.stats and abs(off.ln_count - on.ln_count) > 1e-3


def test_contradiction_flags_forbidden_certainties_only():
    from bpcount.gatebp import LOGIT_CLAMP, contradiction

    clauses = and_gate(3, [1, 2]) + [[3, 4, 5]]
    gg = build_gate_graph(build_batch([raw(clauses, 5)]))
    mu = torch.zeros(gg.num_edges, dtype=torch.float64)
    assert not bool(contradiction(gg, mu).any())
    # messages from the clause claim the output true for certain; unary fields claim input 1 false
    phi = np.zeros((5, 2))
    phi[0] = [0.0, -LOGIT_CLAMP]  # x1 = 1 has weight e^-40: "certainly false"
    hard = build_gate_graph(build_batch([raw(clauses, 5, phi)]))
    mu = torch.zeros(hard.num_edges, dtype=torch.float64)
    clause_edges = hard.clause_edge
    mu[clause_edges[hard.var_of_edge[clause_edges] == 2]] = LOGIT_CLAMP  # o = x3 certainly true
    assert bool(contradiction(hard, mu).all())
    res = run_gate_bp(gg, max_iters=200)
    assert not bool(res.contradicted.any()) and bool(res.converged.all())


def test_solve_restarts_only_contradicted_formulas_on_their_own_graph(monkeypatch):
    import bpcount.gatebp as gatebp

    rng = np.random.default_rng(9)  # formula 1 converges under the restart's damping
    parts = [raw(*circuit_like(rng)) for _ in range(3)]
    calls = []

    def make_graph(idx):
        calls.append(list(idx))
        return build_gate_graph(build_batch([parts[i] for i in idx]))

    plain = gatebp.solve_gate_bp(make_graph, 3, max_iters=400)
    assert calls == [[0, 1, 2]] and not bool(plain.retried.any())

    real = gatebp.contradicted
    first = {"done": False}

    def flag_second_once(graph, factor_log_z):  # pretend formula 1 ended in a contradiction once
        out = real(graph, factor_log_z)
        if not first["done"] and graph.num_graphs == 3:
            first["done"] = True
            out = out.clone()
            out[1] = True
        return out

    monkeypatch.setattr(gatebp, "contradicted", flag_second_once)
    calls.clear()
    res = gatebp.solve_gate_bp(make_graph, 3, max_iters=400)
    assert calls == [[0, 1, 2], [1]]
    assert res.retried.tolist() == [False, True, False]
    alone = run_gate_bp(build_gate_graph(build_batch([parts[1]])), damping=gatebp.RETRY_DAMPING,
                        max_iters=gatebp.RETRY_ITERS_FACTOR * 400)
    kept = bool(alone.converged.item()) and not bool(alone.contradicted.item())
    expected = alone.log_z.item() if kept else plain.log_z[1].item()
    assert res.log_z[1].item() == pytest.approx(expected, abs=1e-12)
    assert kept and res.log_z[1].item() != plain.log_z[1].item()
    torch.testing.assert_close(res.log_z[[0, 2]], plain.log_z[[0, 2]], rtol=0, atol=0)


def test_count_and_bpnn_base_restart_a_contradicted_formula_on_its_own(monkeypatch):
    """Through the library (--method bp) and the BPNN's gate base: the restart runs on the selected
    formula's graph only (graph.select) and gives the value of that formula's restart alone."""
    import bpcount.gatebp as gatebp
    from bpcount.bpnn.model import gate_base
    from bpcount.graph import build_batch

    rng = np.random.default_rng(9)
    formulas = [Formula.from_clauses(*circuit_like(rng)) for _ in range(3)]
    opts = CountOptions(method="bp", device="cpu", exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0, probe_budget=0, bound_budget=0, sat_check=False, equivalences=False, max_iters=400)
    plain = count(formulas, options=opts)
    real = gatebp.contradicted
    seen = {"n": 0}

    def flag_second_of_three(graph, factor_log_z):
        out = real(graph, factor_log_z)
        if graph.num_graphs == 3:
            seen["n"] += 1
            out = out.clone()
            out[1] = True
        return out

    monkeypatch.setattr(gatebp, "contradicted", flag_second_of_three)
    res = count(formulas, options=opts)
    assert seen["n"] == 1
    restarted = [("contradiction_restart" in r.stats) for r in plain]
    assert not restarted[1]
    restarted[1] = True
    assert [("contradiction_restart" in r.stats) for r in res] == restarted
    assert res[0].ln_count == plain[0].ln_count and res[2].ln_count == plain[2].ln_count
    from bpcount.simplify import simplify

    parts = [simplify(f, exact_max_vars=0, exact_max_width=0, equivalences=False).residual for f in formulas]
    alone = run_gate_bp(build_gate_graph(build_batch([parts[1]])), damping=gatebp.RETRY_DAMPING,
                        max_iters=gatebp.RETRY_ITERS_FACTOR * 400)
    assert bool(alone.converged.item()) and not bool(alone.contradicted.item())
    assert res[1].ln_count == pytest.approx(alone.log_z.item(), abs=1e-12) != plain[1].ln_count
    base = gate_base(build_batch(parts), 400, 0.5)
    assert base.log_z[1].item() == pytest.approx(alone.log_z.item(), abs=1e-12)
