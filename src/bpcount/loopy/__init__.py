"""Neighbourhood belief propagation (Kirkley–Cantwell–Newman, loops up to length r + 2) for CNF.

Library entry: :func:`estimate_graph` on a simplified :class:`bpcount.graph.FactorGraphBatch`.
The ln Z estimator is the cluster-variation (CVM) free energy with Möbius counting numbers
(:mod:`bpcount.loopy.entropy`); at r = 0 it equals the Bethe free energy of plain BP whenever no two
clauses share two variables.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from bpcount.graph import FactorGraphBatch
from bpcount.loopy.engine import KCNSolver, LoopyCapError
from bpcount.loopy.model import DiscreteModel, ising_model, model_from_graph


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
                   max_messages: int = 5_000_000) -> LoopyResult:
    """Neighbourhood BP at radius ``radius`` on every formula of the batch; CVM ln Z.

    ``deadline`` is a ``time.monotonic()`` value checked once per iteration. Regions with more than
    ``max_region_vars`` variables are avoided by lowering that node's radius; a star that is still
    too large is sampled with ``mc_samples`` samples (seeded by ``seed``). Raises
    :class:`LoopyCapError` when the message count exceeds ``max_messages`` or the tables would
    exceed the memory cap.

    ``stats[b]`` keys: radius, estimator ("cvm"), num_messages, region_vars_mean, region_vars_max,
    local_sums_exact, local_sums_sampled, min_ess (None when nothing was sampled), capped_regions
    (variables whose radius was lowered or whose star was sampled), contradictions, cvm_regions,
    seconds_build, seconds_iterate.
    """
    t0 = time.monotonic()
    model = model_from_graph(graph)
    solver = KCNSolver(model, radius, max_region_vars=max_region_vars, mc_samples=mc_samples,
                       max_messages=max_messages, seed=seed)
    t1 = time.monotonic()
    sol = solver.solve(damping=damping, max_iters=max_iters, tol=tol, deadline=deadline)
    log_z, blocks = _log_z(solver, sol)
    t2 = time.monotonic()
    p1 = solver.p_one(blocks)
    sizes = solver.nb.sizes
    target_graph = model.graph_of_var[solver.msgs.target]
    mc_graph = target_graph[solver.msg_mc]
    capped = (solver.nb.radius_of_var < radius) | solver.sampled
    fam = solver.regions
    fam_graph = np.array([model.graph_of_var[v[0]] for v in fam.region_vars], dtype=np.int64)
    stats = []
    for b in range(graph.num_graphs):
        v0, v1 = graph.var_ptr[b], graph.var_ptr[b + 1]
        n_sampled = int(np.sum(mc_graph == b) + solver.sampled[v0:v1].sum())
        n_msgs = int(np.sum(target_graph == b))
        stats.append({
            "radius": radius,
            "estimator": "cvm",
            "num_messages": n_msgs,
            "region_vars_mean": float(sizes[v0:v1].mean()) if v1 > v0 else 0.0,
            "region_vars_max": int(sizes[v0:v1].max()) if v1 > v0 else 0,
            "local_sums_exact": int(n_msgs + (v1 - v0) - n_sampled),
            "local_sums_sampled": n_sampled,
            "min_ess": (sol.min_ess if math.isfinite(sol.min_ess) else None) if n_sampled else None,
            "capped_regions": int(capped[v0:v1].sum()),
            "contradictions": int(sol.contradictions),
            "cvm_regions": int(np.sum(fam_graph == b)),
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


def _log_z(solver: KCNSolver, sol) -> tuple[np.ndarray, list]:
    blocks = solver.beliefs(sol)
    _, log_z = solver.cvm(blocks, sol.beta)
    return log_z, blocks


__all__ = ["DiscreteModel", "KCNSolver", "LoopyCapError", "LoopyResult", "estimate_graph", "ising_model",
           "model_from_graph"]
