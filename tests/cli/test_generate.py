"""`bpcount generate` through click's CliRunner."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from bpcount.cli import cli


def test_generate_writes_deterministic_files(tmp_path):
    r = CliRunner().invoke(cli, ["generate", "dqmr", "--out", str(tmp_path / "a"), "-n", "3", "--seed", "7",
                                 "-p", "diseases=8", "-p", "symptoms=6"])
    assert r.exit_code == 0, r.output
    paths = r.stdout.split()
    assert [p.rsplit("/", 1)[1] for p in paths] == [f"dqmr_s7_{i:05d}.cnf" for i in range(3)]
    r2 = CliRunner().invoke(cli, ["generate", "dqmr", "--out", str(tmp_path / "b"), "-n", "1", "--seed", "7",
                                  "-p", "diseases=8", "-p", "symptoms=6"])
    assert r2.exit_code == 0
    assert (tmp_path / "a" / "dqmr_s7_00000.cnf").read_text() == (tmp_path / "b" / "dqmr_s7_00000.cnf").read_text()
    text = (tmp_path / "a" / "dqmr_s7_00000.cnf").read_text()
    assert "p cnf 14 33" in text  # 5 clauses per symptom + 3 observed


def test_generate_usage_errors(tmp_path):
    r = CliRunner().invoke(cli, ["generate", "kcnf", "--out", str(tmp_path), "-p", "bogus=1"])
    assert r.exit_code == 2 and "no parameter 'bogus'" in r.output
    r = CliRunner().invoke(cli, ["generate", "kcnf", "--out", str(tmp_path), "-p", "n"])
    assert r.exit_code == 2 and "KEY=VALUE" in r.output
    r = CliRunner().invoke(cli, ["generate", "nofamily", "--out", str(tmp_path)])
    assert r.exit_code == 2
    r = CliRunner().invoke(cli, ["generate", "--list"])
    assert r.exit_code == 0 and "dqmr" in r.stdout and "ratio=3.0" in r.stdout


def test_generate_with_label(tmp_path):
    pytest.importorskip("pyganak")
    r = CliRunner().invoke(cli, ["generate", "kcnf", "--out", str(tmp_path), "-n", "2", "-p", "n=12",
                                 "--label", "-q"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(open(tmp_path / "labels.csv")))
    assert sorted(r["file"] for r in rows) == ["kcnf_s0_00000.cnf", "kcnf_s0_00001.cnf"]
    assert all(r["status"] == "ok" and r["family"] == "kcnf" for r in rows)
