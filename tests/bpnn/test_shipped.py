"""The shipped model's settings file agrees with its checkpoint, and counting that the exact stages or
the probes answer does not import torch."""

from __future__ import annotations

import json
import subprocess
import sys

from bpcount.bpnn.checkpoint import default_checkpoint_path, load_checkpoint
from bpcount.bpnn.shipped import SETTINGS_NAME, shipped_equivalences, shipped_file
from tests.conftest import REPO


def test_settings_file_agrees_with_the_checkpoint():
    ckpt = load_checkpoint(default_checkpoint_path())
    assert isinstance(shipped_equivalences(), bool)
    assert shipped_equivalences() == bool((ckpt.get("train_config") or {}).get("equivalences", False))
    assert set(json.loads(shipped_file(SETTINGS_NAME).read_text())) == {"equivalences"}


def test_a_count_without_the_engine_does_not_import_torch():
    code = ("import sys\n"
            "from bpcount.estimate import CountOptions, count\n"
            "(r,) = count([sys.argv[1]], options=CountOptions(method='bpnn', probe_max_budget=0))\n"
            "print(r.estimator, r.ln_count is not None, 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "examples" / "small.cnf")], capture_output=True,
                         text=True, check=True, cwd=REPO).stdout.split()
    assert out == ["exact", "True", "False"]
