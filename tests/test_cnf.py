"""DIMACS reader: the dialect quirks, compression, errors with file:line, weights, projection."""

from __future__ import annotations

import bz2
import gzip
import lzma
import re

import numpy as np
import pytest

from bpcount.cnf import DimacsError, Formula, parse_dimacs, read_dimacs


def test_header_n_is_authoritative_free_variables_kept():
    f = parse_dimacs("p cnf 5 2\n1 -2 0\n2 3 0\n")
    assert f.num_vars == 5 and f.clauses() == [[1, -2], [2, 3]]


def test_clauses_span_lines_and_share_lines():
    f = parse_dimacs("p cnf 4 3\n1 2\n -3 0 4 0\n  2\n\n-4 0\n")
    assert f.clauses() == [[1, 2, -3], [4], [2, -4]]


def test_satlib_percent_trailer_stops_reading():
    f = parse_dimacs("c SATLIB\np cnf  3  1 \n 1 2 3 0\n%\n0\n\n")
    assert f.clauses() == [[1, 2, 3]]


def test_comments_task_before_header_and_repeated_identical_header():
    f = parse_dimacs("c t mc\nc file x\np cnf 2 1\np cnf 2 1\ncc comment\n1 2 0\n")
    assert f.task == "mc" and f.num_clauses == 1
    assert any("repeated header" in w for w in f.warnings)


def test_more_clauses_than_declared_warns_and_reads_all():
    text = "p cnf 3 1\n1 0\n2 0\n3 0\n"
    f = parse_dimacs(text, source="or.cnf")
    assert f.num_clauses == 3 and any("3 clauses present" in w for w in f.warnings)
    with pytest.raises(DimacsError, match=re.escape("or.cnf:1: 3 clauses present but the header declares 1")):
        parse_dimacs(text, source="or.cnf", strict=True)


def test_extra_header_field_accepted():
    assert parse_dimacs("p cnf 6 1 2\n1 0\n").num_vars == 6


@pytest.mark.parametrize(
    "text, message",
    [
        ("p cnf 2 1\n1 3 0\n", "f.cnf:2: literal 3 exceeds declared 2 variables"),
        ("p cnf 2 1\np cnf 3 1\n1 0\n", "f.cnf:2: second header 'p cnf 3 1' conflicts with line 1"),
        ("1 2 0\n", "f.cnf:1: expected the 'p cnf <variables> <clauses>' header before clauses"),
        ("c only\n", "f.cnf: missing 'p cnf <variables> <clauses>' header"),
        ("p cnf 2 1\n1 x 0\n", "f.cnf:2: expected an integer literal, got 'x'"),
        ("p cnf 2 2\n1 0\n-1 2\n", "f.cnf:3: last clause is not terminated by 0"),
        ("p cnf two 1\n", "f.cnf:1: expected an integer in the header, got 'two'"),
        ("p dnf 2 1\n", "f.cnf:1: expected 'p cnf <variables> <clauses>'"),
        ("p cnf 2 1\nc p weight 1 -0.5 0\n1 0\n", "f.cnf:2: weight -0.5 is not a finite non-negative number"),
        ("p cnf 2 1\nc t xyz\n", "f.cnf:2: unknown task 'xyz'"),
    ],
)
def test_errors_name_file_line_and_expectation(text, message):
    with pytest.raises(DimacsError, match=re.escape(message)):
        parse_dimacs(text, source="f.cnf")


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress, bz2.compress, lambda b: b])
def test_compressed_files_detected_by_magic(tmp_path, compress):
    path = tmp_path / "f.cnf.any"
    path.write_bytes(compress(b"p cnf 3 2\n1 -2 0\n3 0\n"))
    f = read_dimacs(path)
    assert f.num_vars == 3 and f.clauses() == [[1, -2], [3]] and f.source == str(path)


def test_missing_file_is_a_dimacs_error(tmp_path):
    with pytest.raises(DimacsError, match="cannot read"):
        read_dimacs(tmp_path / "nope.cnf")


def test_weights_follow_mcc_defaults():
    text = "c t wmc\np cnf 3 1\nc p weight 1 0.3 0\nc p weight -2 3/10 0\nc p weight 3 0.25 0\nc p weight -3 0.75 0\n1 2 0\n"
    f = parse_dimacs(text)
    np.testing.assert_allclose(f.weights, [[0.7, 0.3], [0.3, 0.7], [0.75, 0.25]])
    assert f.task == "wmc" and f.weighted


def test_unweighted_variables_get_weight_one():
    f = parse_dimacs("p cnf 2 1\nc p weight 2 0.4 0\n1 2 0\n")
    np.testing.assert_allclose(f.weights, [[1.0, 1.0], [0.6, 0.4]])


def test_projection_lines_parsed():
    f = parse_dimacs("p cnf 4 1\nc p show 1 2 0\nc p show 3\nc ind 1 4 0\n1 0\n")
    assert f.show == (1, 2, 3) and f.ind == (1, 4)
    assert f.projection == ("c p show", (1, 2, 3))


def test_round_trip_to_dimacs_keeps_free_variables_and_weights():
    w = np.array([[0.5, 0.5], [1.0, 1.0], [0.2, 0.8]])
    f = Formula.from_clauses([[1, -2], [3]], 5 - 2, weights=w)
    g = parse_dimacs(f.to_dimacs())
    assert g.num_vars == 3 and g.clauses() == f.clauses()
    np.testing.assert_allclose(g.weights, w)
    assert parse_dimacs(Formula.from_clauses([[1]], 7).to_dimacs()).num_vars == 7


def test_to_dimacs_can_strip_projection():
    f = parse_dimacs("p cnf 3 1\nc ind 1 0\n1 2 0\n")
    assert "c ind" in f.to_dimacs() and "c ind" not in f.to_dimacs(projection=False)


def test_large_formula_parses_quickly():
    rng = np.random.default_rng(0)
    m, n = 200_000, 50_000
    lits = rng.integers(1, n + 1, size=(m, 3)) * rng.choice([-1, 1], size=(m, 3))
    text = f"p cnf {n} {m}\n" + "\n".join(" ".join(map(str, row)) + " 0" for row in lits.tolist())
    f = parse_dimacs(text)
    assert f.num_clauses == m and np.array_equal(f.lits, lits.ravel())
