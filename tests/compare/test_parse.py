"""Peer output parsers on sample outputs of each format (peers.md §2, mcc-format.md §3)."""

from __future__ import annotations

import math

import pytest

from bpcount.compare.parse import (
    parse_approxmc,
    parse_d4,
    parse_dsharp,
    parse_f2,
    parse_mcc,
    parse_sts,
)

LN2, LN10 = math.log(2), math.log(10)


@pytest.mark.parametrize("text, ln, kind", [
    ("c o x\ns SATISFIABLE\nc s type mc\nc s log10-estimate 1.342422680822206\nc s exact arb int 22\n",
     math.log(22), "exact"),
    # Ganak order and misspelling tolerated; the value line wins over the estimate
    ("s SATISFIABILE\nc s log10-estimate 1.41236925e+01\nc s type mc\nc s exact arb int 26\n", math.log(26), "exact"),
    ("c s type wmc\nc s exact double float 0.346\n", math.log(0.346), "exact"),
    ("c s exact arb log10 -3.3279021420642824863\n", -3.3279021420642824863 * LN10, "exact"),
    ("c s exact arb frac 3/10\n", math.log(0.3), "exact"),
    ("c s approx arb int 1024\n", 10 * LN2, "approx"),
    ("c s approx double log10 5.36166022215554\n", 5.36166022215554 * LN10, "approx"),
    ("s UNSATISFIABLE\nc s type mc\nc s log10-estimate -inf\nc s exact arb int 0\n", -math.inf, "exact"),
    ("s UNSATISFIABLE\nc s approx double log10 -inf\n", -math.inf, "approx"),
    ("c s log10-estimate 2.0\n", 2.0 * LN10, "approx"),  # fallback when no value line
    ("  c s  exact  arb  int  7  \n", math.log(7), "exact"),  # lenient whitespace
])
def test_mcc(text, ln, kind):
    p = parse_mcc(text)
    assert p is not None and p.kind == kind
    assert (p.ln_count == ln == -math.inf) or p.ln_count == pytest.approx(ln, rel=1e-12)


def test_mcc_huge_int_and_missing_answer():
    big = 7**9000  # > 4300 digits: plain int() of the string would raise
    import sys

    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        s = str(big)
    finally:
        sys.set_int_max_str_digits(old)
    assert parse_mcc(f"c s exact arb int {s}\n").ln_count == pytest.approx(9000 * math.log(7), rel=1e-14)
    assert parse_mcc("c o nothing here\ns SATISFIABLE\n") is None  # no answer is not zero
    assert parse_mcc("") is None


@pytest.mark.parametrize("text, ln", [
    ("c [appmc] Number of solutions is: 50*2**12\ns mc 204800\n", math.log(204800)),  # ApproxMC 4+
    ("c [appmc] Number of solutions is: 50*2**12\n", math.log(50) + 12 * LN2),
    ("c [appmc] Number of solutions is: 50 x 2^12\n", math.log(50) + 12 * LN2),  # ApproxMC 3
    ("s mc 0\n", -math.inf),
    ("s UNSATISFIABLE\n", -math.inf),
])
def test_approxmc(text, ln):
    p = parse_approxmc(text)
    assert p is not None and p.kind == "approx"
    assert (p.ln_count == ln == -math.inf) or p.ln_count == pytest.approx(ln, rel=1e-12)


def test_approxmc_never_evals():
    assert parse_approxmc("c Number of solutions is: __import__('os')*2**3\n") is None
    assert parse_approxmc("s SATISFIABLE\n") is None


def test_d4_dsharp_f2_sts():
    assert parse_d4("c compiling\ns 1024\n").ln_count == pytest.approx(10 * LN2)
    assert parse_d4("s SATISFIABLE\nc s exact arb int 5\n").ln_count == pytest.approx(math.log(5))  # d4v2
    assert parse_dsharp("# of solutions:\t\t12\n#SAT (full):   \t16\n").ln_count == pytest.approx(math.log(16))
    assert parse_dsharp("# of solutions:\t\t12\n").ln_count == pytest.approx(math.log(12))
    assert parse_dsharp("nothing") is None
    assert parse_f2("F2: Lower bound is 2^10 (processor time: 1.0)").kind == "bound"
    assert parse_f2("F2: Z = 3 * 2^4 (x)").ln_count == pytest.approx(math.log(48))
    assert parse_f2("F2: Exact count (by SharpSAT) is 9").ln_count == pytest.approx(math.log(9))
    assert parse_f2("F2: UNSAT").ln_count == -math.inf
    assert parse_sts("Estimated log-z: 12.5\nEstimated Z: 2.6e5").ln_count == 12.5
