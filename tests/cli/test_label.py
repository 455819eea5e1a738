"""`bpcount label` through click's CliRunner."""

from __future__ import annotations

import csv
import math

import pytest
from click.testing import CliRunner

from bpcount.cli import cli

pytest.importorskip("pyganak")


def test_label_resumes_and_reports_errors(tmp_path):
    (tmp_path / "free.cnf").write_text("p cnf 4 1\n1 2 0\n")  # 3 * 4 = 12
    (tmp_path / "unsat.cnf").write_text("p cnf 1 2\n1 0\n-1 0\n")
    out = tmp_path / "labels.csv"
    r = CliRunner().invoke(cli, ["label", str(tmp_path), "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    assert r.stdout == f"labelled 2 ok, 0 timeout, 0 error -> {out}\n"  # pyganak's UNSAT line stays out
    rows = {row["file"]: row for row in csv.DictReader(open(out))}
    assert float(rows["free.cnf"]["ln_count"]) == pytest.approx(math.log(12))
    assert rows["unsat.cnf"]["ln_count"] == "-inf"
    (tmp_path / "bad.cnf").write_text("p cnf 1 1\n2 0\n")
    r = CliRunner().invoke(cli, ["label", str(tmp_path), "--out", str(out), "-q"])
    assert r.exit_code == 1
    assert r.stdout.startswith("labelled 0 ok, 0 timeout, 1 error")
    assert "bad.cnf: error" in r.stderr
    assert len(list(csv.DictReader(open(out)))) == 3


def test_label_usage():
    r = CliRunner().invoke(cli, ["label", "x.cnf"])
    assert r.exit_code == 2 and "--out" in r.output
