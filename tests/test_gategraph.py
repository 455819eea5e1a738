"""Gate factor graphs: detection, disjoint clause ownership, and the factors' product = the formula."""

from __future__ import annotations

import itertools

import numpy as np

from bpcount.gategraph import AND, CLAUSE, TABLE, XOR, build_gate_graph
from bpcount.graph import build_batch
from bpcount.simplify import Residual


def raw(clauses: list[list[int]], n: int, log_phi: np.ndarray | None = None) -> Residual:
    """The formula as a residual, unsimplified (variables keep their numbers)."""
    lits = np.array([x for c in clauses for x in c], dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum([len(c) for c in clauses])]).astype(np.int64)
    return Residual(num_vars=n, lits=lits, clause_ptr=ptr, log_phi=log_phi, ln_offset=0.0,
                    orig_var=np.arange(1, n + 1))


def and_gate(o: int, ins: list[int]) -> list[list[int]]:
    """Clauses of literal o ↔ AND(ins)."""
    return [[-o, x] for x in ins] + [[o] + [-x for x in ins]]


def xor_gate(vs: tuple[int, int, int], parity: int) -> list[list[int]]:
    """The four clauses that allow exactly the assignments of vs with x1 ⊕ x2 ⊕ x3 = parity."""
    out = []
    for bits in itertools.product((0, 1), repeat=3):
        if sum(bits) % 2 != parity:  # forbid this assignment: clause false exactly there
            out.append([-v if b else v for v, b in zip(vs, bits)])
    return out


def circuit_like(rng: np.random.Generator) -> tuple[list[list[int]], int]:
    """Random AND/OR gates (1..4 inputs), XOR triples, random extra clauses and shared binaries."""
    n, clauses = int(rng.integers(3, 6)), []
    while n < 11:
        r = rng.random()
        k = int(rng.integers(1, min(4, n) + 1))
        ins = [int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, size=k, replace=False) + 1]
        n += 1
        if r < 0.55:
            clauses += and_gate(n * int(rng.choice([-1, 1])), ins)
        elif r < 0.85 and n >= 3:
            a, b = (int(v) for v in rng.choice(n - 1, size=2, replace=False) + 1)
            clauses += xor_gate((n, a, b), int(rng.integers(2)))
        else:
            clauses.append([n] + ins)
    for _ in range(int(rng.integers(0, 4))):
        k = int(rng.integers(1, 4))
        clauses.append([int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, size=k, replace=False) + 1])
    rng.shuffle(clauses)
    return clauses, n


def factor_models(gg, num_vars: int) -> set[tuple[int, ...]]:
    """Assignments accepted by every factor of a single-formula gate graph (reference evaluator)."""
    var = gg.var_of_edge.numpy()
    neg = gg.neg_of_edge.numpy()
    out_flag = gg.is_output.numpy()
    ptr = gg.factor_ptr.numpy()
    kinds = gg.factor_kind.numpy()
    table_of = {}
    for group in gg.tables:
        for f, allowed in zip(group.factor.tolist(), group.allowed.numpy()):
            table_of[f] = allowed
    models = set()
    for x in itertools.product((0, 1), repeat=num_vars):
        ok = True
        for f in range(gg.num_factors):
            e = slice(ptr[f], ptr[f + 1])
            lit = np.array(x)[var[e]] ^ neg[e]  # literal values
            if kinds[f] == CLAUSE:
                ok = bool(lit.any())
            elif kinds[f] == AND:
                ok = bool(lit[out_flag[e]][0]) == bool(lit[~out_flag[e]].all())
            elif kinds[f] == XOR:
                ok = int(lit.sum()) % 2 == 1
            else:
                assert kinds[f] == TABLE and not neg[e].any()
                ok = bool(table_of[f][int(sum(int(b) << p for p, b in enumerate(lit)))])
            if not ok:
                break
        if ok:
            models.add(x)
    return models


def clause_models(clauses: list[list[int]], num_vars: int) -> set[tuple[int, ...]]:
    return {x for x in itertools.product((0, 1), repeat=num_vars)
            if all(any((lit > 0) == bool(x[abs(lit) - 1]) for lit in c) for c in clauses)}


