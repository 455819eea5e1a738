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

from bpcount.gategraph import MAX_GATE_WIDTH, gate_candidates
from bpcount.graph import FactorGraphBatch


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


def gate_features(graph: FactorGraphBatch) -> GateFeatures:
    """Detect AND/OR gates (long clause of 3 or more literals) and XOR triples in ``graph`` (see the
    module docstring), with :func:`bpcount.gategraph.gate_candidates`."""
    g = graph
    dev = g.var_of_edge.device
    f64 = torch.float64
    c = gate_candidates(g)
    long_out = c.and_edge[g.clause_size[g.clause_of_edge[c.and_edge]] >= 3]
    edge_output = torch.zeros(g.num_edges, dtype=f64, device=dev)
    edge_output[long_out] = 1.0
    cand_ok = torch.zeros(c.num_xor + len(c.and_edge), dtype=torch.bool, device=dev)
    cand_ok[c.num_xor:] = g.clause_size[g.clause_of_edge[c.and_edge]] >= 3
    in_and = cand_ok[c.member_cand]
    in_xor = c.member_cand < c.num_xor
    clause_gate = torch.zeros(g.num_clauses, dtype=f64, device=dev)
    clause_gate[c.member_clause[in_and]] = 1.0
    clause_xor = torch.zeros(g.num_clauses, dtype=f64, device=dev)
    clause_xor[c.member_clause[in_xor]] = 1.0
    var_gate = torch.zeros(g.num_vars, dtype=f64, device=dev).scatter_reduce(
        0, g.var_of_edge, edge_output, reduce="amax")
    var_xor = torch.zeros(g.num_vars, dtype=f64, device=dev).scatter_reduce(
        0, g.var_of_edge, clause_xor[g.clause_of_edge], reduce="amax")
    return GateFeatures(edge_output=edge_output, clause_gate=clause_gate, clause_xor=clause_xor,
                        var_gate=var_gate, var_xor=var_xor)


__all__ = ["GateFeatures", "MAX_GATE_WIDTH", "gate_features"]
