"""Checkpoint settings files: written with every checkpoint, tied to its bytes, in agreement with the
shipped model; counting that the exact stages or the probes answer does not import torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bpcount.bpnn.checkpoint import default_checkpoint_path, load_checkpoint, save_checkpoint
from bpcount.bpnn.model import BPNN, BPNNConfig
from bpcount.bpnn.sidecar import file_sha256, read_equivalences, settings_path
from tests.conftest import REPO


def test_the_shipped_settings_agree_with_the_checkpoint():
    path = default_checkpoint_path()
    ckpt = load_checkpoint(path)
    settings = json.loads(settings_path(path).read_text())
    assert settings == {"equivalences": bool((ckpt.get("train_config") or {}).get("equivalences", False)),
                        "checkpoint_sha256": file_sha256(path)}
    assert read_equivalences(path) is settings["equivalences"]


@pytest.mark.parametrize("equivalences", [True, False, None])
def test_saving_writes_the_settings_and_other_bytes_void_them(tmp_path, equivalences):
    config = {} if equivalences is None else {"equivalences": equivalences}
    path = save_checkpoint(tmp_path / "m.pt", BPNN(BPNNConfig(num_layers=1)), train_config=config)
    assert read_equivalences(path) is bool(equivalences)  # absent: trained without substitution
    other = save_checkpoint(tmp_path / "other.pt", BPNN(BPNNConfig(num_layers=2)), train_config=config)
    path.write_bytes(other.read_bytes())  # replaced behind the settings file's back
    assert read_equivalences(path) is None
    settings_path(other).unlink()
    assert read_equivalences(other) is None


def _imports_torch(*args: str) -> list[str]:
    code = ("import sys\n"
            "from bpcount.estimate import CountOptions, count\n"
            "ckpt = sys.argv[2] if len(sys.argv) > 2 else None\n"
            "(r,) = count([sys.argv[1]], options=CountOptions(method='bpnn', checkpoint=ckpt, probe_max_budget=0))\n"
            "print(r.estimator, r.ln_count is not None, 'torch' in sys.modules)\n")
    return subprocess.run([sys.executable, "-c", code, str(REPO / "examples" / "small.cnf"), *args],
                          capture_output=True, text=True, check=True, cwd=REPO).stdout.split()


def test_a_count_without_the_engine_does_not_import_torch(tmp_path):
    assert _imports_torch() == ["exact", "True", "False"]
    path = save_checkpoint(tmp_path / "mine.pt", BPNN(BPNNConfig(num_layers=1)), train_config={"equivalences": True})
    assert _imports_torch(str(path)) == ["exact", "True", "False"]
    settings_path(path).unlink()  # no settings file: the checkpoint itself is read
    assert _imports_torch(str(path)) == ["exact", "True", "True"]
