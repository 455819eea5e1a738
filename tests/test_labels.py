"""Exact labels with pyganak against brute-force enumeration (free variables, UNSAT, resume, timeout)."""

from __future__ import annotations

import csv
import itertools
import math
import random

import pytest

pytest.importorskip("pyganak")

from bpcount.cnf import Formula  # noqa: E402
from bpcount.labels import label, label_file, read_labels  # noqa: E402


def brute_ln(clauses: list[list[int]], n: int) -> float:
    count = 0
    for bits in itertools.product((False, True), repeat=n):
        if all(any(bits[abs(lit) - 1] == (lit > 0) for lit in c) for c in clauses):
            count += 1
    return math.log(count) if count else -math.inf


def random_cases(seed: int = 7) -> list[tuple[list[list[int]], int]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(6):
        n = rng.randint(3, 9)
        used = rng.randint(2, n)  # variables above `used` are free (declared, in no clause)
        clauses = [[rng.choice((-1, 1)) * rng.randint(1, used) for _ in range(rng.randint(1, 3))]
                   for _ in range(rng.randint(1, 2 * used))]
        cases.append((clauses, n))
    cases.append(([[1], [-1], [2, 3]], 4))  # UNSAT
    cases.append(([[1, -1], [2, 2, -3]], 5))  # tautology and a duplicate literal
    cases.append(([], 3))  # no clauses: 2^3
    return cases


def write(tmp_path, name, clauses, n):
    p = tmp_path / name
    p.write_text(Formula.from_clauses(clauses, n).to_dimacs())
    return p


def test_labels_match_brute_force_with_free_vars_and_unsat(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    expected = {}
    for i, (clauses, n) in enumerate(random_cases()):
        write(data, f"f{i}.cnf", clauses, n)
        expected[f"data/f{i}.cnf"] = brute_ln(clauses, n)
    out = tmp_path / "labels.csv"
    labs = label([data], out=out, timeout=30, jobs=2)
    assert len(labs) == len(expected)
    rows = list(csv.DictReader(open(out)))
    assert {r["file"] for r in rows} == set(expected)
    for r in rows:
        assert r["status"] == "ok", r
        assert r["label_source"].startswith("pyganak-")
        want = expected[r["file"]]
        got = float(r["ln_count"])
        assert (got == want == -math.inf) or got == pytest.approx(want, abs=1e-9), r["file"]


def test_free_variable_header_counts(tmp_path):
    p = tmp_path / "free.cnf"
    p.write_text("p cnf 3 1\nc ind 1 0\n1 2 0\n")  # projection line ignored; x3 free: 3 * 2 = 6
    lab = label_file(p, timeout=30)
    assert lab.status == "ok" and lab.ln_count == pytest.approx(math.log(6))
    assert (lab.n_vars, lab.n_clauses) == (3, 1)


def test_resume_skips_existing_rows_and_errors_are_rows(tmp_path):
    write(tmp_path, "a.cnf", [[1, 2]], 2)
    (tmp_path / "bad.cnf").write_text("p cnf 2 1\n1 7 0\n")
    out = tmp_path / "labels.csv"
    first = label([tmp_path], out=out, timeout=30)
    assert sorted(lab.status for lab in first) == ["error", "ok"]
    assert "exceeds declared" in next(lab.error for lab in first if lab.status == "error")
    write(tmp_path, "b.cnf", [[1]], 2)
    second = label([tmp_path], out=out, timeout=30)
    assert [lab.file for lab in second] == ["b.cnf"]
    assert len(list(csv.DictReader(open(out)))) == 3
    labels = read_labels(out)
    assert labels[str((tmp_path / "b.cnf").resolve())]["ln_count"] == pytest.approx(math.log(2))


def test_timeout_is_recorded_not_fatal(tmp_path):
    p = write(tmp_path, "a.cnf", [[1, 2]], 2)
    lab = label_file(p, timeout=0.001)  # the child cannot even start Python in 1 ms
    assert lab.status == "timeout" and lab.ln_count is None
    assert (lab.n_vars, lab.n_clauses) == (2, 1)


def test_read_labels_bench_format(tmp_path):
    (tmp_path / "labels.csv").write_text(
        "file,family,split,n_vars,n_clauses,max_clause_len,ln_count,label_source,exact_seconds\n"
        "or/x.cnf.gz,or,val,3,1,2,1.5,ganak,0.1\nuuf/y.cnf.gz,uuf50,val,3,2,1,-inf,ganak,0.1\n")
    labels = read_labels(tmp_path / "labels.csv")
    assert labels[str((tmp_path / "or/x.cnf.gz").resolve())]["ln_count"] == 1.5
    assert labels[str((tmp_path / "uuf/y.cnf.gz").resolve())]["ln_count"] == -math.inf
