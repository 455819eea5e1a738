"""BPNN checkpoints: one ``torch.save`` file holding a dict of plain types (bpnn.md §8.6).

Keys: ``format_version`` (int, bumped on any incompatible change), ``bpcount_version``,
``model_config`` (``asdict(BPNNConfig)``), ``state_dict`` (of the uncompiled module, float64 on CPU),
and for training checkpoints ``optimizer``, ``epoch``, ``best_val`` plus ``train_config`` (data,
split rule, seed, label source, validation RMSE...). Loading uses ``weights_only=True`` and
rebuilds the model from ``model_config`` alone.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from bpcount import __version__
from bpcount.bpnn.model import BPNN, BPNNConfig
from bpcount.bpnn.sidecar import DEFAULT_NAME, shipped_file, write_settings

#: Version of the checkpoint layout written by :func:`save_checkpoint`.
FORMAT_VERSION = 1
#: Versions :func:`load_checkpoint` understands.
SUPPORTED_VERSIONS = (1,)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (missing keys, unknown format version)."""


def default_checkpoint_path() -> Path:
    """The shipped default: ``bpcount.pretrained/default.pt`` from the installed package, falling
    back to the repository's ``pretrained/`` folder in a source checkout."""
    return shipped_file(DEFAULT_NAME)


def _plain(value: Any) -> Any:
    """Tensors → CPU tensors; dataclasses → dicts; Paths → str (weights_only-loadable)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def save_checkpoint(
    path: str | Path,
    model: BPNN,
    *,
    optimizer: dict | None = None,
    scheduler: dict | None = None,
    epoch: int | None = None,
    best_val: float | None = None,
    train_config: dict | None = None,
    metadata: dict | None = None,
    raw_state_dict: dict | None = None,
) -> Path:
    """Write ``model`` (and optionally training state) to ``path`` atomically, and its settings file
    beside it (:mod:`bpcount.bpnn.sidecar`); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu", torch.float64) if v.is_floating_point() else v.detach().cpu()
             for k, v in model.state_dict().items()}
    ckpt = {
        "format_version": FORMAT_VERSION,
        "bpcount_version": __version__,
        "model_config": dataclasses.asdict(model.config),
        "state_dict": state,
        "optimizer": _plain(optimizer),
        "scheduler": _plain(scheduler),
        "epoch": epoch,
        "best_val": best_val,
        "train_config": _plain(train_config or {}),
        "metadata": _plain(metadata or {}),
    }
    if raw_state_dict is not None:  # the un-averaged weights of an EMA training run (for --resume)
        ckpt["raw_state_dict"] = {k: v.detach().cpu() for k, v in raw_state_dict.items()}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)
    write_settings(path, train_config)  # what counting needs before the model, without torch
    return path


def load_checkpoint(path: str | Path | None) -> dict:
    """The checkpoint dict at ``path`` (None: the shipped default), validated.

    Raises :class:`CheckpointError` naming the file for an unknown ``format_version`` or a file
    that is not a BPNN checkpoint.
    """
    path = default_checkpoint_path() if path is None else Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        raise CheckpointError(f"{path}: not a readable BPNN checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(ckpt, dict) or "format_version" not in ckpt:
        raise CheckpointError(f"{path}: not a BPNN checkpoint (no format_version)")
    version = ckpt["format_version"]
    if version not in SUPPORTED_VERSIONS:
        supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
        raise CheckpointError(
            f"{path}: checkpoint format_version {version} is not supported by bpcount {__version__} "
            f"(supported: {supported})")
    for key in ("model_config", "state_dict"):
        if key not in ckpt:
            raise CheckpointError(f"{path}: checkpoint lacks {key!r}")
    return ckpt


def model_from_checkpoint(ckpt: dict) -> BPNN:
    """Rebuild a :class:`BPNN` from a checkpoint dict (config first, then weights)."""
    known = {f.name for f in dataclasses.fields(BPNNConfig)}
    cfg = {k: v for k, v in ckpt["model_config"].items() if k in known}
    model = BPNN(BPNNConfig(**cfg)).to(torch.float64)
    model.load_state_dict(ckpt["state_dict"])
    return model


def load_model(
    path: str | Path | None = None,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> BPNN:
    """Load a BPNN for inference (eval mode) on ``device`` / ``dtype``; None loads the default."""
    model = model_from_checkpoint(load_checkpoint(path))
    return model.to(device=device, dtype=dtype).eval()
