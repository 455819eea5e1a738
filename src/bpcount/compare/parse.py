"""Parsers for peer counters' stdout (peers.md §2, mcc-format.md §3).

Each parser returns a :class:`Parsed` (ln count, whether it is exact, approximate or a bound, and the
line it came from) or None when the output has **no answer line**: a missing line is never a count of
zero. Integers are parsed with ``int`` and logged with ``math.log`` (any size); nothing is ``eval``-ed.
Parsing is lenient about whitespace, case and the misspellings seen in the MCC examples.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

LN2 = math.log(2.0)
LN10 = math.log(10.0)


@dataclass(frozen=True)
class Parsed:
    ln_count: float  # natural log; -inf for count 0
    kind: str  # exact | approx | bound
    line: str  # the line that produced the number


#: digits kept when taking the log of a long decimal string (Python refuses int() of > 4300 digits)
_LEAD_DIGITS = 40


def _ln_int(text: str) -> float:
    """ln of a non-negative decimal integer string of any length (0 -> -inf)."""
    text = text.strip().lstrip("+")
    if not text.isdigit():
        raise ValueError(f"not a non-negative integer: {text[:40]!r}")
    text = text.lstrip("0") or "0"
    if len(text) <= _LEAD_DIGITS:
        n = int(text)
        return -math.inf if n == 0 else math.log(n)
    # ln N = ln(leading digits) + (remaining digit count)·ln 10; relative error < 1e-39
    return math.log(int(text[:_LEAD_DIGITS])) + (len(text) - _LEAD_DIGITS) * LN10


def _ln_float(text: str) -> float:
    x = float(text)
    if x < 0 or math.isnan(x):
        raise ValueError(f"invalid count {text}")
    return -math.inf if x == 0 else math.log(x)


def _ln_log10(text: str) -> float:
    return float(text) * LN10  # float("-inf") works


def _ln_frac(text: str) -> float:
    p, _, q = text.partition("/")
    num, den = int(p), int(q or "1")
    if num == 0:
        return -math.inf
    return math.log(num) - math.log(den)


_MCC_VALUE = re.compile(r"^\s*c\s+s\s+(exact|approx)\s+(\S+)\s+(\S+)\s+(\S+)", re.IGNORECASE)
_MCC_EST = re.compile(r"^\s*c\s+s\s+log10-estimate\s+(\S+)", re.IGNORECASE)
_S_LINE = re.compile(r"^\s*s\s+(\S+)", re.IGNORECASE)
_NOTATIONS: dict[str, Callable[[str], float]] = {
    "int": _ln_int, "log10": _ln_log10, "float": _ln_float, "prec-sci": _ln_float, "frac": _ln_frac,
}


def parse_mcc(text: str) -> Parsed | None:
    """MCC 2021+ output (Ganak, sharpSAT-TD, d4v2 competition mode)."""
    est = None
    unsat_line = None
    for line in text.splitlines():
        m = _MCC_VALUE.match(line)
        if m:
            solver, _prec, notation, value = m.groups()
            fn = _NOTATIONS.get(notation.lower())
            if fn is not None:
                try:
                    return Parsed(fn(value), solver.lower(), line.strip())
                except (ValueError, ZeroDivisionError):
                    pass
        m = _MCC_EST.match(line)
        if m and est is None:
            try:
                est = Parsed(float(m.group(1)) * LN10, "approx", line.strip())
            except ValueError:
                pass
        m = _S_LINE.match(line)
        if m and m.group(1).upper() == "UNSATISFIABLE":
            unsat_line = line.strip()
    if est is not None:
        return est
    if unsat_line is not None:
        return Parsed(-math.inf, "exact", unsat_line)
    return None


_AMC_SMC = re.compile(r"^\s*s\s+mc\s+(\d+)\s*$", re.IGNORECASE)
_AMC_CELLS = re.compile(r"Number of solutions is:\s*(\d+)\s*(?:\*\s*2\s*\*\*|x\s*2\s*\^)\s*(\d+)", re.IGNORECASE)


def parse_approxmc(text: str) -> Parsed | None:
    """ApproxMC 4+ (``s mc N``, ``Number of solutions is: a*2**b``) and ApproxMC 3 (``a x 2^b``)."""
    cells = None
    for line in text.splitlines():
        m = _AMC_SMC.match(line)
        if m:
            return Parsed(_ln_int(m.group(1)), "approx", line.strip())
        m = _AMC_CELLS.search(line)
        if m and cells is None:
            a, b = int(m.group(1)), int(m.group(2))
            cells = Parsed(-math.inf if a == 0 else math.log(a) + b * LN2, "approx", line.strip())
    if cells is not None:
        return cells
    for line in text.splitlines():
        m = _S_LINE.match(line)
        if m and m.group(1).upper() == "UNSATISFIABLE":
            return Parsed(-math.inf, "approx", line.strip())
    return None


_D4_S = re.compile(r"^\s*s\s+(\d+)\s*$")


def parse_d4(text: str) -> Parsed | None:
    """Old d4 (``s N``); falls back to MCC lines (d4v2)."""
    for line in text.splitlines():
        m = _D4_S.match(line)
        if m:
            return Parsed(_ln_int(m.group(1)), "exact", line.strip())
    return parse_mcc(text)


_DSHARP_FULL = re.compile(r"#SAT \(full\):\s*(\d+)")
_DSHARP = re.compile(r"# of solutions:\s*(\d+)")


def parse_dsharp(text: str) -> Parsed | None:
    """DSharp: ``#SAT (full):`` (GMP builds) preferred over ``# of solutions:``."""
    for pattern in (_DSHARP_FULL, _DSHARP):
        for line in text.splitlines():
            m = pattern.search(line)
            if m:
                return Parsed(_ln_int(m.group(1)), "exact", line.strip())
    return None


_F2_LB = re.compile(r"Lower bound is 2\^\s*(\d+)")
_F2_Z = re.compile(r"Z = (\d+)\s*\*\s*2\^\s*(\d+)")
_F2_EXACT = re.compile(r"Exact count .*? is (\d+)")


def parse_f2(text: str) -> Parsed | None:
    for line in text.splitlines():
        if m := _F2_EXACT.search(line):
            return Parsed(_ln_int(m.group(1)), "exact", line.strip())
        if m := _F2_Z.search(line):
            a, b = int(m.group(1)), int(m.group(2))
            return Parsed(-math.inf if a == 0 else math.log(a) + b * LN2, "approx", line.strip())
        if m := _F2_LB.search(line):
            return Parsed(int(m.group(1)) * LN2, "bound", line.strip())
        if "F2: UNSAT" in line:
            return Parsed(-math.inf, "exact", line.strip())
    return None


_STS = re.compile(r"Estimated log-z:\s*(\S+)")


def parse_sts(text: str) -> Parsed | None:
    for line in text.splitlines():
        if m := _STS.search(line):
            return Parsed(float(m.group(1)), "approx", line.strip())
    return None


PARSERS: dict[str, Callable[[str], Parsed | None]] = {
    "mcc": parse_mcc, "approxmc": parse_approxmc, "d4": parse_d4, "dsharp": parse_dsharp,
    "f2": parse_f2, "sts": parse_sts,
}


def parse_output(text: str, fmt: str) -> Parsed | None:
    """Dispatch on ``fmt`` (a key of :data:`PARSERS`)."""
    return PARSERS[fmt](text)
