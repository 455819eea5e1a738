"""Neighbourhood belief propagation (Kirkley–Cantwell–Newman, loops up to length r + 2) for CNF.

Library entry: :func:`estimate_graph` on a simplified :class:`bpcount.graph.FactorGraphBatch`.
Two ln Z estimators (kcn.md §11):

* ``"cvm"`` (default): the cluster-variation free energy with Möbius counting numbers
  (:mod:`bpcount.loopy.entropy`); one solve. At r = 0 it equals the Bethe free energy of plain BP
  whenever no two clauses share two variables.
* ``"ti"``: thermodynamic integration over soft clauses ψ_a = e^{−β[a violated]},

      ln Z = Σ_i ln Σ_x φ_i(x) − ∫_0^∞ U(β) dβ,    U(β) = Σ_a P_β(a violated),

  with u = 1 − e^{−β} and :data:`TI_NODES`-point Gauss–Legendre on [0, 1 − e^{−TI_BETA_MAX}],
  warm-starting the messages along β (about TI_NODES solves). No entropy bookkeeping; exact
  wherever KCN is exact at every β.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from bpcount.graph import FactorGraphBatch
from bpcount.loopy.engine import KCNSolver, LoopyCapError
from bpcount.loopy.model import DiscreteModel, ising_model, model_from_graph

ESTIMATORS = ("cvm", "ti")

#: Gauss–Legendre nodes of the thermodynamic integration (kcn.md §11).
TI_NODES = 48

#: TI integrates β up to this value (u up to 1 − e^−30); U(β) ~ e^−β·(...) makes the tail negligible.
TI_BETA_MAX = 30.0


@dataclass(frozen=True)
class LoopyResult:
    """Outcome of :func:`estimate_graph`. Per-formula tensors have shape (B,).

    * ``log_z``: float64 CVM ln Z estimate including ``graph.ln_offset``.
    * ``converged``: max |Δq| < tol was reached.
    * ``iterations``: int64, iterations run.
    * ``residual``: float64, last max |Δq| (probabilities).
    * ``stats``: per formula, a JSON-serialisable dict (see :func:`estimate_graph`).
    * ``marginals``: (V,) float64 P(x_i = 1) from each variable's neighbourhood belief.
    """

    log_z: torch.Tensor
    converged: torch.Tensor
    iterations: torch.Tensor
    residual: torch.Tensor
    stats: list[dict]
    marginals: torch.Tensor | None = None


def estimate_graph(graph: FactorGraphBatch, *, radius: int = 1, damping: float = 0.5, max_iters: int = 200,
                   tol: float = 1e-8, deadline: float | None = None, seed: int = 0,
                   max_region_vars: int = 20, mc_samples: int = 10000,
                   max_messages: int = 5_000_000, estimator: str = "cvm") -> LoopyResult:
    """Neighbourhood BP at radius ``radius`` on every formula of the batch; ln Z by ``estimator``
    ("cvm", the default, or "ti": see the module docstring; TI costs about TI_NODES solves).

    ``deadline`` is a ``time.monotonic()`` value checked once per iteration. Neighbourhoods with
    more than ``max_region_vars`` variables are avoided by lowering that node's radius. Local sums
    are enumerated per component (centre fixed); a component above ``max_region_vars`` variables
    (or above a lower cap chosen to fit the table budget) is sampled with ``mc_samples`` samples
    (seeded by ``seed``). Raises
    :class:`LoopyCapError` when the message count exceeds ``max_messages`` or the tables would
    exceed the memory cap.

    ``stats[b]`` keys: radius, estimator, num_messages, region_vars_mean, region_vars_max,
    local_sums_exact / local_sums_sampled (component sub-tasks: a message or belief local sum
    factorises over the components of its region once the centre is fixed), min_ess (None when
    nothing was sampled; the minimum over the batch), capped_regions (variables whose radius was
    lowered or that have a sampled component), enumeration_cap (largest enumerated sub-task),
    contradictions (messages whose local sum was 0 in the last iteration, over the batch),
    cvm_regions (None for TI), seconds_build, seconds_iterate.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    t0 = time.monotonic()
    model = model_from_graph(graph)
    if estimator == "ti":
        model = soft_model(model)
    solver = KCNSolver(model, radius, max_region_vars=max_region_vars, mc_samples=mc_samples,
                       max_messages=max_messages, seed=seed)
    t1 = time.monotonic()
    if estimator == "ti":
        sol, log_z, bel = _thermodynamic_integration(solver, damping=damping, max_iters=max_iters, tol=tol,
                                                     deadline=deadline)
    else:
        sol = solver.solve(damping=damping, max_iters=max_iters, tol=tol, deadline=deadline)
        bel = solver.beliefs(sol)
        _, log_z = solver.cvm(bel, sol.beta)
    t2 = time.monotonic()
    p1 = solver.p_one(bel)
    sizes = solver.nb.sizes
    target_graph = model.graph_of_var[solver.msgs.target]
    msub_graph = target_graph[solver.msg_sub.parent]
    nsub_graph = model.graph_of_var[solver.node_sub.parent]
    msub_mc = np.zeros(len(msub_graph), dtype=bool)
    msub_mc[solver.msg_mc] = True
    nsub_mc = np.zeros(len(nsub_graph), dtype=bool)
    nsub_mc[solver.node_mc] = True
    capped = (solver.nb.radius_of_var < radius) | solver.sampled
    fam_graph = None
    if estimator == "cvm":
        fam_graph = np.array([model.graph_of_var[v[0]] for v in solver.regions.region_vars], dtype=np.int64)
    stats = []
    for b in range(graph.num_graphs):
        v0, v1 = graph.var_ptr[b], graph.var_ptr[b + 1]
        n_sampled = int(np.sum(msub_mc & (msub_graph == b)) + np.sum(nsub_mc & (nsub_graph == b)))
        n_subtasks = int(np.sum(msub_graph == b) + np.sum(nsub_graph == b))
        n_msgs = int(np.sum(target_graph == b))
        stats.append({
            "radius": radius,
            "estimator": estimator,
            "num_messages": n_msgs,
            "region_vars_mean": float(sizes[v0:v1].mean()) if v1 > v0 else 0.0,
            "region_vars_max": int(sizes[v0:v1].max()) if v1 > v0 else 0,
            "local_sums_exact": n_subtasks - n_sampled,
            "local_sums_sampled": n_sampled,
            "min_ess": (sol.min_ess if math.isfinite(sol.min_ess) else None) if n_sampled else None,
            "capped_regions": int(capped[v0:v1].sum()),
            "enumeration_cap": int(solver.enum_cap),
            "contradictions": int(sol.contradictions),
            "cvm_regions": int(np.sum(fam_graph == b)) if fam_graph is not None else None,
            "seconds_build": t1 - t0,
            "seconds_iterate": t2 - t1,
        })
    return LoopyResult(
        log_z=torch.as_tensor(log_z, dtype=torch.float64) + graph.ln_offset.cpu(),
        converged=sol.converged,
        iterations=sol.iterations,
        residual=sol.residual,
        stats=stats,
        marginals=torch.as_tensor(p1),
    )


