"""Factor graphs of CNF formulas as frozen dataclasses of flat index tensors, batched.

A batch of B formulas is one disjoint bipartite graph (variables | clauses, one edge per literal
occurrence after deduplication). Variable ids and clause ids are shifted *separately* by the running
counts; ``graph_of_*`` maps every node and edge to its formula. All sizes are Python ints known at
build time, so engines pass explicit output sizes to every scatter and never synchronise to find them.

Naming: ``X_of_Y`` means "for each Y, which X".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Protocol

import numpy as np
import torch


class GraphPart(Protocol):
    """What :func:`build_batch` needs from one formula (see :class:`bpcount.simplify.Residual`).

    ``lits`` are signed 1-based literals over ``num_vars`` variables, clauses delimited by
    ``clause_ptr``; no duplicate literals or tautologies (the simplifier removes them). ``log_phi``
    is (num_vars, 2) log unary weights (column 0: x = 0, column 1: x = 1) or None for all-zero.
    """

    num_vars: int
    lits: np.ndarray
    clause_ptr: np.ndarray
    log_phi: np.ndarray | None
    ln_offset: float


@dataclass(frozen=True)
class FactorGraphBatch:
    """B formulas as one disjoint factor graph.

    Tensors (V = total variables, C = total clauses, E = total edges, B = formulas):

    * ``var_of_edge``: (E,) int64, variable of each edge (0-based, batch-global).
    * ``clause_of_edge``: (E,) int64, clause of each edge; edges are grouped by clause.
    * ``fval_of_edge``: (E,) bool, falsifying value of the literal (True ⇔ negative literal).
    * ``sign_of_edge``: (E,) float, +1 for a negative literal, −1 for a positive one: the sign that
      turns a falsifying-frame quantity into a log-odds of x = 1 (see :mod:`bpcount.bp`).
    * ``clause_ptr``: (C+1,) int64 CSR offsets of each clause's edges.
    * ``var_degree``: (V,) float, number of clauses containing each variable (d_i).
    * ``clause_size``: (C,) float, k_a.
    * ``log_phi``: (V, 2) float, log unary weights (0 = unweighted).
    * ``graph_of_var`` (V,), ``graph_of_clause`` (C,), ``graph_of_edge`` (E,): int64 formula ids.
    * ``ln_offset``: (B,) float64, exact ln-count contribution decided outside the graph.
    * ``num_vars``, ``num_clauses``, ``num_edges``, ``num_graphs``: Python ints.
    """

    var_of_edge: torch.Tensor
    clause_of_edge: torch.Tensor
    fval_of_edge: torch.Tensor
    sign_of_edge: torch.Tensor
    clause_ptr: torch.Tensor
    var_degree: torch.Tensor
    clause_size: torch.Tensor
    log_phi: torch.Tensor
    graph_of_var: torch.Tensor
    graph_of_clause: torch.Tensor
    graph_of_edge: torch.Tensor
    ln_offset: torch.Tensor
    num_vars: int
    num_clauses: int
    num_edges: int
    num_graphs: int
    var_ptr: tuple[int, ...]  # (B+1,) variable offsets per formula, host side
    clause_ptr_of_graph: tuple[int, ...]  # (B+1,) clause offsets per formula, host side

    @property
    def device(self) -> torch.device:
        return self.var_of_edge.device

    @property
    def dtype(self) -> torch.dtype:
        return self.log_phi.dtype

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> FactorGraphBatch:
        """A copy on ``device``; float tensors (except ``ln_offset``, always float64) cast to ``dtype``."""
        changes = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, torch.Tensor):
                continue
            target_dtype = dtype if (value.is_floating_point() and f.name != "ln_offset") else None
            changes[f.name] = value.to(device=device, dtype=target_dtype)
        return replace(self, **changes)

    def unbatch(self) -> list[tuple[int, list[list[int]]]]:
        """Inverse of :func:`build_batch` on the clause structure: (num_vars, clauses) per formula,
        with local 1-based signed literals (used by tests for the round trip)."""
        var = self.var_of_edge.cpu().numpy()
        neg = self.fval_of_edge.cpu().numpy()
        ptr = self.clause_ptr.cpu().numpy()
        out = []
        for g in range(self.num_graphs):
            v0, v1 = self.var_ptr[g], self.var_ptr[g + 1]
            c0, c1 = self.clause_ptr_of_graph[g], self.clause_ptr_of_graph[g + 1]
            clauses = []
            for a in range(c0, c1):
                e = slice(ptr[a], ptr[a + 1])
                lit = var[e] - v0 + 1
                clauses.append(np.where(neg[e], -lit, lit).tolist())
            out.append((v1 - v0, clauses))
        return out


def concat_ranges(starts: torch.Tensor, sizes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenated ``arange(starts[i], starts[i] + sizes[i])`` over i, and per element its range i.

    ``starts``, ``sizes``: (R,) int64. Returns two (Σ sizes,) int64 tensors (CSR gathers without a
    Python loop: e.g. every edge of a list of clauses).
    """
    which = torch.repeat_interleave(torch.arange(len(sizes), device=sizes.device), sizes)
    offsets = torch.cumsum(sizes, 0) - sizes
    return starts[which] + torch.arange(len(which), device=sizes.device) - offsets[which], which