def test_single_gates_are_merged():
    gg = build_gate_graph(build_batch([raw(and_gate(3, [1, -2]), 3)]))
    assert (gg.num_and, gg.num_xor, gg.num_factors) == (1, 0, 1)
    assert int(gg.is_output.sum()) == 1 and int(gg.var_of_edge[gg.is_output]) == 2
    gg = build_gate_graph(build_batch([raw(xor_gate((1, 2, 3), 0), 3)]))
    assert (gg.num_and, gg.num_xor, gg.num_factors) == (0, 1, 1)
    gg = build_gate_graph(build_batch([raw([[1, 2, 3], [-1, 2]], 3)]))  # within 3 variables: a table
    assert (gg.num_and, gg.num_xor, gg.num_table, gg.num_factors) == (0, 0, 1, 1)
    gg = build_gate_graph(build_batch([raw([[1, 2, 3], [-1, 4]], 4)]))  # nothing to merge
    assert (gg.num_and, gg.num_xor, gg.num_table, gg.num_factors) == (0, 0, 0, 2)
    # multiplexer o ↔ (c ? a : b) and majority (carry) gates: four / six ternary clauses, one table
    mux = [[-4, -1, 2], [-4, 1, 3], [4, -1, -2], [4, 1, -3]]
    maj = [[-1, -2, 4], [-1, -3, 4], [-2, -3, 4], [1, 2, -4], [1, 3, -4], [2, 3, -4]]
    for clauses in (mux, maj):
        gg = build_gate_graph(build_batch([raw(clauses, 4)]))
        assert (gg.num_table, gg.num_factors) == (1, 1)
        assert factor_models(gg, 4) == clause_models(clauses, 4)


def test_factors_accept_exactly_the_models_of_the_formula():
    rng = np.random.default_rng(0)
    merged = 0
    for _ in range(150):
        clauses, n = circuit_like(rng)
        gg = build_gate_graph(build_batch([raw(clauses, n)]))
        merged += gg.num_and + gg.num_xor
        assert factor_models(gg, n) == clause_models(clauses, n)
        # every clause is in exactly one factor: merged gates account for all missing clauses
        n_clause_factors = int((gg.factor_kind == CLAUSE).sum())
        assert n_clause_factors <= len(clauses)
    assert merged > 300  # the formulas really contain gates

    # clusters of random clauses over few variables become tables; models are still the formula's
    tables = 0
    for _ in range(150):
        n = int(rng.integers(4, 9))
        clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, size=int(rng.integers(2, 4)), replace=False) + 1]
                   for _ in range(int(rng.integers(3, 12)))]
        gg = build_gate_graph(build_batch([raw(clauses, n)]))
        tables += gg.num_table
        assert factor_models(gg, n) == clause_models(clauses, n)
    assert tables > 50


def test_overlapping_candidates_keep_clauses_disjoint():
    # (¬3 ∨ 1) serves both 3 ↔ 1 ∧ 2 and the clause (1 ∨ 3 ∨ 4) with its binaries; the block
    # over 5, 6, 7 is symmetric (every literal is a gate output)
    clauses = and_gate(3, [1, 2]) + [[1, 3, 4], [-4, -1], [-4, -3]] + [[-5, -6], [-5, -7], [-6, -7], [5, 6, 7]]
    gg = build_gate_graph(build_batch([raw(clauses, 7)]))
    assert factor_models(gg, 7) == clause_models(clauses, 7)
    # the symmetric at-most-one block ties (every literal is an output): no AND gate is chosen for
    # it by position; it becomes one table instead
    assert gg.num_and >= 1 and gg.num_table == 1
    assert gg.num_factors < len(clauses)


def test_batch_keeps_formulas_apart():
    rng = np.random.default_rng(1)
    parts = [circuit_like(rng) for _ in range(4)]
    batch = build_gate_graph(build_batch([raw(c, n) for c, n in parts]))
    singles = [build_gate_graph(build_batch([raw(c, n)])) for c, n in parts]
    assert batch.num_factors == sum(s.num_factors for s in singles)
    assert batch.num_and == sum(s.num_and for s in singles) and batch.num_xor == sum(s.num_xor for s in singles)
    gv = batch.graph_of_var[batch.var_of_edge]
    assert bool((gv == batch.graph_of_factor[batch.factor_of_edge]).all())
    assert bool((batch.graph_of_edge == gv).all())
    assert bool((batch.factor_of_edge[1:] >= batch.factor_of_edge[:-1]).all())  # grouped by factor
    kinds = {XOR: 0, AND: 0, CLAUSE: 0}
    for s in singles:
        for k in kinds:
            kinds[k] += int((s.factor_kind == k).sum())
    assert kinds == {k: int((batch.factor_kind == k).sum()) for k in kinds}


