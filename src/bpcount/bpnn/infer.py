"""BPNN inference on a batched factor graph: what ``bpcount count --method bpnn`` runs."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bpcount.bpnn.model import BPNN
from bpcount.graph import FactorGraphBatch


@dataclass(frozen=True)
class BPNNResult:
    """Per-formula results, shape (B,).

    * ``log_z``: float64 BPNN ln Z estimate, including ``graph.ln_offset``.
    * ``bethe_log_z``: float64 Bethe ln Z of the last layer (plain BP's reading of the same messages).
    * ``converged``: the last layer changed λ by less than the model's ``tol`` (max |Δλ|) — the
      messages are at (or next to) a BP fixed point, which every BPNN-D layer preserves — or the
      estimate is the converged gate-BP base (``base_when_converged``).
    * ``iterations``: message updates run (warm-up BP iterations + BPNN-D layers), int64.
    * ``residual``: max |λ^K − λ^{K−1}| of the last layer (graph dtype).
    * ``base_log_z``: float64 gate-BP Bethe ln Z (incl. ``ln_offset``, before any projection) that
      the model's readout starts from, or None for a model without a gate base.
    """

    log_z: torch.Tensor
    bethe_log_z: torch.Tensor
    converged: torch.Tensor
    iterations: torch.Tensor
    residual: torch.Tensor
    base_log_z: torch.Tensor | None = None


def estimate_graph(model: BPNN, graph: FactorGraphBatch, *, check_every: int = 10) -> BPNNResult:
    """Run ``model`` on ``graph`` without gradients.

    Untied models run their K layers. Tied models iterate their single layer until every formula's
    max |Δλ| < ``config.tol`` or ``config.max_iters`` layers (convergence tested every
    ``check_every`` layers, the only host synchronisation), then read out the last K messages.
    """
    cfg = model.config
    graph = model.message_graph(graph)
    B = graph.num_graphs
    with torch.no_grad():
        if not cfg.tied:
            out = model(graph)
            iters = torch.full((B,), cfg.warmup_iters + cfg.num_layers, dtype=torch.int64, device=graph.device)
        else:
            traj = model.propagate(graph)
            steps = cfg.num_layers
            iters = torch.full((B,), steps, dtype=torch.int64, device=graph.device)
            while steps < cfg.max_iters:
                delta = (traj[-1] - traj[-2]).abs()
                res = delta.new_zeros(B).scatter_reduce(0, graph.graph_of_edge, delta, reduce="amax")
                done = res < cfg.tol
                if steps % check_every == 0 and bool(done.all()):
                    break
                # converged formulas keep their messages (a fixed point of every layer anyway)
                nxt = model.layer(graph, traj[-1], 0)
                nxt = torch.where(done[graph.graph_of_edge], traj[-1], nxt)
                iters = torch.where(done, iters, iters + 1)
                traj = traj[1:] + [nxt]
                steps += 1
            out = model.read(graph, traj)
            iters = iters + cfg.warmup_iters
    # where the output is the converged gate-BP base, that is the fixed point the answer comes from
    converged = (out.residual < cfg.tol) | out.base_used
    return BPNNResult(log_z=out.log_z, bethe_log_z=out.bethe_log_z, converged=converged,
                      iterations=iters, residual=out.residual, base_log_z=out.base_raw)
