"""Gate outputs (numpy): the definitions found, agreement with the torch detection, and the promise
that every model is a function of the variables no kept definition outputs (brute force)."""

from __future__ import annotations

import itertools

import numpy as np

from bpcount.gategraph import gate_candidates
from bpcount.gatevars import acyclic_outputs, and_definitions, gate_outputs
from bpcount.graph import build_batch
from tests.test_gategraph import and_gate, circuit_like, raw


def _csr(clauses: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    lits = np.array([x for c in clauses for x in c], dtype=np.int64)
    return lits, np.concatenate([[0], np.cumsum([len(c) for c in clauses])]).astype(np.int64)


def _models(clauses: list[list[int]], n: int) -> list[tuple[int, ...]]:
    return [x for x in itertools.product((0, 1), repeat=n)
            if all(any((lit > 0) == bool(x[abs(lit) - 1]) for lit in c) for c in clauses)]


def test_and_and_or_definitions_with_their_inputs():
    """4 ↔ 1 ∧ ¬2, ¬5 ↔ 4 ∧ 3 (5 = ¬4 ∨ ¬3, an OR), and a plain clause: outputs 4 and 5."""
    clauses = and_gate(4, [1, -2]) + and_gate(-5, [4, 3]) + [[1, 2, 3]]
    out, ptr, ins = and_definitions(5, *_csr(clauses))
    got = {int(o) + 1: sorted(int(v) + 1 for v in ins[ptr[i]:ptr[i + 1]]) for i, o in enumerate(out)}
    assert got == {4: [1, 2], 5: [3, 4]}
    assert gate_outputs(5, *_csr(clauses)).tolist() == [False, False, False, True, True]


def test_outputs_match_the_torch_detection():
    """The AND/OR output variables are those of bpcount.gategraph's candidates, on random circuits."""
    rng = np.random.default_rng(3)
    for _ in range(60):
        clauses, n = circuit_like(rng)
        r = raw(clauses, n)
        cand = gate_candidates(build_batch([r]))
        torch_outputs = set(build_batch([r]).var_of_edge[cand.and_edge].tolist())
        out, _, _ = and_definitions(n, r.lits, r.clause_ptr)
        assert set(out.tolist()) == torch_outputs


def test_a_cycle_of_definitions_is_broken():
    """o1 = a ∧ o2 and o2 = b ∧ o1: with a = b = 1 both o1 = o2 = 1 and o1 = o2 = 0 are models, so
    only one of them may count as determined."""
    a, b, o1, o2 = 1, 2, 3, 4
    clauses = and_gate(o1, [a, o2]) + and_gate(o2, [b, o1])
    out, ptr, ins = and_definitions(4, *_csr(clauses))
    assert sorted(out.tolist()) == [2, 3]  # both are found as definitions
    defined = acyclic_outputs(4, out, ptr, ins)
    assert defined.tolist() == [False, False, True, False]  # a tie of 2 inputs: the higher output goes
    models = _models(clauses, 4)
    inputs = ~defined
    assert len({tuple(np.array(m)[inputs]) for m in models}) == len(models)


def test_every_model_is_a_function_of_the_inputs():
    """Random circuits, some with feedback (a gate's inputs may come later): no two models agree on
    every variable left as an input."""
    rng = np.random.default_rng(11)
    checked = cyclic = 0
    for _ in range(80):
        n = int(rng.integers(5, 11))
        clauses = []
        for o in rng.choice(n, size=int(rng.integers(2, n)), replace=False) + 1:
            others = [v for v in range(1, n + 1) if v != o]
            ins = [int(v) * int(rng.choice([-1, 1])) for v in rng.choice(others, size=int(rng.integers(1, 4)), replace=False)]
            clauses += and_gate(int(o) * int(rng.choice([-1, 1])), ins)
        if rng.random() < 0.5:
            clauses.append([int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, size=2, replace=False) + 1])
        lits, ptr = _csr(clauses)
        out, in_ptr, in_var = and_definitions(n, lits, ptr)
        defined = gate_outputs(n, lits, ptr)
        cyclic += int(defined.sum() < len(out))
        models = _models(clauses, n)
        keys = {tuple(np.array(m)[~defined]) for m in models}
        assert len(keys) == len(models)
        checked += len(models) > 1
    assert checked > 40 and cyclic > 10