def test_choice_is_invariant_to_numbering_order_and_polarity():
    rng = np.random.default_rng(5)
    for _ in range(40):
        clauses, n = circuit_like(rng)
        ref = build_gate_graph(build_batch([raw(clauses, n)]))
        perm = rng.permutation(n) + 1
        flip = rng.random(n) < 0.5
        other = [[int(perm[abs(x) - 1]) * (1 if x > 0 else -1) * (-1 if flip[abs(x) - 1] else 1)
                  for x in rng.permutation(c)] for c in clauses]
        other = [other[i] for i in rng.permutation(len(other))]
        gg = build_gate_graph(build_batch([raw(other, n)]))
        assert (gg.num_and, gg.num_xor, gg.num_table, gg.num_factors) == \
            (ref.num_and, ref.num_xor, ref.num_table, ref.num_factors)
        # the same variables are gate outputs (up to the renaming)
        outs = sorted(int(perm[v]) for v in ref.var_of_edge[ref.is_output].tolist())
        assert sorted(int(v) + 1 for v in gg.var_of_edge[gg.is_output].tolist()) == outs


def factor_sets(gg, rename=None) -> list[tuple[int, tuple[int, ...]]]:
    """The factors of a gate graph as sorted (kind, sorted 1-based variables), renamed by ``rename``."""
    ptr, var, kind = gg.factor_ptr.tolist(), gg.var_of_edge.tolist(), gg.factor_kind.tolist()
    name = (lambda v: v + 1) if rename is None else (lambda v: int(rename[v]))
    return sorted((kind[f], tuple(sorted(name(v) for v in var[ptr[f]:ptr[f + 1]]))) for f in range(gg.num_factors))


def test_table_choice_ignores_clause_order_when_a_pair_is_widely_shared():
    """Many ternary clauses over one variable pair (more than MAX_PAIR_GROUP third variables, and
    fewer): the tables chosen are the same whatever the clause order and variable numbering."""
    from bpcount.gategraph import MAX_PAIR_GROUP

    rng = np.random.default_rng(12)
    changed = 0
    for thirds in (3, MAX_PAIR_GROUP, MAX_PAIR_GROUP + 1, 2 * MAX_PAIR_GROUP, 3 * MAX_PAIR_GROUP):
        n = 2 + thirds + 4
        for _ in range(6):
            clauses = [[int(rng.choice([-1, 1])), 2 * int(rng.choice([-1, 1])), (3 + t) * int(rng.choice([-1, 1]))]
                       for t in range(thirds)]
            # the thirds are also linked to each other and to spare variables (other candidates overlap)
            clauses += [[int(a) * int(rng.choice([-1, 1])), int(b) * int(rng.choice([-1, 1])),
                         int(c) * int(rng.choice([-1, 1]))]
                        for a, b, c in (rng.choice(np.arange(3, n + 1), 3, replace=False) for _ in range(thirds))]
            ref = factor_sets(build_gate_graph(build_batch([raw(clauses, n)])))
            for _ in range(4):
                perm = rng.permutation(n) + 1  # new number of variable v + 1
                back = np.empty(n + 1, dtype=np.int64)
                back[perm] = np.arange(1, n + 1)
                other = [[int(perm[abs(x) - 1]) * (1 if x > 0 else -1) for x in c] for c in clauses]
                other = [other[i] for i in rng.permutation(len(other))]
                got = factor_sets(build_gate_graph(build_batch([raw(other, n)])), rename=back[1:])
                assert got == ref, (thirds, clauses)
                changed += got != factor_sets(build_gate_graph(build_batch([raw(other, n)])))
    assert changed > 0  # the renaming really moved the factors


def test_row_hash_collisions_cannot_change_the_formula(monkeypatch):
    import bpcount.gategraph as gategraph

    # multiplier 1: rows collide whenever their entries have equal sums; the membership checks must
    # then drop every wrong merge, so the factors still accept exactly the formula's models
    monkeypatch.setattr(gategraph, "HASH_ROW_MULTIPLIER", 1)
    rng = np.random.default_rng(8)
    for _ in range(60):
        clauses, n = circuit_like(rng)
        gg = build_gate_graph(build_batch([raw(clauses, n)]))
        assert factor_models(gg, n) == clause_models(clauses, n)
