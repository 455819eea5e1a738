"""benchmarks/mc2022_floor.py: pyganak's count of the pipeline's residual plus its exact part is the
label, and the report's floor is |error| / √n."""

from __future__ import annotations

import csv
import math

import pytest

from bpcount.generate import make_formula
from tests.benchmarks.conftest import load_script
from tests.conftest import ganak_log_count


@pytest.fixture(scope="module")
def floor_script():
    return load_script("mc2022_floor")


def _coloring(tmp_path):
    """A 3-colouring of a random 40-node graph (the simplifier leaves a residual) and its exact ln count."""
    f = make_formula("coloring", seed=7, index=0, nodes=40, colors=3, degree=4)
    path = tmp_path / "c0.cnf"
    path.write_text(f.to_dimacs())
    return path, ganak_log_count(f.num_vars, f.clauses())


def test_the_residual_s_count_plus_its_exact_part_is_the_label(tmp_path, floor_script):
    path, truth = _coloring(tmp_path)
    r, ln_residual, _ = floor_script.residual_label(path, timeout=120)
    assert r is not None and r.num_vars > 0
    assert r.ln_offset + ln_residual == pytest.approx(truth, abs=1e-9)


def test_the_report_states_the_residual_check_and_the_floor(tmp_path, floor_script):
    path, truth = _coloring(tmp_path)
    with open(tmp_path / "labels.csv", "w", newline="") as fh:
        csv.writer(fh).writerows([["file", "ln_count"], [path.name, repr(truth)]])
    per_formula = tmp_path / "per_formula.csv"
    with open(per_formula, "w", newline="") as fh:  # 4 test formulas; this one answered 2 nats high
        csv.writer(fh).writerows([["split", "file", "bpnn"], ["test", path.name, repr(truth + 2.0)],
                                  *[["test", f"other{i}.cnf", "1.0"] for i in range(3)], ["val", "v.cnf", "1.0"]])
    out = tmp_path / "report.md"
    assert floor_script.main(["--labels", str(tmp_path / "labels.csv"), "--files", path.name, "--per-formula",
                              str(per_formula), "--ganak-timeout", "120", "--seeds", "0", "--out", str(out)]) == 0
    rows = [line.split(" | ") for line in out.read_text().splitlines() if line.startswith(f"| {path.name} |")]
    head, probe = rows
    assert head[2].endswith("(ok)") and float(head[2].split()[0]) == pytest.approx(truth, abs=1e-3)
    assert float(head[6]) == pytest.approx(float(head[7]), abs=2e-4)  # residual count == label − exact part
    assert float(head[9]) == pytest.approx(2.0, abs=1e-2)
    assert float(head[10].rstrip(" |")) == pytest.approx(2.0 / math.sqrt(4), abs=1e-2)
    assert probe[1] == "0" and int(probe[2]) >= 1  # the probes ran on the residual