def select(graph: FactorGraphBatch, idx: Sequence[int]) -> FactorGraphBatch:
    """The formulas ``idx`` of a batch (in that order) as a batch of their own, on the same device.

    Equal to :func:`build_batch` of those formulas' parts (tested); index arithmetic only, no Python
    loop over edges.
    """
    dev = graph.device
    vp, cp = graph.var_ptr, graph.clause_ptr_of_graph
    v0 = torch.tensor([vp[g] for g in idx], dtype=torch.int64, device=dev)
    v1 = torch.tensor([vp[g + 1] for g in idx], dtype=torch.int64, device=dev)
    c0 = torch.tensor([cp[g] for g in idx], dtype=torch.int64, device=dev)
    c1 = torch.tensor([cp[g + 1] for g in idx], dtype=torch.int64, device=dev)
    e0, e1 = graph.clause_ptr[c0], graph.clause_ptr[c1]
    nv, nc, ne = v1 - v0, c1 - c0, e1 - e0
    var_ids, graph_of_var = concat_ranges(v0, nv)
    clause_ids, graph_of_clause = concat_ranges(c0, nc)
    edge_ids, graph_of_edge = concat_ranges(e0, ne)
    new_v0, new_c0, new_e0 = (torch.cumsum(n, 0) - n for n in (nv, nc, ne))
    num_edges = len(edge_ids)
    clause_ptr = torch.cat([graph.clause_ptr[clause_ids] - (e0 - new_e0)[graph_of_clause],
                            torch.tensor([num_edges], dtype=torch.int64, device=dev)])
    var_ptr = (0, *torch.cumsum(nv, 0).tolist())
    clause_ptr_of_graph = (0, *torch.cumsum(nc, 0).tolist())
    return FactorGraphBatch(
        var_of_edge=graph.var_of_edge[edge_ids] - (v0 - new_v0)[graph_of_edge],
        clause_of_edge=graph.clause_of_edge[edge_ids] - (c0 - new_c0)[graph_of_edge],
        fval_of_edge=graph.fval_of_edge[edge_ids],
        sign_of_edge=graph.sign_of_edge[edge_ids],
        clause_ptr=clause_ptr,
        var_degree=graph.var_degree[var_ids],
        clause_size=graph.clause_size[clause_ids],
        log_phi=graph.log_phi[var_ids],
        graph_of_var=graph_of_var,
        graph_of_clause=graph_of_clause,
        graph_of_edge=graph_of_edge,
        ln_offset=graph.ln_offset[torch.tensor(list(idx), dtype=torch.int64, device=dev)],
        num_vars=len(var_ids),
        num_clauses=len(clause_ids),
        num_edges=num_edges,
        num_graphs=len(idx),
        var_ptr=var_ptr,
        clause_ptr_of_graph=clause_ptr_of_graph,
    )


def build_batch(
    parts: Sequence[GraphPart],
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> FactorGraphBatch:
    """Concatenate formulas into one :class:`FactorGraphBatch` (no Python loop over edges)."""
    nv = np.array([p.num_vars for p in parts], dtype=np.int64)
    nc = np.array([len(p.clause_ptr) - 1 for p in parts], dtype=np.int64)
    ne = np.array([int(p.clause_ptr[-1]) for p in parts], dtype=np.int64)
    var_ptr = np.concatenate([[0], np.cumsum(nv)])
    cl_ptr = np.concatenate([[0], np.cumsum(nc)])
    e_ptr = np.concatenate([[0], np.cumsum(ne)])
    V, C, E, B = int(var_ptr[-1]), int(cl_ptr[-1]), int(e_ptr[-1]), len(parts)

    lits = np.concatenate([np.asarray(p.lits, dtype=np.int64)[: int(p.clause_ptr[-1])] for p in parts]) if B else np.zeros(0, np.int64)
    graph_of_edge = np.repeat(np.arange(B), ne)
    var_of_edge = np.abs(lits) - 1 + var_ptr[:-1][graph_of_edge]
    fval_of_edge = lits < 0
    # clause CSR: local pointers shifted by each formula's edge offset
    clause_ptr = np.concatenate(
        [np.asarray(p.clause_ptr[:-1], dtype=np.int64) + e_ptr[g] for g, p in enumerate(parts)] + [[E]]
    ) if B else np.zeros(1, np.int64)
    clause_size = np.diff(clause_ptr)
    clause_of_edge = np.repeat(np.arange(C), clause_size)
    var_degree = np.bincount(var_of_edge, minlength=V)
    log_phi = np.zeros((V, 2), dtype=np.float64)
    for g, p in enumerate(parts):
        if p.log_phi is not None:
            log_phi[var_ptr[g] : var_ptr[g + 1]] = p.log_phi
    ln_offset = np.array([p.ln_offset for p in parts], dtype=np.float64)

    def t(x, dt):
        return torch.as_tensor(np.ascontiguousarray(x), dtype=dt, device=device)

    return FactorGraphBatch(
        var_of_edge=t(var_of_edge, torch.int64),
        clause_of_edge=t(clause_of_edge, torch.int64),
        fval_of_edge=t(fval_of_edge, torch.bool),
        sign_of_edge=t(np.where(fval_of_edge, 1.0, -1.0), dtype),
        clause_ptr=t(clause_ptr, torch.int64),
        var_degree=t(var_degree, dtype),
        clause_size=t(clause_size, dtype),
        log_phi=t(log_phi, dtype),
        graph_of_var=t(np.repeat(np.arange(B), nv), torch.int64),
        graph_of_clause=t(np.repeat(np.arange(B), nc), torch.int64),
        graph_of_edge=t(graph_of_edge, torch.int64),
        ln_offset=t(ln_offset, torch.float64),
        num_vars=V,
        num_clauses=C,
        num_edges=E,
        num_graphs=B,
        var_ptr=tuple(int(x) for x in var_ptr),
        clause_ptr_of_graph=tuple(int(x) for x in cl_ptr),
    )
