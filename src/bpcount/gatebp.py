"""Log-space loopy BP on gate factor graphs (:mod:`bpcount.gategraph`), with the Bethe ln Z.

State: one scalar per edge e = (f, i), the factor→variable message as a log-odds in the *literal*
frame, μ_e = log m_{f→i}(literal true) − log m_{f→i}(literal false). With s_e = ±1 the literal's
sign, one iteration is

    L_i  = log φ_i(1) − log φ_i(0) + Σ_{e∋i} s_e μ_e        variable log-odds
    ν_e  = s_e L_{i(e)} − μ_e                               cavity log-odds of the literal
    t_e  = log σ(ν_e),  f_e = log σ(−ν_e)                   log P(literal true / false)

and the closed-form factor updates (no 2^k tables):

* CLAUSE (OR): μ_e = −log(1 − exp(Σ_{e'≠e} f_e')).
* AND, output o, inputs j, T = Σ_j t_j, T_j = T − t_j:
  μ_o = T − log(1 − e^T);  μ_j = logaddexp(t_o + T_j, f_o + log(1 − e^{T_j})) − f_o.
* XOR (odd parity of literals), ε_e = −tanh(ν_e / 2) = P(false) − P(true), P_e = Π_{e'≠e} ε_e':
  μ_e = log(1 + P_e) − log(1 − P_e).
* TABLE (k ≤ 4 variables, a 0/1 table): enumeration of the 2^k assignments, log-sum-exp per
  variable value.

Bethe: ln Z = Σ_f H(b_f) + Σ_i [(1 − d_i) H(b_i) + E_{b_i} ln φ_i] + ln_offset, with
H(b_f) = ln Z_f − Σ_{e∈f} E_{b_f}[ln n_e] for 0/1 factors, where ln Z_f is the factor's closed form
(clause: log(1 − e^{Σ f}); AND: logaddexp(t_o + T, f_o + log(1 − e^T)); XOR: log((1 − Π ε)/2)) and
b_f's literal marginals are σ(ν_e + μ'_e) with μ' the factor's update from the same cavities. Exact
on forests, so exact on tree circuits once their gates are merged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bpcount.bp import (
    DEFAULT_TOL,
    LN2,
    iterate,
    log1mexp,
    segment_sum,
    var_bethe_terms,
)
from bpcount.gategraph import CLAUSE, XOR, GateGraph, TableGroup

#: Factor→variable log-odds are clamped to ±this. A gate can determine a literal exactly (an
#: infinite log-odds); 40 nats (odds e^40 ≈ 2e17) is certainty at float64 resolution and keeps
#: ``s_e L_i − μ_e`` free of inf − inf.
LOGIT_CLAMP = 40.0
#: Sums of log P over a factor are kept at most this far below 0, so that 1 − e^S stays positive
#: (the same role as bpcount.bp.LOG_CLAUSE_MARGIN).
LOG_SUM_MARGIN = 1e-30
#: log|ε| of an XOR edge is floored here so that a cavity of exactly 0 (ε = 0, the uniform start)
#: can be subtracted from the factor's sum: Π ε of the others is then e^−100·… ≈ 0 as it should be.
LOG_EPS_FLOOR = -100.0
#: A factor with ln Z_f below this at the final messages is a contradiction (see :func:`contradiction`);
#: half the clamp: an honest near-certain factor has ln Z_f ≈ 0, a contradicted one ≈ −LOGIT_CLAMP.
CONTRADICTION_LOG_Z = -0.5 * LOGIT_CLAMP
#: Damping of the restart after a contradiction, and its iteration budget (× max_iters).
RETRY_DAMPING = 0.9
RETRY_ITERS_FACTOR = 4


@dataclass(frozen=True)
class _Cavity:
    total: torch.Tensor  # (V,) L_i
    nu: torch.Tensor  # (E,) ν_e
    t: torch.Tensor  # (E,) log P(literal true)
    f: torch.Tensor  # (E,) log P(literal false)


def _cavity(graph: GateGraph, mu: torch.Tensor) -> _Cavity:
    g = graph
    field = g.log_phi[:, 1] - g.log_phi[:, 0]
    total = field.index_add(0, g.var_of_edge, g.lit_sign * mu)
    nu = g.lit_sign * total[g.var_of_edge] - mu
    return _Cavity(total, nu, F.logsigmoid(nu), F.logsigmoid(-nu))


@dataclass(frozen=True)
class _Update:
    mu: torch.Tensor  # (E,) new factor→variable log-odds (clamped)
    log_z: torch.Tensor  # (F,) ln Z_f


def _factor_update(graph: GateGraph, cav: _Cavity) -> _Update:
    """New messages μ' and ln Z_f of every factor from the cavities (each kind on its own edges;
    kinds without edges are skipped, decided from shapes known at build time: no host sync)."""
    g = graph
    mu = torch.zeros_like(cav.t)
    log_z = cav.t.new_zeros(g.num_factors)
    if len(g.clause_edge):
        _clause_update(g, cav, mu, log_z)
    if len(g.and_out_edge):
        _and_update(g, cav, mu, log_z)
    if len(g.xor_edge):
        _xor_update(g, cav, mu, log_z)
    for group in g.tables:
        mu_t, z_t = _table_update(group, cav)
        mu.index_copy_(0, group.edges.reshape(-1), mu_t.reshape(-1))
        log_z.index_copy_(0, group.factor, z_t)
    mu = torch.nan_to_num(mu, nan=0.0).clamp(min=-LOGIT_CLAMP, max=LOGIT_CLAMP)
    return _Update(mu, log_z)


def _clause_update(g: GateGraph, cav: _Cavity, mu: torch.Tensor, log_z: torch.Tensor) -> None:
    """CLAUSE factors, in place: μ_e = −log(1 − Π_{others} P(false)), ln Z_a = log(1 − Π P(false))."""
    e = g.clause_edge
    f_e, fac = cav.f[e], g.factor_of_edge[e]
    s_false = segment_sum(f_e, fac, g.num_factors)
    mu.index_copy_(0, e, -log1mexp((s_false[fac] - f_e).clamp(max=-LOG_SUM_MARGIN)))
    log_z.copy_(torch.where(g.factor_kind == CLAUSE, log1mexp(s_false.clamp(max=-LOG_SUM_MARGIN)), log_z))


def _and_update(g: GateGraph, cav: _Cavity, mu: torch.Tensor, log_z: torch.Tensor) -> None:
    """AND factors o = ∧ l_j, in place (closed forms in the module docstring)."""
    nf = g.num_factors
    e, o = g.and_in_edge, g.and_out_edge
    t_e, fac, fo = cav.t[e], g.factor_of_edge[e], g.factor_of_edge[o]
    t_in = segment_sum(t_e, fac, nf)  # T per factor
    t_out = cav.t.new_zeros(nf).index_copy(0, fo, cav.t[o])
    f_out = cav.t.new_zeros(nf).index_copy(0, fo, cav.f[o])
    t_others = (t_in[fac] - t_e).clamp(max=0.0)
    mu.index_copy_(0, e, torch.logaddexp(t_out[fac] + t_others, f_out[fac] + log1mexp(t_others)) - f_out[fac])
    t_all = t_in[fo].clamp(max=-LOG_SUM_MARGIN)
    mu.index_copy_(0, o, t_all - log1mexp(t_all))
    log_z.index_copy_(0, fo, torch.logaddexp(t_out[fo] + t_in[fo], f_out[fo] + log1mexp(t_in[fo].clamp(max=0.0))))


def _xor_update(g: GateGraph, cav: _Cavity, mu: torch.Tensor, log_z: torch.Tensor) -> None:
    """XOR factors (odd parity), in place: ε = P(false) − P(true) = −tanh(ν/2); the product over the
    others from log-magnitudes and a count of negative factors."""
    nf = g.num_factors
    e = g.xor_edge
    fac = g.factor_of_edge[e]
    eps = -torch.tanh(0.5 * cav.nu[e])
    log_abs = torch.log(eps.abs()).clamp(min=LOG_EPS_FLOOR)
    neg = (eps < 0).to(eps.dtype)
    la = segment_sum(log_abs, fac, nf)
    ng = segment_sum(neg, fac, nf)
    sign_others = 1.0 - 2.0 * torch.remainder(ng[fac] - neg, 2.0)
    prod_others = sign_others * torch.exp((la[fac] - log_abs).clamp(max=0.0))
    mu.index_copy_(0, e, torch.log1p(prod_others) - torch.log1p(-prod_others))
    prod_all = (1.0 - 2.0 * torch.remainder(ng, 2.0)) * torch.exp(la)
    log_z.copy_(torch.where(g.factor_kind == XOR, torch.log1p(-prod_all) - LN2, log_z))


def _table_update(group: TableGroup, cav: _Cavity) -> tuple[torch.Tensor, torch.Tensor]:
    """TABLE factors over k variables by enumeration of their 2^k assignments: μ (T, k), ln Z_f (T,)."""
    bits = group.bits.to(cav.t.dtype)  # (k, 2^k); a no-op unless the messages' dtype differs
    t, f = cav.t[group.edges], cav.f[group.edges]  # (T, k)
    log_p = t @ bits + f @ (1.0 - bits)  # (T, 2^k): Σ_p log n_p(x_p)
    log_p = log_p.masked_fill(~group.allowed, -torch.inf)
    own = t.unsqueeze(-1) * bits + f.unsqueeze(-1) * (1.0 - bits)  # (T, k, 2^k)
    others = log_p.unsqueeze(1) - own
    one = bits.to(torch.bool)
    m1 = torch.logsumexp(others.masked_fill(~one, -torch.inf), dim=-1)
    m0 = torch.logsumexp(others.masked_fill(one, -torch.inf), dim=-1)
    return m1 - m0, torch.logsumexp(log_p, dim=-1)


def gate_bp_step(graph: GateGraph, mu: torch.Tensor) -> torch.Tensor:
    """One undamped parallel update of μ (E,)."""
    return _factor_update(graph, _cavity(graph, mu)).mu


def gate_bethe_log_z(graph: GateGraph, mu: torch.Tensor) -> torch.Tensor:
    """Bethe ln Z per formula, (B,) float64, including ``graph.ln_offset`` (see module docstring)."""
    mu = mu.to(graph.dtype)
    cav = _cavity(graph, mu)
    return _bethe(graph, cav, _factor_update(graph, cav))


def _bethe(g: GateGraph, cav: _Cavity, upd: _Update) -> torch.Tensor:
    """The Bethe ln Z from the cavities and the factors' fresh update at the same messages."""
    # literal marginals of b_f: cavity times the factor's fresh message
    b_true = torch.sigmoid(cav.nu + upd.mu)
    cross = b_true * cav.t + (1.0 - b_true) * cav.f  # E_{b_f}[ln n_e]
    # a factor whose every allowed configuration has zero cavity mass has ln Z_f = −inf; keep finite
    log_zf = upd.log_z.clamp(min=-1e4).to(torch.float64)
    h_factor = log_zf - segment_sum(cross.to(torch.float64), g.factor_of_edge, g.num_factors)
    h_var, energy = var_bethe_terms(cav.total.to(torch.float64), g.log_phi.to(torch.float64))
    per_var = (1.0 - g.var_degree.to(torch.float64)) * h_var + energy
    out = g.ln_offset.clone()
    out.index_add_(0, g.graph_of_factor, h_factor)
    out.index_add_(0, g.graph_of_var, per_var)
    return out


