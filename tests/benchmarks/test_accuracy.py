"""Smoke and arithmetic tests of benchmarks/accuracy.py (the script behind `make bench-accuracy`)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from bpcount.estimate import CountResult
from bpcount.generate import make_formula
from tests.conftest import ganak_log_count


def _result(ln: float | None, exact: bool = False) -> CountResult:
    return CountResult(file="f", status="ok" if ln is not None else "error", method="bp", ln_count=ln,
                       exact=exact, seconds=1.0)


def test_summarise_counts_errors_failures_and_unsat_per_family(accuracy_script):
    rows = [{"family": "a", "ln_count": "1.0"}, {"family": "a", "ln_count": "2.0"},
            {"family": "b", "ln_count": "3.0"}, {"family": "b", "ln_count": "-inf"},
            {"family": "b", "ln_count": "4.0"}]
    res = [_result(1.5), _result(2.0, exact=True), _result(None), _result(-math.inf, exact=True), _result(3.9)]
    by_family = {rec["family"]: rec for rec in accuracy_script.summarise(rows, {"m": res})}
    a, b, every = by_family["a"]["m"], by_family["b"]["m"], by_family["all"]["m"]
    assert by_family["a"]["n"] == 2 and by_family["b"]["n"] == 2 and by_family["b"]["unsat"] == 1
    assert a["rmse"] == pytest.approx(math.sqrt((0.25 + 0.0) / 2))
    assert a["median"] == pytest.approx(0.25) and a["within"] == pytest.approx(0.5)
    assert (a["n_exact"], a["n_approx"], a["approx_rmse"]) == (1, 1, pytest.approx(0.5))
    assert (b["failed"], b["unsat_ok"], b["rmse"]) == (1, 1, pytest.approx(0.1))
    assert every["rmse"] == pytest.approx(math.sqrt((0.25 + 0.0 + 0.01) / 3))
    assert every["within"] == pytest.approx(2 / 3) and every["failed"] == 1


def test_accuracy_script_reports_every_formula_and_exact_answers_match_labels(tmp_path, accuracy_script):
    """A small labelled split (random 3-CNF over 30 variables, one UNSAT formula) through the script:
    one per-formula row each, exact answers equal to pyganak's labels, and table rows whose RMSE is the
    one recomputed from the per-formula CSV."""
    labels = []
    for i in range(4):
        f = make_formula("kcnf", seed=11, index=i, n=30, ratio=3.0)
        path = tmp_path / f"k{i}.cnf"
        path.write_text(f.to_dimacs())
        labels.append((path.name, "kcnf", ganak_log_count(f.num_vars, f.clauses())))
    (tmp_path / "unsat.cnf").write_text("p cnf 2 4\n1 2 0\n-1 2 0\n1 -2 0\n-1 -2 0\n")
    labels.append(("unsat.cnf", "tiny", -math.inf))
    csv_path = tmp_path / "labels.csv"
    with csv_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "family", "split", "ln_count"])
        w.writerows([name, fam, "val", repr(ln)] for name, fam, ln in labels)
    out, per = tmp_path / "acc.md", tmp_path / "per.csv"
    assert accuracy_script.main(["--labels", str(csv_path), "--splits", "val", "--device", "cpu",
                                 "--methods", "bp,bp+noexact", "--out", str(out), "--per-formula", str(per)]) == 0
    with per.open() as fh:
        got = list(csv.DictReader(fh))
    assert [r["file"] for r in got] == [name for name, _, _ in labels]
    errors = {"bp": [], "bp+noexact": []}
    for r, (_, _, label) in zip(got, labels):
        for m in errors:
            ln = float(r[m])
            if r[f"{m} exact"] == "1":
                assert ln == pytest.approx(label, abs=1e-9) or ln == label == -math.inf
            if math.isfinite(label):
                errors[m].append(ln - label)
    assert sum(r["bp exact"] == "1" for r in got) == 5  # elimination decides 30-variable formulas exactly
    assert sum(r["bp+noexact exact"] == "1" for r in got) < 5  # the estimator alone does not
    text = out.read_text()
    for m, e in errors.items():
        assert f"{np.sqrt(np.mean(np.square(e))):.3f}" in text.split("| **all** |")[1].split("\n")[0], m
    assert "UNSAT formulas in tiny: 1 (reported UNSAT: bp 1, bp+noexact 1)" in text
    # every approximate answer's proven bounds contain its label, and the line says so
    m = "bp+noexact"
    approx = [(r, label) for r, (_, _, label) in zip(got, labels) if r[f"{m} exact"] == "0" and math.isfinite(label)]
    assert approx
    for r, label in approx:
        assert float(r[f"{m} lower"]) - 1e-6 <= label <= float(r[f"{m} upper"]) + 1e-6
    assert f"{m} contain the label on {len(approx)} of {len(approx)}" in text

