"""Batched factor graphs: the disjoint union, its inverse, device/dtype moves."""

from __future__ import annotations

import numpy as np
import torch

from bpcount.graph import build_batch
from bpcount.simplify import simplify
from tests.conftest import random_formula


def residuals(seed, count):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        s = simplify(random_formula(rng, 10, 25, kmax=4), exact_max_vars=0, exact_max_width=0)
        if s.residual is not None:
            out.append(s.residual)
    return out


def test_unbatch_round_trip_exact_literal_lists():
    parts = residuals(0, 7)
    g = build_batch(parts)
    back = g.unbatch()
    for p, (nv, clauses) in zip(parts, back):
        want = [p.lits[a:b].tolist() for a, b in zip(p.clause_ptr[:-1], p.clause_ptr[1:])]
        assert nv == p.num_vars and clauses == want


def test_index_shapes_and_offsets():
    parts = residuals(1, 3)
    g = build_batch(parts)
    assert g.num_vars == sum(p.num_vars for p in parts)
    assert g.num_clauses == sum(p.num_clauses for p in parts)
    assert g.num_edges == sum(len(p.lits) for p in parts)
    assert g.var_of_edge.shape == g.clause_of_edge.shape == g.fval_of_edge.shape == (g.num_edges,)
    assert g.clause_ptr.shape == (g.num_clauses + 1,)
    # each edge's variable and clause belong to the same formula
    assert torch.equal(g.graph_of_var[g.var_of_edge], g.graph_of_edge)
    assert torch.equal(g.graph_of_clause[g.clause_of_edge], g.graph_of_edge)
    assert torch.equal(g.var_degree, torch.bincount(g.var_of_edge, minlength=g.num_vars).double())
    np.testing.assert_allclose(g.ln_offset.numpy(), [p.ln_offset for p in parts])


def test_to_casts_floats_but_keeps_offset_float64(device):
    g = build_batch(residuals(2, 2)).to(device=device, dtype=torch.float32)
    assert g.log_phi.dtype == torch.float32 and g.ln_offset.dtype == torch.float64
    assert g.var_of_edge.dtype == torch.int64 and g.device.type == device.type


def test_empty_batch_member():
    from bpcount.simplify import Residual

    empty = Residual(0, np.zeros(0, np.int64), np.zeros(1, np.int64), None, 1.5, np.zeros(0, np.int64))
    g = build_batch([empty, *residuals(3, 1)])
    assert g.num_graphs == 2 and g.unbatch()[0] == (0, [])


def test_select_equals_building_the_chosen_formulas(device):
    from dataclasses import fields

    from bpcount.graph import select
    from bpcount.simplify import Residual

    empty = Residual(0, np.zeros(0, np.int64), np.zeros(1, np.int64), None, 1.5, np.zeros(0, np.int64))
    parts = [*residuals(4, 5), empty]
    g = build_batch(parts, device=device)
    for idx in ([3, 0], [5, 1, 4], [2], [0, 1, 2, 3, 4, 5], [4, 4]):
        got, want = select(g, idx), build_batch([parts[i] for i in idx], device=device)
        for f in fields(want):
            a, b = getattr(got, f.name), getattr(want, f.name)
            if isinstance(b, torch.Tensor):
                assert a.dtype == b.dtype and a.device == b.device and torch.equal(a, b), (idx, f.name)
            else:
                assert a == b, (idx, f.name)