def soft_model(model: DiscreteModel) -> DiscreteModel:
    """The model with every hard zero replaced by ln ψ = −1 (so β·table = −β[a violated])."""
    tables = np.where(np.isneginf(model.tables), -1.0, 0.0)
    return DiscreteModel(model.num_vars, model.log_phi, model.factor_ptr, model.factor_vars, model.table_ptr,
                         tables, model.graph_of_var, model.num_graphs)


def _thermodynamic_integration(solver: KCNSolver, *, damping: float, max_iters: int, tol: float,
                               deadline: float | None):
    """TI ln Z (B,) on a :func:`soft_model` solver; returns (last solution, ln Z, last beliefs).

    ``converged`` of the returned solution is the AND over all quadrature nodes, ``iterations`` the
    total; a deadline hit leaves ln Z = NaN for unfinished formulas.
    """
    model = solver.model
    B = model.num_graphs
    x, w = np.polynomial.legendre.leggauss(TI_NODES)
    u_max = -math.expm1(-TI_BETA_MAX)
    us, ws = (x + 1.0) / 2.0 * u_max, w / 2.0 * u_max
    arity = np.diff(model.factor_ptr).astype(np.float64)
    graph_of_factor = model.graph_of_var[model.factor_vars[model.factor_ptr[:-1]]] if model.num_factors else \
        np.zeros(0, dtype=np.int64)
    phi = model.log_phi
    log_z0 = np.zeros(B)
    np.add.at(log_z0, model.graph_of_var, np.logaddexp(phi[:, 0], phi[:, 1]))
    integral = np.zeros(B)
    converged = torch.ones(B, dtype=torch.bool)
    iterations = torch.zeros(B, dtype=torch.int64)
    residual = torch.zeros(B, dtype=torch.float64)
    init, sol, bel, finished = None, None, None, True
    for u, wk in zip(us, ws, strict=True):
        beta = -math.log1p(-u)
        sol = solver.solve(beta=beta, unary_beta=1.0, init=init, damping=damping, max_iters=max_iters, tol=tol,
                           deadline=deadline)
        init = sol.logq
        bel = solver.beliefs(sol)
        _, facs, vals = solver.factor_expectations(bel, 1.0)  # E[ln ψ_a] at table scale 1 = −P(violated)
        p_violated = -np.bincount(facs, weights=vals, minlength=model.num_factors) / np.maximum(arity, 1.0)
        per_graph = np.zeros(B)
        np.add.at(per_graph, graph_of_factor, p_violated)
        integral += wk * per_graph / (1.0 - u)
        converged &= sol.converged
        iterations += sol.iterations
        residual = torch.maximum(residual, sol.residual)
        if deadline is not None and time.monotonic() > deadline:
            finished = u == us[-1]
            break
    log_z = log_z0 - integral
    if not finished:
        log_z[:] = np.nan
        converged[:] = False
    if sol is None:  # no factors at all
        sol = solver.solve(unary_beta=1.0)
        bel = solver.beliefs(sol)
    return replace(sol, converged=converged, iterations=iterations, residual=residual), log_z, bel


__all__ = ["ESTIMATORS", "soft_model", "DiscreteModel", "KCNSolver", "LoopyCapError", "LoopyResult", "estimate_graph", "ising_model",
           "model_from_graph"]