@dataclass(frozen=True)
class GateBPResult:
    """Outcome of :func:`run_gate_bp` (per-formula tensors (B,), as :class:`bpcount.bp.BPResult`)."""

    log_z: torch.Tensor
    converged: torch.Tensor
    iterations: torch.Tensor
    residual: torch.Tensor
    mu: torch.Tensor
    timed_out: bool
    contradicted: torch.Tensor  # (B,) bool: the final messages are a contradiction (see contradiction)
    retried: torch.Tensor  # (B,) bool: restarted after a contradiction (see solve_gate_bp)


def contradiction(graph: GateGraph, mu: torch.Tensor) -> torch.Tensor:
    """(B,) bool: some factor has ln Z_f < :data:`CONTRADICTION_LOG_Z` at messages μ, i.e. the
    messages make near-certain claims that the factor forbids. Such a state is not a fixed point of
    exact BP (there Z_f = 0 and ln Z = −inf); the clamp keeps it finite, and its Bethe value is an
    artefact (off by multiples of :data:`LOGIT_CLAMP`)."""
    return contradicted(graph, _factor_update(graph, _cavity(graph, mu)).log_z)


def contradicted(graph: GateGraph, factor_log_z: torch.Tensor) -> torch.Tensor:
    """(B,) bool from the factors' ln Z_f (F,): see :func:`contradiction`."""
    low = (factor_log_z < CONTRADICTION_LOG_Z).to(torch.int64)
    return low.new_zeros(graph.num_graphs).scatter_reduce(0, graph.graph_of_factor, low, reduce="amax") > 0


