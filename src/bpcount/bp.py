"""Log-space loopy belief propagation on batched CNF factor graphs, with the closed-form Bethe ln Z.

State: one scalar per edge e = (a, i), the clause→variable log-ratio in the *falsifying frame*

    λ_e = log ν_{a→i}(f_e) − log ν_{a→i}(s_e)  ≤ 0,

where f_e is the value of x_i that falsifies the literal and s_e = 1 − f_e. The unnormalised
ν(s_e) is always 1 (docs: bp-cnf.md §3.2), so λ is the whole message. In log-odds of x_i = 1 the
message contributes ``u_e = sign_of_edge · λ_e`` (sign = +1 for a negative literal, −1 otherwise).

One parallel iteration is two scatters and two gathers, O(E), with no 2^k table and no clause-width
limit:

    L_i   = log φ_i(1) − log φ_i(0) + Σ_{e∋i} u_e                 (var_totals)
    cav_e = L_{i(e)} − u_e                                          log-odds of n_{i→a}(x_i = 1)
    ℓ_e   = log n_{i→a}(f_e) = logsigmoid(sign_e · cav_e)           (var_to_clause)
    c_e   = Σ_{e'∈a} ℓ_e' − ℓ_e                                     log Π_{others} n(f)
    λ_e   = log1mexp(c_e)                                           (clause_to_var)

Damping (δ = weight of the old message) is a geometric mixture of λ, which keeps fixed points.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from bpcount.graph import FactorGraphBatch

#: λ_e is clamped at this value. Exact arithmetic never yields λ = −inf once unit clauses are gone
#: (bp-cnf.md §6); a −inf only arises from underflow (c_e rounding to 0), and would turn the next
#: cavity into inf − inf = NaN. e^−60 ≈ 1e−26 changes ln Z by far less than any reported digit, and
#: keeps the cancellation in ``S_a − ℓ_e`` within ulp(60) ≈ 8e−6 even in float32.
LOG_MESSAGE_FLOOR = -60.0

#: Σ_a ℓ (log of the probability that every literal of a clause is false) is clamped below zero by
#: this margin so that Z_a = 1 − exp(S_a) > 0 stays representable: a clause that BP believes to be
#: surely falsified (a near-contradiction) then contributes a large negative but finite ln Z_a.
LOG_CLAUSE_MARGIN = 1e-30

LN2 = math.log(2.0)

#: Default convergence tolerance on max |Δλ| per dtype (bp-cnf.md §3.4).
DEFAULT_TOL = {torch.float64: 1e-10, torch.float32: 1e-6}


def log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 − exp(x)) for x ≤ 0, Mächler's stable branch at −ln 2. Returns −inf at x = 0."""
    return torch.where(x > -LN2, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def binary_entropy_from_logit(x: torch.Tensor) -> torch.Tensor:
    """H(σ(x)) in nats, stable for any finite x: σ(x)·softplus(−x) + σ(−x)·softplus(x)."""
    return torch.sigmoid(x) * F.softplus(-x) + torch.sigmoid(-x) * F.softplus(x)


def segment_sum(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """out[j] = Σ_{k: index[k] = j} values[k]; ``size`` given explicitly (no host sync)."""
    return values.new_zeros((size,) + values.shape[1:]).index_add_(0, index, values)


def segment_max(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """out[j] = max over the segment (0 for empty segments; values are assumed ≥ 0)."""
    return values.new_zeros(size).scatter_reduce_(0, index, values, reduce="amax", include_self=True)


def var_totals(graph: FactorGraphBatch, lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Variable log-odds L (V,) and per-edge contributions u (E,) from clause messages λ (E,)."""
    u = graph.sign_of_edge * lam
    field = graph.log_phi[:, 1] - graph.log_phi[:, 0]
    return field.index_add(0, graph.var_of_edge, u), u


def var_to_clause(graph: FactorGraphBatch, lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Variable→clause messages: (ℓ, cav), both (E,).

    ``cav_e`` is the log-odds of n_{i→a}(x_i = 1) and ``ℓ_e = log n_{i→a}(f_e) ≤ 0``.
    """
    total, u = var_totals(graph, lam)
    cav = total[graph.var_of_edge] - u
    return F.logsigmoid(graph.sign_of_edge * cav), cav


def clause_to_var(graph: FactorGraphBatch, ell: torch.Tensor) -> torch.Tensor:
    """Clause→variable messages λ (E,) from ℓ (E,), closed form O(k) per clause (bp-cnf.md §3.2).

    Numerics: ``c_e = S_a − ℓ_e`` subtracts the edge's own term from the clause sum; its absolute
    error is ulp(|S_a|), which is why ℓ is bounded through :data:`LOG_MESSAGE_FLOOR`. The hot loop
    uses the one-branch ``log(−expm1(c))`` rather than :func:`log1mexp`: for c ≪ 0 it loses
    *relative* accuracy of the tiny result but its *absolute* error stays below 2 ulp(1) ≈ 2e−16,
    which is all that λ (a log-message added into sums) needs, at half the transcendental cost.
    """
    clause_sum = segment_sum(ell, graph.clause_of_edge, graph.num_clauses)
    others = (clause_sum[graph.clause_of_edge] - ell).clamp(max=0.0)
    return torch.log(-torch.expm1(others)).clamp(min=LOG_MESSAGE_FLOOR)


def damp(new: torch.Tensor, old: torch.Tensor, damping: float) -> torch.Tensor:
    """(1 − δ)·new + δ·old: δ is the weight of the *old* message (bp-cnf.md §3.3)."""
    if damping == 0.0:
        return new
    return torch.lerp(new, old, damping)


def bp_step(graph: FactorGraphBatch, lam: torch.Tensor) -> torch.Tensor:
    """One undamped parallel BP update of λ."""
    ell, _ = var_to_clause(graph, lam)
    return clause_to_var(graph, ell)


@dataclass(frozen=True)
class BetheTerms:
    """Per-node pieces of the Bethe free energy at given messages (for BP and the BPNN readout).

    Shapes: clause terms (C,), variable terms (V,), edge terms (E,). All float64.
    """

    clause_entropy: torch.Tensor  # H(b_a)
    clause_log_z: torch.Tensor  # ln Z_a = ln(1 − p*_a)
    clause_log_pstar: torch.Tensor  # S_a = ln p*_a
    var_entropy: torch.Tensor  # H(b_i)
    var_energy: torch.Tensor  # Σ_x b_i(x) ln φ_i(x)
    var_logit: torch.Tensor  # L_i, log-odds of b_i(x = 1)
    edge_entropy: torch.Tensor  # H(n_{i→a})
    edge_ell: torch.Tensor  # ℓ_e
    edge_cavity: torch.Tensor  # cav_e


def bethe_terms(graph: FactorGraphBatch, lam: torch.Tensor) -> BetheTerms:
    """Closed-form Bethe pieces (bp-cnf.md §5) at clause messages λ, computed in float64."""
    g = graph.to(dtype=torch.float64) if graph.dtype != torch.float64 else graph
    lam = lam.to(torch.float64)
    ell, cav = var_to_clause(g, lam)
    total, _ = var_totals(g, lam)
    h_edge = binary_entropy_from_logit(cav)
    s_a = segment_sum(ell, g.clause_of_edge, g.num_clauses).clamp(max=-LOG_CLAUSE_MARGIN)
    ln_za = log1mexp(s_a)
    z_a = -torch.expm1(s_a)
    pstar_ln_pstar = s_a * torch.exp(s_a)
    h_clause = (segment_sum(h_edge, g.clause_of_edge, g.num_clauses) + pstar_ln_pstar) / z_a + ln_za
    h_var, energy = var_bethe_terms(total, g.log_phi)
    return BetheTerms(h_clause, ln_za, s_a, h_var, energy, total, h_edge, ell, cav)


def var_bethe_terms(logit: torch.Tensor, log_phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-variable Bethe pieces from belief log-odds (V,) and unary log weights (V, 2):
    (H(b_i), Σ_x b_i(x) ln φ_i(x)), both (V,) in the inputs' dtype (shared with gate BP)."""
    b1 = torch.sigmoid(logit)
    return binary_entropy_from_logit(logit), b1 * log_phi[:, 1] + (1.0 - b1) * log_phi[:, 0]


def bethe_log_z(graph: FactorGraphBatch, lam: torch.Tensor) -> torch.Tensor:
    """Bethe ln Z per formula, (B,) float64, including ``graph.ln_offset``.

    ln Z = Σ_a H(b_a) + Σ_i (1 − d_i) H(b_i) + Σ_i E_{b_i}[ln φ_i] + ln_offset. Exact on forests.
    """
    t = bethe_terms(graph, lam)
    degree = graph.var_degree.to(torch.float64)
    per_var = (1.0 - degree) * t.var_entropy + t.var_energy
    out = graph.ln_offset.clone()
    out.index_add_(0, graph.graph_of_clause, t.clause_entropy)
    out.index_add_(0, graph.graph_of_var, per_var)
    return out


@dataclass(frozen=True)
class Iterated:
    """Outcome of :func:`iterate`; per-formula tensors (B,)."""

    x: torch.Tensor  # (E,) final messages
    converged: torch.Tensor  # bool: max |Δx| < tol at some check (then frozen)
    iterations: torch.Tensor  # int64: iterations until convergence, or all that ran
    residual: torch.Tensor  # last measured max |Δx|
    timed_out: bool  # the deadline stopped the loop before every formula converged


def iterate(step, x: torch.Tensor, graph_of_edge: torch.Tensor, done: torch.Tensor,
            damping: float | torch.Tensor, *, max_iters: int, tol: float, check_every: int = 10,
            deadline: float | None = None) -> Iterated:
    """Damped fixed-point iteration x ← lerp(step(x), x, damping) with per-formula freezing.

    ``step``: (E,) → (E,) undamped update; ``done`` (B,): formulas frozen from the start;
    ``damping``: a float or a per-edge (E,) weight of the old message. Convergence (per-formula max
    |Δx| < ``tol``, a segment max) and ``deadline`` (a ``time.monotonic()`` value) are checked every
    ``check_every`` iterations: one host synchronisation per check, none per iteration.
    """
    B = done.shape[0]
    converged = done.clone()
    iterations = torch.zeros(B, dtype=torch.int64, device=x.device)
    residual = torch.full((B,), float("inf"), dtype=x.dtype, device=x.device)
    frozen = converged[graph_of_edge]
    timed_out = False
    for t in range(1, max_iters + 1):
        new = torch.lerp(step(x), x, damping) if not (isinstance(damping, float) and damping == 0.0) else step(x)
        new = torch.where(frozen, x, new)
        if t % check_every == 0 or t == max_iters:
            delta = segment_max((new - x).abs(), graph_of_edge, B)
            residual = torch.where(converged, residual, delta)
            iterations = torch.where(converged, iterations, torch.full_like(iterations, t))
            converged = converged | (delta < tol)
            frozen = converged[graph_of_edge]
            x = new
            if bool(converged.all()):
                break
            if deadline is not None and time.monotonic() > deadline:
                timed_out = True
                break
        else:
            x = new
    return Iterated(x, converged, iterations, residual, timed_out)


@dataclass(frozen=True)
class BPResult:
    """Outcome of :func:`run_bp`. Per-formula tensors have shape (B,).

    * ``log_z``: Bethe ln Z at the last iterate (float64), including the exact offset.
    * ``converged``: max |Δλ| fell below ``tol`` (the formula's messages were then frozen).
    * ``iterations``: iterations run for each formula (when it converged, or the total).
    * ``residual``: the last measured max |Δλ| of each formula.
    * ``lam``: (E,) final clause messages (for warm starts and learned readouts).
    * ``floor_hits``: (B,) number of edges whose λ sits on :data:`LOG_MESSAGE_FLOOR`.
    * ``timed_out``: the deadline stopped the loop before every formula converged.
    """

    log_z: torch.Tensor
    converged: torch.Tensor
    iterations: torch.Tensor
    residual: torch.Tensor
    lam: torch.Tensor
    floor_hits: torch.Tensor
    timed_out: bool


def run_bp(
    graph: FactorGraphBatch,
    *,
    damping: float = 0.5,
    max_iters: int = 500,
    tol: float | None = None,
    check_every: int = 10,
    init: torch.Tensor | None = None,
    deadline: float | None = None,
) -> BPResult:
    """Damped parallel BP to convergence (per formula) or ``max_iters``.

    Convergence is measured every ``check_every`` iterations as the per-formula max |Δλ| (a segment
    max), so the loop synchronises with the host once per check, never per iteration. A formula that
    has converged keeps its messages frozen while the others go on. ``deadline`` is a
    ``time.monotonic()`` value checked at the same points.
    """
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    tol = DEFAULT_TOL.get(graph.dtype, 1e-6) if tol is None else tol
    B, device = graph.num_graphs, graph.device
    lam = torch.zeros(graph.num_edges, dtype=graph.dtype, device=device) if init is None else init.clone()
    done = torch.zeros(B, dtype=torch.bool, device=device)
    if graph.num_edges == 0:
        converged, iterations = torch.ones_like(done), torch.zeros(B, dtype=torch.int64, device=device)
        residual, timed_out = torch.zeros(B, dtype=graph.dtype, device=device), False
    else:
        it = iterate(lambda x: bp_step(graph, x), lam, graph.graph_of_edge, done, damping, max_iters=max_iters,
                     tol=tol, check_every=check_every, deadline=deadline)
        lam, converged, iterations, residual, timed_out = it.x, it.converged, it.iterations, it.residual, it.timed_out
        # formulas with no edges are trivially converged
    empty = segment_sum(torch.ones_like(lam), graph.graph_of_edge, B) == 0 if graph.num_edges else torch.ones(B, dtype=torch.bool, device=device)
    converged = converged | empty
    residual = torch.where(empty, torch.zeros_like(residual), residual)
    floor_hits = segment_sum((lam <= LOG_MESSAGE_FLOOR).to(torch.int64), graph.graph_of_edge, B)
    return BPResult(
        log_z=bethe_log_z(graph, lam),
        converged=converged,
        iterations=iterations,
        residual=residual,
        lam=lam,
        floor_hits=floor_hits,
        timed_out=timed_out,
    )
