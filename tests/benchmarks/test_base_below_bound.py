"""benchmarks/base_below_bound.py: on a generated formula whose BPNN base falls below the proven lower
bound, the report compares the model's projected estimate with the bound that now answers."""

from __future__ import annotations

import csv

import pytest

from bpcount.generate import make_formula
from tests.conftest import ganak_log_count


def test_a_base_below_the_bound_is_reported(tmp_path, base_below_bound_script):
    # three-colouring of a random 40-node graph: few models, gate BP's Bethe value below the bound
    folder = tmp_path / "coloring"
    folder.mkdir()
    f = make_formula("coloring", seed=7, index=0, nodes=40, colors=3, degree=4)
    (folder / "c0.cnf").write_text(f.to_dimacs())
    truth = ganak_log_count(f.num_vars, f.clauses())
    with open(folder / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "ln_count", "status"])
        w.writerow(["c0.cnf", repr(truth), "ok"])
    rows = base_below_bound_script.labelled(type("Opts", (), {"labels": None, "splits": "", "gen": [folder]})())
    (case,) = base_below_bound_script.below_cases(rows)
    # the answer is the proven lower bound, the model's own estimate below it projects onto it too
    assert case["answer"] <= case["truth"] + 1e-9 and case["model"] >= case["answer"] - 1e-12
    assert case["model"] == pytest.approx(max(case["own"], case["answer"]))
    out = tmp_path / "report.md"
    assert base_below_bound_script.main(["--gen", str(folder), "--out", str(out)]) == 0
    text = out.read_text()
    assert "1 with the model's base below the bound" in text and "| coloring | 1 |" in text
