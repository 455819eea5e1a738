"""``bpcount ising`` through click's CliRunner: exit codes, CSV on stdout, files under --out."""

from __future__ import annotations

import csv
import io

import numpy as np
from click.testing import CliRunner

from bpcount.cli.ising import ising_command


def write_graph(path):
    # two triangles joined by a path, plus a pendant: small enough for every baseline
    edges = [(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 5), (5, 6), (6, 4), (6, 7)]
    path.write_text("".join(f"{u} {v}\n" for u, v in edges))


def parse(stdout):
    lines = stdout.splitlines()
    assert lines[0].startswith("# T_c(r=1) = ")
    return float(lines[0].split("=")[-1]), list(csv.DictReader(io.StringIO("\n".join(lines[1:]))))


def test_ising_command_outputs_csv_png_and_tc(tmp_path):
    g = tmp_path / "g.txt"
    write_graph(g)
    out = tmp_path / "out"
    res = CliRunner().invoke(ising_command, [str(g), "--radius", "1", "--t-min", "1", "--t-max", "3",
                                             "--steps", "4", "--mc-sweeps", "300", "--out", str(out)])
    assert res.exit_code == 0, res.output
    tc, rows = parse(res.stdout)
    assert tc == 0.0  # all loops are inside neighbourhoods: the linearised map is nilpotent
    assert len(rows) == 4 and {"T", "m", "u", "c", "s", "mc_u", "exact_u", "exact_s"} <= set(rows[0])
    # every block is a triangle: r = 1 is exact (kcn.md §6), up to the convergence tolerance
    for row in rows:
        assert abs(float(row["u"]) - float(row["exact_u"])) < 1e-6
        assert abs(float(row["s"]) - float(row["exact_s"])) < 1e-6
    assert (out / "ising.csv").read_text() == res.stdout
    assert (out / "ising.png").stat().st_size > 1000
    assert "T_c from rho(M) = 1" in res.stderr


def test_ising_command_tc_on_loopy_graph(tmp_path):
    g = tmp_path / "ring.txt"
    g.write_text("".join(f"{i} {(i + 1) % 12}\n" for i in range(12)) + "0 6\n3 9\n")
    res = CliRunner().invoke(ising_command, [str(g), "--steps", "2", "--no-mc", "--exact", "no"])
    assert res.exit_code == 0, res.output
    tc, _ = parse(res.stdout)
    assert 0.5 < tc < 3.0


def test_ising_command_fields_skip_mc_and_tc(tmp_path):
    g = tmp_path / "g.txt"
    write_graph(g)
    h = tmp_path / "h.txt"
    h.write_text("0 0.3\n5 -0.2\n")
    res = CliRunner().invoke(ising_command, [str(g), "--fields", str(h), "--steps", "2", "--exact", "no"])
    assert res.exit_code == 0, res.output
    assert not res.stdout.startswith("#") and "mc_u" not in res.stdout.splitlines()[0]
    assert "Wolff MC skipped" in res.stderr and "T_c skipped" in res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert np.isfinite(float(rows[0]["m"])) and float(rows[0]["m"]) != 0.0


def test_ising_command_bad_file_exit_3(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 x y z\n")
    res = CliRunner().invoke(ising_command, [str(bad)])
    assert res.exit_code == 3
    assert "bad.txt:1" in res.stderr and res.stdout == ""
