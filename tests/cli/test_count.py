"""`bpcount [count]`: formats, streams, exit codes, stdin, error paths (CliRunner)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from bpcount.cli import cli
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "example.cnf"


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def files(tmp_path):
    (tmp_path / "chain.cnf").write_text("p cnf 4 2\n1 2 0\n-2 3 0\n")  # 4 models × 2 (x4 free)
    (tmp_path / "unsat.cnf").write_text("p cnf 1 2\n1 0\n-1 0\n")
    (tmp_path / "bad.cnf").write_text("p cnf 2 1\n1 2\n")
    (tmp_path / "w.cnf").write_text("c t wmc\np cnf 2 1\nc p weight 1 0.25 0\n1 2 0\n")  # x1: 0.25·2 + 0.75·1 = 1.25
    with gzip.open(tmp_path / "gz.cnf.gz", "wt") as fh:
        fh.write("p cnf 3 1\n1 2 3 0\n")
    return tmp_path


def test_default_command_text(runner, files):
    res = runner.invoke(cli, [str(files / "chain.cnf")])
    assert res.exit_code == 0, res.output
    assert f"ln count {math.log(8):.6f}" in res.stdout and "exact" in res.stdout


def test_mcc_format_lines(runner, files):
    res = runner.invoke(cli, ["--format", "mcc", str(files / "chain.cnf")])
    lines = res.stdout.splitlines()
    assert "s SATISFIABLE" in lines and "c s type mc" in lines
    est = [float(x.split()[-1]) for x in lines if x.startswith("c s log10-estimate ")]
    val = [float(x.split()[-1]) for x in lines if x.startswith("c s exact double log10 ")]
    assert len(est) == len(val) == 1 and abs(est[0] - math.log10(8)) < 1e-14 and val == est


def test_mcc_never_exact_for_estimates(runner):
    res = runner.invoke(cli, ["--format", "mcc", str(EXAMPLE)])
    assert res.exit_code == 0
    assert any(line.startswith("c s approx double log10 ") for line in res.stdout.splitlines())
    assert "exact" not in [w for line in res.stdout.splitlines() if line.startswith("c s") for w in line.split()]
    # the proven bounds of an estimate: a comment line, and they bracket the estimate
    (bounds,) = [line.split()[3:5] for line in res.stdout.splitlines() if line.startswith("c o ln-bounds ")]
    (est,) = [float(line.split()[-1]) for line in res.stdout.splitlines() if line.startswith("c o ln-estimate ")]
    assert float(bounds[0]) <= est <= float(bounds[1])


def test_mcc_unsat_and_weighted(runner, files):
    res = runner.invoke(cli, ["--format", "mcc", str(files / "unsat.cnf"), str(files / "w.cnf")])
    out = res.stdout
    assert "s UNSATISFIABLE" in out and "c s log10-estimate -inf" in out and "c s exact double log10 -inf" in out
    assert "c s type wmc" in out
    val = [float(x.split()[-1]) for x in out.splitlines() if x.startswith("c s exact double log10 ")]
    assert abs(val[-1] - math.log10(1.25)) < 1e-14


def test_jsonl_is_strict_json_with_null_for_unsat(runner, files):
    res = runner.invoke(cli, ["--format", "jsonl", "-q", str(files)])
    records = [json.loads(line) for line in res.stdout.splitlines()]  # json.loads rejects nothing, so:
    for line in res.stdout.splitlines():
        assert "NaN" not in line and "Infinity" not in line
    by = {r["file"].split("/")[-1]: r for r in records}
    assert set(by) == {"bad.cnf", "chain.cnf", "gz.cnf.gz", "unsat.cnf", "w.cnf"}
    assert by["unsat.cnf"]["satisfiable"] is False and by["unsat.cnf"]["ln_count"] is None
    assert by["bad.cnf"]["status"] == "error" and "last clause is not terminated by 0" in by["bad.cnf"]["error"]
    assert abs(by["gz.cnf.gz"]["ln_count"] - math.log(7)) < 1e-12
    for key in ("file", "ln_count", "log10_count", "method", "exact", "converged", "seconds", "status", "error"):
        assert key in by["chain.cnf"]
    assert by["chain.cnf"]["ln_lower"] == by["chain.cnf"]["ln_upper"] == by["chain.cnf"]["ln_count"]  # exact
    assert res.exit_code == 3  # one unreadable input


def test_csv_format(runner, files):
    res = runner.invoke(cli, ["--format", "csv", "-q", str(files / "chain.cnf"), str(files / "gz.cnf.gz")])
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(rows) == 2 and abs(float(rows[0]["ln_count"]) - math.log(8)) < 1e-12
    assert res.exit_code == 0


def test_stdin_dash_and_no_argument(runner):
    text = "p cnf 3 1\n1 2 0\n"
    for args in (["-"], []):
        res = runner.invoke(cli, args, input=text)
        assert res.exit_code == 0, res.output
        assert f"ln count {math.log(6):.6f}" in res.stdout


def test_errors_go_to_stderr_and_exit_codes(runner, files):
    res = runner.invoke(cli, [str(files / "bad.cnf")])
    assert res.exit_code == 3 and res.stdout == "" and "bad.cnf:2: last clause is not terminated by 0" in res.stderr
    res = runner.invoke(cli, [str(files / "nonexistent.cnf")])
    assert res.exit_code == 3 and "cannot read" in res.stderr
    res = runner.invoke(cli, ["--damping", "1.5", str(files / "chain.cnf")])
    assert res.exit_code == 2
    res = runner.invoke(cli, ["--task", "pmc", str(files / "chain.cnf")])
    assert res.exit_code == 2 and "--ignore-projection" in res.stderr


def test_nonconvergence_error_policy_exit_1(runner):
    res = runner.invoke(cli, ["--method", "bp", "--format", "mcc", "--exact-max-vars", "0", "--exact-width", "0", "--enum-models", "0", "--search-budget", "0", "--probe-budget", "0", "--max-iters", "2", "--damping", "0",
                              "--on-nonconvergence", "error", str(EXAMPLE)])
    assert res.exit_code == 1 and "s UNKNOWN" in res.stdout


def test_count_subcommand_and_help(runner):
    assert runner.invoke(cli, ["count", "--help"]).exit_code == 0
    res = runner.invoke(cli, ["--help"])
    assert res.exit_code == 0 and "Exit codes" in res.stdout


def test_console_script_is_fast_and_does_not_import_torch():
    code = "import sys; from bpcount.cli import cli; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    res = subprocess.run([sys.executable, "-m", "bpcount", "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and "bpcount" in res.stdout


def test_loopy_reports_neighbourhood_statistics(runner, files):
    res = runner.invoke(cli, ["--method", "loopy", "--radius", "1", "--exact-max-vars", "0", "--exact-width", "0", "--enum-models", "0", "--search-budget", "0", "--probe-budget", "0", str(files / "chain.cnf")])
    assert res.exit_code == 0, res.output
    assert "neighbourhoods mean" in res.stdout and "sampled" in res.stdout
    assert f"ln count {math.log(8):.6f}" in res.stdout  # a chain is a tree: exact at every radius


def test_default_method_is_the_shipped_bpnn(runner):
    res = runner.invoke(cli, ["--format", "jsonl", str(EXAMPLE)])
    assert res.exit_code == 0 and json.loads(res.stdout)["method"] == "bpnn"


def test_gates_option_reaches_the_engine(runner, tmp_path):
    # o ↔ AND(a, b) for a chain of gates: a tree circuit, exact with gate factors only
    clauses, n = [], 2
    for _ in range(6):
        n += 1
        clauses += [[-n, n - 1], [-n, n - 2], [n, -(n - 1), -(n - 2)]] if n % 2 else [[-n, 1], [-n, n - 1], [n, -1, -(n - 1)]]
    path = tmp_path / "gates.cnf"
    path.write_text(f"p cnf {n} {len(clauses)}\n" + "".join(" ".join(map(str, c)) + " 0\n" for c in clauses))
    base = ["--method", "bp", "--device", "cpu", "--format", "jsonl", "--exact-max-vars", "0", "--exact-width", "0", "--enum-models", "0", "--search-budget", "0", "--probe-budget", "0", "--no-sat-check", str(path)]
    on = json.loads(runner.invoke(cli, base).stdout)
    off = json.loads(runner.invoke(cli, ["--no-gates"] + base).stdout)
    assert on["stats"]["gates"]["and"] >= 1 and "gates" not in off["stats"]
    assert on["ln_count"] != off["ln_count"]
    mcc = runner.invoke(cli, ["--no-gates", "--method", "bp", "--format", "mcc", str(path)]).stdout
    assert "gates=off" in mcc.splitlines()[0]


def test_condition_option_reaches_the_engine(runner, tmp_path):
    rng = np.random.default_rng(11)
    clauses = [[int(x) * int(rng.choice([-1, 1])) for x in rng.choice(np.arange(1, 31), 3, replace=False)]
               for _ in range(100)]
    path = tmp_path / "loops.cnf"
    path.write_text("p cnf 30 100\n" + "".join(" ".join(map(str, c)) + " 0\n" for c in clauses))
    base = ["--method", "bp", "--device", "cpu", "--format", "jsonl", "--exact-max-vars", "0", "--exact-width", "0", "--enum-models", "0", "--search-budget", "0", "--probe-budget", "0", "--no-sat-check", str(path)]
    plain = json.loads(runner.invoke(cli, base).stdout)
    cond = json.loads(runner.invoke(cli, ["--condition", "3"] + base).stdout)
    assert "conditioning" not in plain["stats"]
    info = cond["stats"]["conditioning"]
    assert info["vars"] == 3 and info["branches"] == 8
    # the plain estimate is kept (and reported as such) only when some branch did not converge
    assert info.get("unconditioned", cond["ln_count"]) == plain["ln_count"]
    assert info["used"] == ("reason" not in info)
    mcc = runner.invoke(cli, ["--condition", "3", "--method", "bp", "--format", "mcc", str(path)]).stdout
    assert "condition=3" in mcc.splitlines()[0]
    assert runner.invoke(cli, ["--condition", "17", str(path)]).exit_code == 2


def test_exact_width_option_counts_narrow_formulas_exactly(runner, tmp_path):
    # a ladder: x_i ∨ x_{i+1} ∨ ¬x_{i+2} along 60 variables, width 2, too big to enumerate
    n = 60
    clauses = [[i, i + 1, -(i + 2)] for i in range(1, n - 1)] + [[-i, -(i + 1)] for i in range(1, n, 3)]
    path = tmp_path / "ladder.cnf"
    path.write_text(f"p cnf {n} {len(clauses)}\n" + "".join(" ".join(map(str, c)) + " 0\n" for c in clauses))
    base = ["--method", "bp", "--format", "jsonl", "--no-sat-check", str(path)]
    on = json.loads(runner.invoke(cli, base).stdout)
    off = json.loads(runner.invoke(cli, ["--exact-width", "0", "--enum-models", "0", "--search-budget", "0", "--probe-budget", "0"] + base).stdout)
    assert on["exact"] and on["stats"]["eliminated_components"] == 1
    assert not off["exact"] and off["stats"]["eliminated_components"] == 0
    # the exact value, by a transfer matrix over (x_i, x_{i+1}) pairs
    pairs = [(a, b) for a in (0, 1) for b in (0, 1)]
    ok2 = lambda i, a, b: not (i % 3 == 1 and a and b)  # noqa: E731 - clause ¬x_i ∨ ¬x_{i+1}
    vec = {(a, b): float(ok2(1, a, b)) for a, b in pairs}
    for i in range(1, n - 1):  # add x_{i+2} given (x_i, x_{i+1})
        new = {p: 0.0 for p in pairs}
        for (a, b), w in vec.items():
            for c in (0, 1):
                if (a or b or not c) and ok2(i + 1, b, c):
                    new[(b, c)] += w
        vec = new
    assert on["ln_count"] == pytest.approx(math.log(sum(vec.values())), abs=1e-9)
    mcc = runner.invoke(cli, ["--exact-width", "5", "--method", "bp", "--format", "mcc", str(path)]).stdout
    assert "exact_width=5" in mcc.splitlines()[0]


def test_jobs_option_gives_the_same_output_and_exit_code_with_stdin_and_a_bad_file(runner, files):
    def run(jobs):
        res = runner.invoke(cli, ["--format", "jsonl", "--jobs", str(jobs), "--device", "cpu", str(files), "-"],
                            input="p cnf 3 1\n1 -2 0\n")
        records = [json.loads(line) for line in res.stdout.splitlines()]
        for r in records:
            r.pop("seconds")
        return res.exit_code, records

    code1, one = run(1)
    code2, two = run(2)
    assert code1 == code2 == 3  # bad.cnf is unreadable; the others are counted
    assert one == two
    assert [r["file"] for r in two][-1] == "<stdin>" and two[-1]["ln_count"] == pytest.approx(math.log(6))
    assert sum(r["status"] == "error" for r in two) == 1


def test_search_probe_answers_are_reported(runner, tmp_path):
    """Text, MCC, jsonl and csv say when search probes answered (and that the engine did not run)."""
    rng = np.random.default_rng(4)
    clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(60, 3, replace=False) + 1] for _ in range(180)]
    path = tmp_path / "r.cnf"
    path.write_text("p cnf 60 180\n" + "".join(" ".join(map(str, c)) + " 0\n" for c in clauses))
    base = ["--method", "bp", "--exact-width", "0", "--enum-models", "0", "--search-budget", "0",
            "--probe-max-budget", "0", "--probe-budget", "0.5", str(path)]
    text = runner.invoke(cli, base)
    assert text.exit_code == 0 and "search probes" in text.stdout and "bp engine did not run" in text.stdout
    mcc = runner.invoke(cli, ["--format", "mcc"] + base)
    assert "c o estimated by " in mcc.stdout and "probe_budget=0.5 probe_max_budget=0 " in mcc.stdout
    assert " probe_check=on " in mcc.stdout
    assert " probe_check=off " in runner.invoke(cli, ["--format", "mcc", "--no-probe-check"] + base).stdout
    assert "s SATISFIABLE" in mcc.stdout and "c s approx double log10" in mcc.stdout
    rec = json.loads(runner.invoke(cli, ["--format", "jsonl"] + base).stdout)
    assert rec["estimator"] == "probes" and rec["stats"]["probe"]["probes"] >= 4
    row = next(csv.DictReader(io.StringIO(runner.invoke(cli, ["--format", "csv"] + base).stdout)))
    assert row["estimator"] == "probes" and float(row["ln_count"]) == pytest.approx(rec["ln_count"])
    off = json.loads(runner.invoke(cli, ["--format", "jsonl", "--probe-budget", "0"] + base[:-3] + [str(path)]).stdout)
    assert off["estimator"] == "bp"