def run_gate_bp(
    graph: GateGraph,
    *,
    damping: float = 0.5,
    max_iters: int = 500,
    tol: float | None = None,
    check_every: int = 10,
    deadline: float | None = None,
) -> GateBPResult:
    """Damped parallel BP on a gate graph to convergence (per formula) or ``max_iters``.

    Same protocol as :func:`bpcount.bp.run_bp`: convergence (max |Δμ| < tol per formula) and the
    ``deadline`` are checked every ``check_every`` iterations only; converged formulas are frozen.
    ``contradicted`` flags formulas that end in a :func:`contradiction` (see
    :func:`solve_gate_bp` for the restart).
    """
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    tol = DEFAULT_TOL.get(graph.dtype, 1e-6) if tol is None else tol
    B, device = graph.num_graphs, graph.device
    n_edges = segment_sum(torch.ones(graph.num_edges, dtype=graph.dtype, device=device), graph.graph_of_edge, B)
    empty = n_edges == 0
    mu = torch.zeros(graph.num_edges, dtype=graph.dtype, device=device)
    converged, iterations = empty.clone(), torch.zeros(B, dtype=torch.int64, device=device)
    residual = torch.zeros(B, dtype=graph.dtype, device=device)
    timed_out = False
    if graph.num_edges:
        it = iterate(lambda m: gate_bp_step(graph, m), mu, graph.graph_of_edge, empty, damping,
                     max_iters=max_iters, tol=tol, check_every=check_every, deadline=deadline)
        mu, converged, iterations, residual, timed_out = it.x, it.converged, it.iterations, it.residual, it.timed_out
    converged = converged | empty
    residual = torch.where(empty, torch.zeros_like(residual), residual)
    # one factor update at the final messages serves the Bethe value and the contradiction test
    cav = _cavity(graph, mu)
    upd = _factor_update(graph, cav)
    bad = contradicted(graph, upd.log_z) & ~empty if graph.num_edges else torch.zeros_like(empty)
    return GateBPResult(log_z=_bethe(graph, cav, upd), converged=converged, iterations=iterations,
                        residual=residual, mu=mu, timed_out=timed_out, contradicted=bad,
                        retried=torch.zeros_like(empty))


