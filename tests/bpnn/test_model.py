"""BPNN model: equality with BP at initialisation, H(0) = 0, invariances, batching, tied mode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bpcount.bp import run_bp
from bpcount.bpnn.infer import estimate_graph
from bpcount.bpnn.model import BPNN, BPNNConfig, DampingOperator, layer_features
from bpcount.cnf import Formula
from bpcount.graph import build_batch
from bpcount.simplify import Residual, simplify

# float64 throughout; the only differences between equivalent computations are summation order
# (index_add over permuted edges), a few ulp of ln Z ~ 10–100 nats.
TOL = 1e-9


def random_clauses(rng: np.random.Generator, n: int, m: int, kmin: int = 2, kmax: int = 6) -> list[list[int]]:
    """m clauses of kmin..kmax distinct variables over n (wide clauses: no width limit)."""
    out = []
    for _ in range(m):
        k = int(rng.integers(kmin, kmax + 1))
        vs = rng.choice(n, size=k, replace=False) + 1
        out.append([int(v) if rng.random() < 0.5 else -int(v) for v in vs])
    return out


def residual(clauses: list[list[int]], n: int, weights: np.ndarray | None = None) -> Residual:
    s = simplify(Formula.from_clauses(clauses, n, weights=weights), exact_max_vars=0, exact_max_width=0)
    assert s.residual is not None
    return s.residual


def random_parts(seed: int, count: int = 4, weighted: bool = False) -> list[Residual]:
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(count):
        n = int(rng.integers(15, 30))
        w = rng.uniform(0.1, 1.0, size=(n, 2)) if weighted else None
        parts.append(residual(random_clauses(rng, n, 2 * n), n, w))
    return parts


def randomised(model: BPNN, seed: int = 0, scale: float = 0.3) -> BPNN:
    """A 'trained-like' model: every parameter perturbed, so no layer is the identity any more."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return model


@pytest.mark.parametrize("layers,damping,warmup,extras", [(1, 0.5, 0, False), (5, 0.5, 0, False),
                                                          (4, 0.3, 3, False), (7, 0.0, 0, False), (4, 0.5, 2, True)])
@pytest.mark.parametrize("weighted", [False, True])
def test_untrained_model_equals_bp_bethe(layers, damping, warmup, extras, weighted, device):
    graph = build_batch(random_parts(1, weighted=weighted), device=device)
    cfg = BPNNConfig(num_layers=layers, damping=damping, warmup_iters=warmup, gate_features=extras,
                     convergence_feature=extras)
    model = BPNN(cfg).double().to(device)
    out = model(graph)
    bp = run_bp(graph, damping=damping, max_iters=layers + warmup, tol=0.0)
    torch.testing.assert_close(out.log_z, bp.log_z, rtol=0, atol=TOL)
    torch.testing.assert_close(out.bethe_log_z, bp.log_z, rtol=0, atol=TOL)
    torch.testing.assert_close(out.lam, bp.lam, rtol=0, atol=TOL)


def test_h_of_zero_is_zero_for_any_weights():
    op = DampingOperator(8).double()
    randomised(op, seed=3, scale=1.0)
    d = torch.tensor([0.0, 0.0, -1.0, 2.5], dtype=torch.float64)
    h = op(d)
    assert h[0] == 0.0 and h[1] == 0.0
    assert not torch.allclose(h[2:], d[2:])  # not the identity any more


def test_bp_fixed_point_is_a_fixed_point_of_every_layer():
    graph = build_batch(random_parts(2, count=3))
    bp = run_bp(graph, damping=0.5, max_iters=3000, tol=1e-13)
    keep = bp.converged[graph.graph_of_edge]
    assert bool(bp.converged.any())
    model = randomised(BPNN(BPNNConfig(num_layers=3)).double(), seed=1, scale=1.0)
    with torch.no_grad():
        for k in range(3):
            out = model.layer(graph, bp.lam, k)
            torch.testing.assert_close(out[keep], bp.lam[keep], rtol=0, atol=1e-9)


