"""Structural features of a CNF factor graph: Tseitin gates the readout can recognise.

Circuit-derived CNFs (bit-blasted SMT, ISCAS, sketches) are mostly gate definitions. A variable
that is the output of a gate is *determined* by the gate's inputs, so it contributes nothing to
ln Z, while BP's Bethe value treats the gate's clauses as independent constraints and is biased on
every gate (it underestimates ln Z by tens of nats on the larger ISCAS formulas). The messages
alone hardly reveal which variables are determined; these flags do, and they are exact structural
facts found by pattern matching:

* **AND/OR gate** with output literal ℓ: a clause (ℓ ∨ m_1 ∨ … ∨ m_j), j ≥ 2, such that every
  binary clause (¬ℓ ∨ ¬m_i) is present, i.e. ℓ ↔ ¬m_1 ∧ … ∧ ¬m_j (with ℓ = ¬x this is
  x ↔ OR(m_i)). Clauses longer than :data:`MAX_GATE_WIDTH` are not examined.
  (j = 1 would be an equivalence, which :func:`bpcount.simplify.simplify` has already substituted.)
* **XOR triple**: four ternary clauses over the same three variables with the four sign patterns
  of one parity, i.e. x ⊕ y ⊕ z = const; each of the three variables is determined by the others.

All flags are invariant to clause order, literal order, variable renaming and polarity flips
(a flip turns an AND gate into an OR gate with the same output variable and keeps an XOR triple
complete), so the readout keeps its invariances. Computed once per forward pass, outside the
message-passing loop (it uses ``torch.unique``, which synchronises with the host).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bpcount.graph import FactorGraphBatch

#: Longest clause examined as the long clause of an AND/OR gate (the check costs Σ k² per clause).
MAX_GATE_WIDTH = 16

#: Literal sign patterns of a ternary clause (3 bits) and XOR parities.
_PATTERNS = 8


@dataclass(frozen=True)
class GateFeatures:
    """Per-node {0, 1} flags, float64 on the graph's device.

    * ``edge_output`` (E,): the edge's literal is the output literal of an AND gate whose long clause
      is this edge's clause.
    * ``clause_gate`` (C,): the clause belongs to a detected AND/OR gate (its long clause or one of
      its binary clauses).
    * ``clause_xor`` (C,): the clause is one of the four clauses of a complete XOR triple.
    * ``var_gate`` (V,): the variable is the output of some detected AND/OR gate.
    * ``var_xor`` (V,): the variable occurs in a complete XOR triple.
    """

    edge_output: torch.Tensor
    clause_gate: torch.Tensor
    clause_xor: torch.Tensor
    var_gate: torch.Tensor
    var_xor: torch.Tensor


def _literal_node(graph: FactorGraphBatch, edges: torch.Tensor) -> torch.Tensor:
    """Literal id 2·var + (1 if negative) of each edge; the complement literal is id ^ 1."""
    return 2 * graph.var_of_edge[edges] + graph.fval_of_edge[edges].to(torch.int64)


def _pair_key(p: torch.Tensor, q: torch.Tensor, num_literals: int) -> torch.Tensor:
    """Order-free int64 key of a literal pair."""
    return torch.minimum(p, q) * num_literals + torch.maximum(p, q)


def gate_features(graph: FactorGraphBatch) -> GateFeatures:
    """Detect AND/OR gates and XOR triples in ``graph`` (see the module docstring)."""
    g = graph
    dev = g.var_of_edge.device
    f64 = torch.float64
    n_lit = 2 * g.num_vars
    size = g.clause_size.to(torch.int64)
    start = g.clause_ptr[:-1]
    edge_output = torch.zeros(g.num_edges, dtype=f64, device=dev)
    clause_gate = torch.zeros(g.num_clauses, dtype=f64, device=dev)
    clause_xor = torch.zeros(g.num_clauses, dtype=f64, device=dev)

    # binary clauses, as sorted order-free literal-pair keys
    bin_clause = torch.nonzero(size == 2).squeeze(-1)
    bin_key, bin_order = _pair_key(_literal_node(g, start[bin_clause]), _literal_node(g, start[bin_clause] + 1),
                                   n_lit).sort()
    bin_clause = bin_clause[bin_order]

    # AND gates: for each edge e of a clause with 3 ≤ k ≤ MAX_GATE_WIDTH, look up (¬ℓ_e ∨ ¬ℓ_f) for
    # every other edge f of the clause
    long_clause = (size >= 3) & (size <= MAX_GATE_WIDTH)
    cand = torch.nonzero(long_clause[g.clause_of_edge]).squeeze(-1)
    if len(cand) and len(bin_key):
        k = size[g.clause_of_edge[cand]]
        e_rep = torch.repeat_interleave(cand, k)
        first = torch.cumsum(k, 0) - k
        j = torch.arange(len(e_rep), device=dev) - torch.repeat_interleave(first, k)
        f = g.clause_ptr[g.clause_of_edge[e_rep]] + j
        keep = f != e_rep
        e_rep, f = e_rep[keep], f[keep]
        key = _pair_key(_literal_node(g, e_rep) ^ 1, _literal_node(g, f) ^ 1, n_lit)
        pos = torch.searchsorted(bin_key, key).clamp(max=len(bin_key) - 1)
        found = bin_key[pos] == key
        hits = torch.zeros(g.num_edges, dtype=torch.int64, device=dev).index_add_(0, e_rep, found.to(torch.int64))
        is_out = hits == (size[g.clause_of_edge] - 1)
        is_out &= long_clause[g.clause_of_edge]
        edge_output = is_out.to(f64)
        clause_gate.index_fill_(0, g.clause_of_edge[is_out], 1.0)
        used = found & is_out[e_rep]
        clause_gate.index_fill_(0, bin_clause[pos[used]], 1.0)

    # XOR triples: group ternary clauses by their variable set, count the sign patterns per parity
    tri = torch.nonzero(size == 3).squeeze(-1)
    if len(tri):
        edges = start[tri].unsqueeze(-1) + torch.arange(3, device=dev)  # (T, 3)
        vars_, order = g.var_of_edge[edges].sort(dim=-1)
        fv = g.fval_of_edge[edges].to(torch.int64).gather(-1, order)
        _, group = torch.unique(vars_, dim=0, return_inverse=True)
        pattern = fv[:, 0] * 4 + fv[:, 1] * 2 + fv[:, 2]
        parity = fv.sum(-1) % 2
        cells = torch.unique(group * _PATTERNS + pattern)  # distinct (group, pattern) pairs
        cell_parity = ((cells % _PATTERNS).unsqueeze(-1) >> torch.arange(3, device=dev)).sum(-1) % 2
        n_groups = int(group.max()) + 1
        per_parity = torch.zeros(n_groups * 2, dtype=torch.int64, device=dev)
        per_parity.index_add_(0, (cells // _PATTERNS) * 2 + cell_parity, torch.ones_like(cells))
        complete = per_parity == 4  # all four patterns of one parity present
        in_xor = complete[group * 2 + parity]
        clause_xor.index_fill_(0, tri[in_xor], 1.0)

    var_gate = torch.zeros(g.num_vars, dtype=f64, device=dev).scatter_reduce(
        0, g.var_of_edge, edge_output, reduce="amax")
    var_xor = torch.zeros(g.num_vars, dtype=f64, device=dev).scatter_reduce(
        0, g.var_of_edge, clause_xor[g.clause_of_edge], reduce="amax")
    return GateFeatures(edge_output=edge_output, clause_gate=clause_gate, clause_xor=clause_xor,
                        var_gate=var_gate, var_xor=var_xor)


__all__ = ["GateFeatures", "MAX_GATE_WIDTH", "gate_features"]