def solve_gate_bp(
    make_graph: Callable[[list[int]], GateGraph],
    num_graphs: int,
    *,
    damping: float = 0.5,
    max_iters: int = 500,
    tol: float | None = None,
    deadline: float | None = None,
    retry_damping: float | None = RETRY_DAMPING,
) -> GateBPResult:
    """:func:`run_gate_bp` on ``make_graph(all formulas)``, then a restart of the formulas that end in
    a contradiction, from uniform messages with damping ``retry_damping`` (slower, steadier
    updates) for up to RETRY_ITERS_FACTOR × ``max_iters`` iterations, on a graph of those formulas
    only (``make_graph(indices)``). A restart replaces the first result where it converges without a
    contradiction; ``retried`` flags the restarted formulas, ``mu`` is the first pass's. A restart
    cut short by ``deadline`` keeps the first pass's values (they are complete estimates), so
    ``timed_out`` reports the first pass only.
    """
    first = run_gate_bp(make_graph(list(range(num_graphs))), damping=damping, max_iters=max_iters, tol=tol,
                        deadline=deadline)
    bad = torch.nonzero(first.contradicted).squeeze(-1).tolist()
    if retry_damping is None or retry_damping <= damping or first.timed_out or not bad:
        return first
    again = run_gate_bp(make_graph(bad), damping=retry_damping, max_iters=RETRY_ITERS_FACTOR * max_iters,
                        tol=tol, deadline=deadline)
    idx = torch.tensor(bad, dtype=torch.int64, device=first.log_z.device)
    keep = again.converged & ~again.contradicted
    pick = idx[keep]

    def merge(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a.index_copy(0, pick, b[keep].to(a.dtype))

    retried = first.retried.index_fill(0, idx, True)
    return GateBPResult(log_z=merge(first.log_z, again.log_z), converged=merge(first.converged, again.converged),
                        iterations=first.iterations.index_add(0, idx, again.iterations),
                        residual=merge(first.residual, again.residual), mu=first.mu,
                        timed_out=first.timed_out, contradicted=merge(first.contradicted, again.contradicted),
                        retried=retried)


__all__ = ["GateBPResult", "LOGIT_CLAMP", "contradicted", "contradiction", "gate_bethe_log_z", "gate_bp_step", "run_gate_bp", "solve_gate_bp"]
