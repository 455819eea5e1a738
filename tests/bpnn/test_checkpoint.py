"""Checkpoints: round trip, clear errors, and the shipped default model."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from bpcount.bpnn.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    default_checkpoint_path,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from bpcount.bpnn.infer import estimate_graph
from bpcount.bpnn.model import BPNN, BPNNConfig
from bpcount.graph import build_batch
from tests.bpnn.test_model import random_parts, randomised


def test_round_trip_gives_identical_outputs(tmp_path):
    cfg = BPNNConfig(num_layers=3, edge_hidden=8, clause_hidden=8, var_hidden=8, damping=0.4)
    model = randomised(BPNN(cfg).double(), seed=1)
    path = save_checkpoint(tmp_path / "m.pt", model, epoch=3, best_val=0.5, train_config={"labels": "x.csv"})
    ckpt = load_checkpoint(path)
    assert ckpt["format_version"] == FORMAT_VERSION
    assert ckpt["model_config"]["num_layers"] == 3 and ckpt["epoch"] == 3 and ckpt["best_val"] == 0.5
    assert ckpt["train_config"] == {"labels": "x.csv"}
    loaded = load_model(path)
    assert loaded.config == cfg and not loaded.training
    graph = build_batch(random_parts(3))
    torch.testing.assert_close(estimate_graph(loaded, graph).log_z, estimate_graph(model, graph).log_z,
                               rtol=0, atol=0)


def test_loading_uses_weights_only(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format_version": FORMAT_VERSION, "obj": np.dtype("float64").__class__}, path)
    with pytest.raises(CheckpointError, match=re.escape(f"{path}: not a readable BPNN checkpoint")):
        load_checkpoint(path)


def test_unknown_format_version_is_a_clear_error(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", BPNN(BPNNConfig(num_layers=1)))
    ckpt = torch.load(path, weights_only=True)
    ckpt["format_version"] = 99
    torch.save(ckpt, path)
    msg = f"{path}: checkpoint format_version 99 is not supported by bpcount"
    with pytest.raises(CheckpointError, match=re.escape(msg)) as info:
        load_model(path)
    assert "(supported: 1)" in str(info.value)


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "x.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match=re.escape(f"{path}: not a BPNN checkpoint (no format_version)")):
        load_checkpoint(path)


def test_default_model_is_shipped_and_loads(device):
    path = default_checkpoint_path()
    assert path.name == "default.pt" and path.stat().st_size < 10 * 2**20
    model = load_model(None, device=device, dtype=torch.float64)
    ckpt = load_checkpoint(None)
    assert ckpt["train_config"].get("labels") and "val_rmse" in ckpt["metadata"]
    graph = build_batch(random_parts(6, count=2), device=device)
    out = estimate_graph(model, graph)
    assert bool(torch.isfinite(out.log_z).all())


def test_the_shipped_model_s_base_is_the_solver_of_method_bp():
    """Where gate BP converges the model answers gate BP's value, so its base must run `--method bp`'s
    solver: with fewer iterations it misses fixed points that `--method bp` reaches and answers a
    non-converged snapshot instead (the model shipped before the twentieth session ran 300 against
    500: on val 55.sk_3_46 was −12.5 nats off where gate BP is −0.7)."""
    from bpcount.estimate import CountOptions

    cfg = load_model(None).config
    opts = CountOptions()
    assert cfg.gate_base and cfg.base_when_converged
    assert (cfg.gate_iters, cfg.damping) == (opts.max_iters, opts.damping)