def _permuted(part: Residual, rng: np.random.Generator, what: str) -> Residual:
    """The same formula with literals / clauses / variables permuted or one variable flipped."""
    n, ptr = part.num_vars, part.clause_ptr
    clauses = [list(part.lits[ptr[a]:ptr[a + 1]]) for a in range(len(ptr) - 1)]
    log_phi = None if part.log_phi is None else part.log_phi.copy()
    if what == "literals":
        clauses = [list(rng.permutation(c)) for c in clauses]
    elif what == "clauses":
        clauses = [clauses[i] for i in rng.permutation(len(clauses))]
    elif what == "variables":
        perm = rng.permutation(n) + 1  # old variable v -> perm[v-1]
        clauses = [[int(np.sign(x)) * int(perm[abs(x) - 1]) for x in c] for c in clauses]
        if log_phi is not None:
            new = np.empty_like(log_phi)
            new[perm - 1] = log_phi
            log_phi = new
    elif what == "polarity":
        for v in rng.choice(n, size=max(1, n // 3), replace=False) + 1:
            clauses = [[-x if abs(x) == v else x for x in c] for c in clauses]
            if log_phi is not None:
                log_phi[v - 1] = log_phi[v - 1, ::-1]
    lits = np.array([int(x) for c in clauses for x in c], dtype=np.int64)
    new_ptr = np.concatenate([[0], np.cumsum([len(c) for c in clauses])]).astype(np.int64)
    return Residual(num_vars=n, lits=lits, clause_ptr=new_ptr, log_phi=log_phi, ln_offset=part.ln_offset,
                    orig_var=part.orig_var)


@pytest.mark.parametrize("what", ["literals", "clauses", "variables", "polarity"])
@pytest.mark.parametrize("trained", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_invariances(what, trained, weighted):
    model = BPNN(BPNNConfig(num_layers=4)).double()
    if trained:
        randomised(model, seed=7)
    rng = np.random.default_rng(11)
    parts = random_parts(5, count=3, weighted=weighted)
    ref = model(build_batch(parts)).log_z
    for _ in range(2):
        other = model(build_batch([_permuted(p, rng, what) for p in parts])).log_z
        torch.testing.assert_close(other, ref, rtol=0, atol=TOL)
    if trained:  # the randomised model really differs from BP, so the check has teeth
        bp = run_bp(build_batch(parts), damping=0.5, max_iters=4, tol=0.0).log_z
        assert (ref - bp).abs().min() > 1e-3


@pytest.mark.parametrize("what", ["literals", "clauses", "variables", "polarity"])
def test_invariances_with_gate_features(what):
    from bpcount.bpnn.structure import gate_features
    from tests.bpnn.test_structure import _planted
    from tests.bpnn.test_structure import residual as raw_residual

    rng = np.random.default_rng(12)
    parts = [raw_residual(*_planted(rng)) for _ in range(3)]
    model = randomised(BPNN(BPNNConfig(num_layers=3, gate_features=True, convergence_feature=True)).double(),
                       seed=8)
    ref = model(build_batch(parts)).log_z
    assert sum(float(gate_features(build_batch([p])).var_gate.sum()) for p in parts) > 0
    for _ in range(2):
        other = model(build_batch([_permuted(p, rng, what) for p in parts])).log_z
        torch.testing.assert_close(other, ref, rtol=0, atol=TOL)


def test_batched_equals_single():
    model = randomised(BPNN(BPNNConfig()).double(), seed=2)
    parts = random_parts(8, count=4)
    batched = model(build_batch(parts)).log_z
    single = torch.cat([model(build_batch([p])).log_z for p in parts])
    torch.testing.assert_close(batched, single, rtol=0, atol=TOL)


def test_offset_is_included_and_free_variables_add_ln2():
    rng = np.random.default_rng(4)
    clauses = random_clauses(rng, 20, 40)
    model = randomised(BPNN(BPNNConfig()).double(), seed=4)
    a = residual(clauses, 20)
    b = residual(clauses, 23)  # three declared but unused variables: + 3 ln 2, exactly
    za, zb = (estimate_graph(model, build_batch([p])).log_z for p in (a, b))
    torch.testing.assert_close(zb - za, torch.tensor([3 * np.log(2.0)], dtype=torch.float64), rtol=0, atol=1e-12)


def test_estimate_graph_untied_and_tied():
    graph = build_batch(random_parts(9, count=3))
    untied = estimate_graph(BPNN(BPNNConfig(num_layers=5)).double(), graph)
    assert untied.log_z.dtype == torch.float64 and untied.log_z.shape == (3,)
    assert untied.iterations.tolist() == [5, 5, 5]
    assert untied.residual.shape == (3,) and bool((untied.residual >= 0).all())
    tied = estimate_graph(BPNN(BPNNConfig(num_layers=3, tied=True, max_iters=2000, tol=1e-12)).double(), graph)
    bp = run_bp(graph, damping=0.5, max_iters=2000, tol=1e-12)
    # an untrained tied model iterated to convergence is BP to convergence
    conv = bp.converged & tied.converged
    assert bool(conv.any())
    torch.testing.assert_close(tied.log_z[conv], bp.log_z[conv], rtol=0, atol=1e-8)
    assert bool((tied.iterations[conv] > 3).all())


def test_gradients_are_finite_on_saturating_formulas():
    # long implication chains with wide clauses drive messages to the floor within a few layers
    rng = np.random.default_rng(5)
    clauses = [[-i, i + 1] for i in range(1, 40)] + random_clauses(rng, 40, 60, 3, 8)
    graph = build_batch([residual(clauses, 40)])
    model = randomised(BPNN(BPNNConfig(num_layers=6)).double(), seed=5)
    model(graph).log_z.sum().backward()
    for p in model.parameters():
        assert p.grad is not None and bool(torch.isfinite(p.grad).all())


def test_message_dtype_pins_the_message_precision():
    graph = build_batch(random_parts(10, count=2))  # float64 graph
    model = randomised(BPNN(BPNNConfig(num_layers=3, message_dtype="float32")).double(), seed=6)
    out = estimate_graph(model, graph)
    same = estimate_graph(model, graph.to(dtype=torch.float32))
    assert out.log_z.dtype == torch.float64 and out.residual.dtype == torch.float32
    torch.testing.assert_close(out.log_z, same.log_z, rtol=0, atol=0)


def test_convergence_flag_gates_the_bethe_base():
    graph = build_batch(random_parts(9, count=2))
    model = BPNN(BPNNConfig(num_layers=2, convergence_feature=True)).double()
    with torch.no_grad():
        model.readout.bethe_unconverged_gate.fill_(-1.0 / 10.0)  # gate 0 where unconverged
        traj = model.propagate(graph)
        feats = [layer_features(graph, lam) for lam in traj[-2:]]
        out = model.readout(graph, feats, None, torch.tensor([0.0, 1.0], dtype=torch.float64))
    bethe = feats[-1]["bethe"]
    torch.testing.assert_close(out[0], bethe[0], rtol=0, atol=TOL)  # converged: Bethe kept
    torch.testing.assert_close(out[1], graph.ln_offset[1], rtol=0, atol=TOL)  # unconverged: base dropped
    assert abs(float(bethe[1] - graph.ln_offset[1])) > 1.0


def test_gate_base_model_starts_at_gate_bp_and_keeps_invariances():
    from bpcount.bpnn.model import gate_base
    from bpcount.gatebp import run_gate_bp
    from bpcount.gategraph import build_gate_graph
    from tests.bpnn.test_structure import _planted
    from tests.bpnn.test_structure import residual as raw_residual

    rng = np.random.default_rng(21)
    parts = [raw_residual(*_planted(rng)) for _ in range(3)]
    graph = build_batch(parts)
    cfg = BPNNConfig(num_layers=3, warmup_iters=2, gate_base=True, gate_iters=40)
    model = BPNN(cfg).double()
    ref = run_gate_bp(build_gate_graph(graph), damping=cfg.damping, max_iters=40, tol=0.0).log_z
    n = torch.tensor([p.num_vars for p in parts], dtype=torch.float64)
    expected = torch.minimum(torch.maximum(ref, graph.ln_offset), graph.ln_offset + n * np.log(2.0))
    torch.testing.assert_close(model(graph).log_z, expected, rtol=0, atol=TOL)
    # a precomputed base (what training caches) gives the same output as computing it
    trained = randomised(model, seed=3)
    out = trained(graph).log_z
    torch.testing.assert_close(trained(graph, gate_base(graph, 40, cfg.damping)).log_z, out, rtol=0, atol=TOL)
    assert (out - expected).abs().min() > 1e-3
    for what in ("literals", "clauses", "variables", "polarity"):
        other = trained(build_batch([_permuted(p, rng, what) for p in parts])).log_z
        torch.testing.assert_close(other, out, rtol=0, atol=1e-7)


def test_base_when_converged_keeps_the_gate_bp_value_of_converged_formulas():
    from bpcount.bpnn.model import gate_base
    from tests.bpnn.test_structure import _planted
    from tests.bpnn.test_structure import residual as raw_residual

    rng = np.random.default_rng(22)
    parts = [raw_residual(*_planted(rng)) for _ in range(6)]
    graph = build_batch(parts)
    cfg = BPNNConfig(num_layers=2, gate_base=True, gate_iters=25, base_when_converged=True)
    model = randomised(BPNN(cfg).double(), seed=4)
    base = gate_base(graph, cfg.gate_iters, cfg.damping)
    out = model(graph).log_z
    trusted = (base.unconverged == 0) & (base.clamped == 0)
    assert 0 < int(trusted.sum()) < len(parts)  # both kinds present
    torch.testing.assert_close(out[trusted], base.log_z[trusted], rtol=0, atol=0)
    assert bool(((out - base.log_z).abs()[~trusted] > 1e-6).all())
    # inference reports those formulas as converged: the answer is a converged gate-BP fixed point
    res = estimate_graph(model, graph)
    assert bool(res.converged[trusted].all())
    torch.testing.assert_close(res.log_z, out, rtol=0, atol=0)
    # and the gate-BP value it starts from, before the projection onto the feasible range
    torch.testing.assert_close(res.base_log_z, base.raw, rtol=0, atol=0)
    kept = base.clamped == 0
    assert bool((base.log_z[kept] == base.raw[kept]).all()) and bool((base.log_z[~kept] != base.raw[~kept]).all())
    assert estimate_graph(BPNN(BPNNConfig(num_layers=2)).double(), graph).base_log_z is None  # no gate base
