"""`bpcount compare` through click's CliRunner."""

from __future__ import annotations

import csv
import math

import pytest
from click.testing import CliRunner

from bpcount.cli import cli

pytest.importorskip("pyganak")
pytest.importorskip("pyapproxmc")


@pytest.fixture()
def data(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "a.cnf").write_text("p cnf 6 3\nc ind 1 0\n1 2 0\n3 -3 0\n4 5 0\n")  # 36
    (d / "u.cnf").write_text("p cnf 2 2\n1 0\n-1 0\n")
    (d / "b.cnf").write_text("p cnf 5 2\n1 -2 0\n3 4 5 0\n")  # 3 * 7 = 21
    (tmp_path / "labels.csv").write_text(
        "file,family,split,ln_count\n"
        f"data/a.cnf,toy,val,{math.log(36)!r}\ndata/u.cnf,toy,val,-inf\ndata/b.cnf,other,train,{math.log(21)!r}\n")
    return tmp_path


def test_compare_peers_only(data):
    out = data / "out"
    r = CliRunner().invoke(cli, ["compare", str(data / "data"), "--counters", "approxmc,ganak", "--labels",
                                 str(data / "labels.csv"), "--out", str(out), "--no-plots", "-q"])
    assert r.exit_code == 0, r.output
    assert "| approxmc | ε=0.8 | 3/3 | 3 |" in r.stdout and "| ganak | exact | 3/3 | 3 |" in r.stdout
    assert "Answers outside their counter's guarantee: none" in r.stdout
    rows = {row["file"].rsplit("/", 1)[1]: row for row in csv.DictReader(open(out / "results.csv"))}
    assert float(rows["a.cnf"]["ganak_ln"]) == pytest.approx(math.log(36))
    assert float(rows["b.cnf"]["approxmc_ln"]) == pytest.approx(math.log(21))
    assert rows["u.cnf"]["ganak_ln"] == "-inf" and rows["a.cnf"]["family"] == "toy"
    assert (out / "summary.md").read_text() == r.stdout


def test_compare_with_bp_split_and_plots(data):
    out = data / "out"
    r = CliRunner().invoke(cli, ["compare", str(data / "data"), "--counters", "bp,ganak", "--labels",
                                 str(data / "labels.csv"), "--split", "val", "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    # bpcount's guarantee is its proven bounds: the exact counts lie within them
    assert "| bp | proven bounds | 2/2 | 2 |" in r.stdout and "bp (batched)" in r.stdout
    assert "Answers outside their counter's guarantee: none" in r.stdout
    assert (out / "cactus.png").stat().st_size > 1000 and (out / "error.png").stat().st_size > 1000


def test_compare_usage_errors(data):
    r = CliRunner().invoke(cli, ["compare", str(data / "data"), "--counters", "nope"])
    assert r.exit_code == 2 and "unknown counter 'nope'" in r.output
    r = CliRunner().invoke(cli, ["compare", str(data / "data"), "--split", "val"])
    assert r.exit_code == 2 and "--labels" in r.output
    r = CliRunner().invoke(cli, ["compare", str(data / "nothing")])
    assert r.exit_code == 3


def test_compare_unreadable_input_exit_3(tmp_path):
    (tmp_path / "bad.cnf").write_text("p cnf 1 1\n3 0\n")
    (tmp_path / "ok.cnf").write_text("p cnf 1 1\n1 0\n")
    r = CliRunner().invoke(cli, ["compare", str(tmp_path), "--counters", "ganak", "-q"])
    assert r.exit_code == 3 and "| ganak | exact | 1/2 |" in r.stdout
    assert "exceeds declared" in r.stderr
