"""Training losses and the split rules of bpcount.bpnn.train (no training runs here)."""

from __future__ import annotations

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
