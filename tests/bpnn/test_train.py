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
