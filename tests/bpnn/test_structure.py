"""Gate detection (bpcount.bpnn.structure) on hand-made formulas, and its invariances."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bpcount.bpnn.structure import MAX_GATE_WIDTH, gate_features
from bpcount.graph import build_batch
from bpcount.simplify import Residual
from tests.bpnn.test_model import _permuted


def residual(clauses: list[list[int]], n: int) -> Residual:
    """The formula as a residual, unsimplified (variables keep their numbers)."""
    lits = np.array([x for c in clauses for x in c], dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum([len(c) for c in clauses])]).astype(np.int64)
    return Residual(num_vars=n, lits=lits, clause_ptr=ptr, log_phi=None, ln_offset=0.0,
                    orig_var=np.arange(1, n + 1))

# x3 = x1 ∧ x2 (AND); x6 = x4 ∨ x5 (OR); x7 ⊕ x8 ⊕ x9 = 1 (complete XOR triple); an incomplete XOR
# over x10..x12 (3 of 4 clauses); x13 → x10 and (x13 ∨ ¬x10 ∨ ¬x11) without x13 → x11 (no gate)
CLAUSES = [
    [-3, 1], [-3, 2], [3, -1, -2],
    [6, -4], [6, -5], [-6, 4, 5],
    [7, 8, 9], [7, -8, -9], [-7, 8, -9], [-7, -8, 9],
    [10, 11, 12], [10, -11, -12], [-10, 11, -12],
    [-13, 10], [13, -10, -11],
]


def _flags(clauses, n):
    return gate_features(build_batch([residual(clauses, n)]))


def test_detects_and_or_gates_and_xor_triples():
    gf = _flags(CLAUSES, 13)
    assert np.flatnonzero(gf.var_gate.numpy()).tolist() == [2, 5]  # x3, x6 (0-based 2, 5)
    assert np.flatnonzero(gf.var_xor.numpy()).tolist() == [6, 7, 8]
    assert np.flatnonzero(gf.clause_gate.numpy()).tolist() == [0, 1, 2, 3, 4, 5]
    assert np.flatnonzero(gf.clause_xor.numpy()).tolist() == [6, 7, 8, 9]
    # the output edge is the gate variable's literal in the long clause, nothing else
    graph = build_batch([residual(CLAUSES, 13)])
    out_edges = np.flatnonzero(gf.edge_output.numpy())
    assert sorted(graph.var_of_edge[out_edges].tolist()) == [2, 5]
    assert sorted(graph.clause_of_edge[out_edges].tolist()) == [2, 5]


def test_wide_gates_and_the_width_cap():
    k = MAX_GATE_WIDTH - 1  # output + k inputs = MAX_GATE_WIDTH literals: examined
    inputs = list(range(2, k + 2))
    wide = [[-1, i] for i in inputs] + [[1] + [-i for i in inputs]]
    assert _flags(wide, k + 1).var_gate[0] == 1.0
    inputs = list(range(2, k + 3))  # one literal more: not examined
    wider = [[-1, i] for i in inputs] + [[1] + [-i for i in inputs]]
    assert _flags(wider, k + 2).var_gate.sum() == 0.0


def test_empty_and_gate_free_formulas():
    gf = _flags([[1, 2, 3], [-1, -2], [2, 3, 4, 5]], 5)
    assert gf.var_gate.sum() == 0 and gf.var_xor.sum() == 0 and gf.clause_gate.sum() == 0


def _planted(rng: np.random.Generator, n_gates: int = 6) -> tuple[list[list[int]], int]:
    """Random AND/OR gates and XOR triples over a pool of inputs, plus random constraints."""
    n, clauses = 8, []
    for _ in range(n_gates):
        a, b = (int(x) * int(rng.choice([-1, 1])) for x in rng.choice(n, size=2, replace=False) + 1)
        n += 1
        o = n * int(rng.choice([-1, 1]))
        if rng.random() < 0.6:
            clauses += [[-o, a], [-o, b], [o, -a, -b]]
        else:
            parity = int(rng.integers(2))
            for s in range(8):
                signs = [(s >> i) & 1 for i in range(3)]
                if sum(signs) % 2 == parity:
                    clauses.append([x if sgn else -x for x, sgn in zip((o, a, b), signs)])
    for _ in range(5):
        clauses.append([int(x) * int(rng.choice([-1, 1])) for x in rng.choice(n, size=3, replace=False) + 1])
    return clauses, n


@pytest.mark.parametrize("what", ["literals", "clauses", "variables", "polarity"])
def test_flags_are_invariant(what):
    rng = np.random.default_rng(3)
    for _ in range(10):
        clauses, n = _planted(rng)
        part = residual(clauses, n)
        ref = gate_features(build_batch([part]))
        assert ref.var_gate.sum() + ref.var_xor.sum() > 0  # something to be invariant about
        other_part = _permuted(part, rng, what)
        other = gate_features(build_batch([other_part]))
        if what == "variables":
            assert other.var_gate.sum() == ref.var_gate.sum() and other.var_xor.sum() == ref.var_xor.sum()
            old_to_new = np.zeros(n + 1, dtype=np.int64)
            old_to_new[np.abs(part.lits)] = np.abs(other_part.lits)  # same clause/literal order
            used = np.flatnonzero(old_to_new[1:])
            new = torch.from_numpy(old_to_new[1:][used] - 1)
            torch.testing.assert_close(other.var_gate[new], ref.var_gate[used])
            torch.testing.assert_close(other.var_xor[new], ref.var_xor[used])
        else:
            torch.testing.assert_close(other.var_gate, ref.var_gate)
            torch.testing.assert_close(other.var_xor, ref.var_xor)
        if what != "clauses":  # clause order is kept by the other permutations
            torch.testing.assert_close(other.clause_gate, ref.clause_gate)
            torch.testing.assert_close(other.clause_xor, ref.clause_xor)
        else:
            assert other.clause_gate.sum() == ref.clause_gate.sum()
            assert other.clause_xor.sum() == ref.clause_xor.sum()
