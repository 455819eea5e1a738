"""The settings file beside a checkpoint: what counting needs to know about a model before the model
runs, readable without importing torch; and where the shipped default model lives.

Counting prepares formulas for a BPNN the way its training formulas were prepared:
``train_config.equivalences`` says whether simplification substituted equivalent literals. That
setting is inside the checkpoint (a ``torch.save`` file), and reading it there imports torch
(about 1.5 s) even when the exact stages or the search probes then answer every formula and the
model never runs. So :func:`bpcount.bpnn.checkpoint.save_checkpoint` also writes ``<name>.json``
beside ``<name>.pt``: ``{"equivalences": bool, "checkpoint_sha256": hex}``. The digest ties the file
to the checkpoint's bytes: a settings file whose checkpoint was since replaced is ignored (the
caller then reads the checkpoint). The shipped ``default.pt`` has its ``default.json``
(``tests/bpnn/test_sidecar.py`` checks the two agree).
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

#: File name of the shipped default model inside the ``bpcount.pretrained`` package.
DEFAULT_NAME = "default.pt"


def shipped_file(name: str) -> Path:
    """``bpcount.pretrained/<name>`` from the installed package, falling back to the repository's
    ``pretrained/`` folder in a source checkout. FileNotFoundError when neither holds it."""
    try:
        res = resources.files("bpcount.pretrained") / name
        if res.is_file():
            return Path(str(res))
    except (ModuleNotFoundError, TypeError):
        pass
    repo = Path(__file__).resolve().parents[3] / "pretrained" / name
    if repo.is_file():
        return repo
    raise FileNotFoundError(
        f"no {name} found: neither the package bpcount.pretrained nor {repo.parent} holds it; "
        "pass a checkpoint path (bpcount count --checkpoint FILE)")


def settings_path(checkpoint: Path) -> Path:
    """The settings file of ``checkpoint``: the same name with the suffix ``.json``."""
    return checkpoint.with_suffix(".json")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def equivalences_of(train_config: dict | None) -> bool:
    """Whether a model with this ``train_config`` was trained on formulas simplified with
    equivalent-literal substitution (absent in checkpoints that predate the option: no)."""
    return bool((train_config or {}).get("equivalences", False))


def write_settings(checkpoint: Path, train_config: dict | None) -> Path:
    """Write the settings file of the (already written) ``checkpoint``; returns its path."""
    out = settings_path(checkpoint)
    settings = {"equivalences": equivalences_of(train_config),
                "checkpoint_sha256": file_sha256(checkpoint)}
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(settings, indent=1) + "\n")
    tmp.replace(out)
    return out


def read_equivalences(checkpoint: Path) -> bool | None:
    """``train_config.equivalences`` of ``checkpoint`` from its settings file; None when the file is
    missing, unreadable, or written for other checkpoint bytes (then read the checkpoint)."""
    try:
        settings = json.loads(settings_path(checkpoint).read_text())
        value, digest = settings.get("equivalences"), settings.get("checkpoint_sha256")
        if not isinstance(value, bool) or digest != file_sha256(checkpoint):
            return None
    except (OSError, ValueError, AttributeError):
        return None
    return value
