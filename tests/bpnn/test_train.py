"""Training losses, example preparation and the below-bound skip of bpcount.bpnn.train (two one-epoch runs
of a tiny model)."""

from __future__ import annotations

import math

import pytest
import torch

from bpcount.bpnn.train import SCALED_LOSS_VARS, Example, _loss


def _ex(n_vars: int, label: float) -> Example:
    return Example(file="f", family="x", ln_count=label, residual=None, n_vars=n_vars, exact_seconds=None)


@pytest.mark.parametrize("kind", ["mse", "mse-per-var", "mse-scaled", "huber"])
def test_losses(kind):
    batch = [_ex(10, 1.0), _ex(int(4 * SCALED_LOSS_VARS), 100.0)]
    pred = torch.tensor([1.5, 90.0], dtype=torch.float64)
    err = torch.tensor([0.5, -10.0], dtype=torch.float64)
    want = {
        "mse": (err ** 2).mean(),
        "mse-per-var": ((err / torch.tensor([10.0, 4 * SCALED_LOSS_VARS])) ** 2).mean(),
        "mse-scaled": (err ** 2 / torch.tensor([1.0, 4.0])).mean(),  # small formula: plain MSE
        "huber": torch.tensor([0.5 * 0.25, 10.0 - 0.5]).mean(),
    }[kind]
    torch.testing.assert_close(_loss(pred, batch, kind), want.to(torch.float64))


def test_unknown_loss():
    with pytest.raises(ValueError, match="unknown loss"):
        _loss(torch.zeros(1, dtype=torch.float64), [_ex(1, 0.0)], "l1")


def test_examples_prepared_in_worker_processes_match_the_single_process_ones(tmp_path):
    """load_examples with jobs=2: the same examples (files, labels, residual arrays) in the same order
    and the same skip counts, a missing file and an unreadable one included."""
    import csv
    import dataclasses

    import numpy as np

    from bpcount.bpnn.train import TrainConfig, load_examples
    from bpcount.generate import make_formula

    rows = []
    for i, (n, ratio) in enumerate([(30, 3.0), (60, 4.2), (120, 4.2), (25, 2.0), (90, 3.8)]):
        (tmp_path / f"k{i}.cnf").write_text(make_formula("kcnf", seed=4, index=i, n=n, ratio=ratio).to_dimacs())
        rows.append({"file": f"k{i}.cnf", "family": "kcnf", "split": "train" if i % 2 else "val", "ln_count": 1.0})
    (tmp_path / "bad.cnf").write_text("p cnf 2 1\n1 x 0\n")
    rows += [{"file": "bad.cnf", "family": "kcnf", "split": "train", "ln_count": 1.0},
             {"file": "gone.cnf", "family": "kcnf", "split": "train", "ln_count": 1.0},
             {"file": "k0.cnf", "family": "kcnf", "split": "test", "ln_count": 1.0}]
    with open(tmp_path / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    cfg = TrainConfig(labels=str(tmp_path / "labels.csv"), exact_max_width=0, search_budget=0.0, progress=False)
    one = load_examples(cfg)
    two = load_examples(dataclasses.replace(cfg, jobs=2))
    assert one[1] == two[1] and one[1]["unreadable"] == 1 and one[1]["missing file"] == 1
    assert one[1]["split test"] == 1 and len(one[0]) >= 3
    assert [(e.file, e.split, e.ln_count) for e in one[0]] == [(e.file, e.split, e.ln_count) for e in two[0]]
    for a, b in zip(one[0], two[0]):
        assert np.array_equal(a.residual.lits, b.residual.lits) and a.residual.ln_offset == b.residual.ln_offset


def _gated(ln_offset: float, row: list[float] | None) -> Example:
    from types import SimpleNamespace

    return Example(file="f", family="x", ln_count=1.0, residual=SimpleNamespace(ln_offset=ln_offset), n_vars=5,
                   exact_seconds=None, gate_row=None if row is None else torch.tensor(row, dtype=torch.float64))


def test_base_below_bound_is_a_base_raised_to_ln_offset_only():
    from bpcount.bpnn.train import base_below_bound

    upper = 2.0 + 5 * math.log(2.0)
    assert base_below_bound(_gated(2.0, [2.0, 1.0, 1.0]))  # raised to the lower end
    assert not base_below_bound(_gated(2.0, [upper, 1.0, 0.0]))  # lowered to the upper end
    assert not base_below_bound(_gated(2.0, [2.0, 0.0, 0.0]))  # a base that is ln_offset itself
    assert not base_below_bound(_gated(2.0, [3.0, 0.0, 1.0]))  # unconverged, inside the range
    assert not base_below_bound(_gated(2.0, None))  # no gate base


def test_training_skips_the_formulas_whose_gate_base_is_below_the_bound(tmp_path, monkeypatch):
    """Formulas with free variables (ln_offset > 0) are given a gate-BP base below ln_offset (through a
    wrapped gate_base, as gate BP gives on some circuits): they are skipped from training and
    validation and counted, unless skip_base_below_bound is off."""
    import csv
    import dataclasses

    import numpy as np

    import bpcount.bpnn.train as tr
    from bpcount.bpnn.model import BPNNConfig, GateBase
    from bpcount.cnf import Formula

    rng = np.random.default_rng(5)
    rows = []
    for i in range(8):
        clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(12, 3, replace=False) + 1] for _ in range(30)]
        free = 2 if i % 2 else 0  # odd formulas declare two variables no clause mentions
        (tmp_path / f"f{i}.cnf").write_text(Formula.from_clauses(clauses, 12 + free).to_dimacs())
        rows.append({"file": f"f{i}.cnf", "family": "rand", "split": "val" if i >= 6 else "train", "ln_count": 5.0})
    with open(tmp_path / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)

    real = tr.gate_base

    def below_for_free_variables(graph, iters, damping):
        b = real(graph, iters, damping)
        mark = graph.ln_offset.to(torch.float64) > 0
        return GateBase(log_z=torch.where(mark, graph.ln_offset.to(torch.float64), b.log_z),
                        clamped=torch.where(mark, torch.ones_like(b.clamped), b.clamped), unconverged=b.unconverged)

    monkeypatch.setattr(tr, "gate_base", below_for_free_variables)
    cfg = tr.TrainConfig(labels=str(tmp_path / "labels.csv"), out_dir=str(tmp_path / "run"), epochs=1, split="column",
                         model=BPNNConfig(num_layers=1, warmup_iters=1, gate_base=True, gate_iters=20,
                                          edge_hidden=4, clause_hidden=4, var_hidden=4),
                         exact_max_vars=0, exact_max_width=0, enum_models=0, search_budget=0.0, progress=False)
    got = tr.train(cfg)
    assert got.skipped.get("base below bound") == 4 and (got.num_train, got.num_val) == (3, 1)
    kept = tr.train(dataclasses.replace(cfg, out_dir=str(tmp_path / "kept"), skip_base_below_bound=False))
    assert "base below bound" not in kept.skipped and (kept.num_train, kept.num_val) == (6, 2)
