"""Where the shipped default model lives, and what counting needs to know about it before the model
runs, without importing torch.

The default checkpoint ``default.pt`` is package data of ``bpcount.pretrained``. Beside it,
``default.json`` repeats the one training setting that changes how formulas are prepared for the
model (``train_config.equivalences``: whether simplification substituted equivalent literals), so a
count that the exact stages or the search probes answer never loads torch
(``tests/bpnn/test_shipped.py`` checks that the file agrees with the checkpoint).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

#: File name of the shipped default model inside the ``bpcount.pretrained`` package.
DEFAULT_NAME = "default.pt"
#: Its settings file: a JSON object with ``equivalences`` (bool).
SETTINGS_NAME = "default.json"


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


@functools.cache
def shipped_equivalences() -> bool | None:
    """``train_config.equivalences`` of the shipped default model, read from its settings file;
    None when the file is missing or unreadable (the caller then reads the checkpoint). Read once per
    process."""
    try:
        value = json.loads(shipped_file(SETTINGS_NAME).read_text()).get("equivalences")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, bool) else None
