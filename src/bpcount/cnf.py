"""CNF formulas and the DIMACS / MCC reader.

The reader is bpcount's own (python-sat's ignores the header's variable count, and free variables
double the count). It parses tokens, not lines: clauses may span lines or share one.

Accepted input (see docs in the README for the full policy):

* ``p cnf N M`` header; N is authoritative. A literal above N is an error. A repeated identical
  header is a warning, a conflicting one an error. Extra header fields (``p cnf 6 4 2``) are ignored.
* ``c ...`` comments anywhere, including ``c t mc`` before the header; ``c t <task>``,
  ``c p show v... 0`` (projection), ``c ind v... 0`` (legacy sampling set), ``c p weight l w 0``.
* More clauses than announced: a warning (an error with ``strict=True``); every clause is read.
* A SATLIB ``%`` line ends the formula.
* ``.gz``, ``.xz``, ``.bz2`` (detected by magic bytes) and ``-`` for stdin.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import math
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

#: literal/clause arrays use this integer type
INDEX_DTYPE = np.int64

TASKS = ("mc", "wmc", "pmc", "pwmc")


class DimacsError(ValueError):
    """A malformed input file. ``str(err)`` reads ``path:line: message``."""

    def __init__(self, path: str, lineno: int | None, message: str):
        self.path = path
        self.lineno = lineno
        self.message = message
        where = f"{path}:{lineno}" if lineno is not None else path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Formula:
    """A CNF formula as flat arrays.

    Attributes:
        num_vars: n from the ``p cnf n m`` header; variables are 1..n, those in no clause are free.
        lits: shape (E,), int64, every literal of every clause in file order (signed, non-zero).
        clause_ptr: shape (C+1,), int64, CSR offsets: clause a is ``lits[clause_ptr[a]:clause_ptr[a+1]]``.
        weights: shape (n, 2), float64, or None. ``weights[i-1] = (w(¬x_i), w(x_i))`` after the MCC
            defaulting rules (missing complement = 1 − w; both missing = 1, 1).
        show: projection variables from ``c p show`` (sorted tuple) or None.
        ind: legacy ``c ind`` sampling set (sorted tuple) or None.
        task: the ``c t`` task (mc, wmc, pmc, pwmc) or None.
        declared_clauses: m from the header.
        source: path or ``<stdin>``, for messages.
        warnings: non-fatal problems found while reading, as ``line N: message`` strings.
    """

    num_vars: int
    lits: np.ndarray
    clause_ptr: np.ndarray
    weights: np.ndarray | None = None
    show: tuple[int, ...] | None = None
    ind: tuple[int, ...] | None = None
    task: str | None = None
    declared_clauses: int | None = None
    source: str = "<memory>"
    warnings: tuple[str, ...] = field(default=())

    @property
    def num_clauses(self) -> int:
        return len(self.clause_ptr) - 1

    @property
    def weighted(self) -> bool:
        return self.weights is not None

    @property
    def projection(self) -> tuple[str, tuple[int, ...]] | None:
        """``("c p show", vars)`` or ``("c ind", vars)`` when the file carries a projection set."""
        if self.show is not None:
            return ("c p show", self.show)
        if self.ind is not None:
            return ("c ind", self.ind)
        return None

    def clauses(self) -> list[list[int]]:
        """The clauses as Python lists (for tests, SAT solvers and small formulas)."""
        return [self.lits[a:b].tolist() for a, b in zip(self.clause_ptr[:-1], self.clause_ptr[1:])]

    @classmethod
    def from_clauses(
        cls,
        clauses: list[list[int]] | list[tuple[int, ...]],
        num_vars: int | None = None,
        *,
        weights: np.ndarray | None = None,
        source: str = "<memory>",
    ) -> Formula:
        """Build a formula from a list of clauses; ``num_vars`` defaults to the largest variable."""
        lengths = np.array([len(c) for c in clauses], dtype=INDEX_DTYPE)
        ptr = np.zeros(len(clauses) + 1, dtype=INDEX_DTYPE)
        np.cumsum(lengths, out=ptr[1:])
        lits = (
            np.concatenate([np.asarray(c, dtype=INDEX_DTYPE) for c in clauses])
            if int(ptr[-1]) > 0
            else np.zeros(0, dtype=INDEX_DTYPE)
        )
        if np.any(lits == 0):
            raise ValueError("literal 0 inside a clause")
        top = int(np.abs(lits).max()) if len(lits) else 0
        n = top if num_vars is None else int(num_vars)
        if top > n:
            raise ValueError(f"literal {top} exceeds declared {n} variables")
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != (n, 2):
                raise ValueError(f"weights must have shape ({n}, 2), got {weights.shape}")
        return cls(
            num_vars=n,
            lits=lits,
            clause_ptr=ptr,
            weights=weights,
            declared_clauses=len(clauses),
            source=source,
        )

    def to_dimacs(self, *, projection: bool = True, weights: bool = True) -> str:
        """DIMACS text of this formula (header n is kept, so free variables survive a round trip).

        ``projection=False`` drops ``c p show`` / ``c ind`` lines (what external counters need to
        count the same, unprojected, number); ``weights=False`` drops weight lines.
        """
        out = []
        if weights and self.weights is not None:
            out.append("c t wmc")
        out.append(f"p cnf {self.num_vars} {self.num_clauses}")
        if projection and self.show is not None:
            out.append("c p show " + " ".join(map(str, self.show)) + " 0")
        if projection and self.ind is not None:
            out.append("c ind " + " ".join(map(str, self.ind)) + " 0")
        if weights and self.weights is not None:
            for v in range(1, self.num_vars + 1):
                w0, w1 = self.weights[v - 1]
                if not (w0 == 1.0 and w1 == 1.0):
                    out.append(f"c p weight {v} {float(w1)!r} 0")
                    out.append(f"c p weight {-v} {float(w0)!r} 0")
        text_lits = self.lits.astype(str)
        for a, b in zip(self.clause_ptr[:-1].tolist(), self.clause_ptr[1:].tolist()):
            out.append(" ".join(text_lits[a:b]) + (" 0" if b > a else "0"))
        return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------------
# Reading


def read_bytes(path: str | Path) -> bytes:
    """Raw bytes of ``path`` (``-`` = stdin), decompressed by magic bytes (gzip, xz, bzip2)."""
    if str(path) == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(path, "rb") as fh:
            data = fh.read()
    try:
        if data[:2] == b"\x1f\x8b":
            return gzip.decompress(data)
        if data[:6] == b"\xfd7zXZ\x00":
            return lzma.decompress(data)
        if data[:3] == b"BZh":
            return bz2.decompress(data)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise DimacsError(_display(path), None, f"cannot decompress: {exc}") from exc
    return data


def _display(path: str | Path) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


def read_dimacs(path: str | Path, *, strict: bool = False) -> Formula:
    """Read a DIMACS / MCC CNF file (plain or compressed; ``-`` is stdin)."""
    source = _display(path)
    try:
        data = read_bytes(path)
    except OSError as exc:
        raise DimacsError(source, None, f"cannot read: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return parse_dimacs(text, source=source, strict=strict)


def _parse_weight(token: str, source: str, lineno: int) -> float:
    try:
        value = float(Fraction(token)) if "/" in token else float(token)
    except (ValueError, ZeroDivisionError):
        raise DimacsError(source, lineno, f"expected a weight (decimal or p/q), got {token!r}") from None
    if not math.isfinite(value) or value < 0:
        raise DimacsError(source, lineno, f"weight {token} is not a finite non-negative number")
    return value


def _int_tokens(tokens: list[str], source: str, lineno: int, what: str) -> list[int]:
    out = []
    for tok in tokens:
        try:
            out.append(int(tok))
        except ValueError:
            raise DimacsError(source, lineno, f"expected an integer {what}, got {tok!r}") from None
    return out


def parse_dimacs(text: str, *, source: str = "<memory>", strict: bool = False) -> Formula:
    """Parse DIMACS text. See the module docstring for the accepted dialect."""
    header: tuple[int, int] | None = None
    header_line = 0
    task: str | None = None
    show: set[int] | None = None
    ind: set[int] | None = None
    raw_weights: dict[int, tuple[float, int]] = {}
    warnings: list[str] = []
    clause_lines: list[str] = []  # text of lines holding clause tokens
    clause_linenos: list[int] = []

    lines = text.splitlines()
    for lineno, line in enumerate(lines, start=1):
        s = line.strip()
        if not s:
            continue
        head = s[0]
        if head == "c":
            parts = s.split()
            if parts[0] != "c" or len(parts) < 2:
                continue  # e.g. "cc comment"
            kind = parts[1]
            if kind == "t" and len(parts) >= 3:
                if parts[2] not in TASKS:
                    raise DimacsError(source, lineno, f"unknown task {parts[2]!r}; expected one of {', '.join(TASKS)}")
                task = parts[2]
            elif kind == "p" and len(parts) >= 3 and parts[2] == "show":
                vals = _int_tokens(parts[3:], source, lineno, "in c p show")
                show = (show or set()) | {v for v in vals if v != 0}
            elif kind == "p" and len(parts) >= 3 and parts[2] == "weight":
                if len(parts) < 5:
                    raise DimacsError(source, lineno, "expected 'c p weight <literal> <weight> 0'")
                (lit,) = _int_tokens(parts[3:4], source, lineno, "literal")
                if lit == 0:
                    raise DimacsError(source, lineno, "weight for literal 0")
                if len(parts) > 5 and parts[5] != "0":
                    raise DimacsError(source, lineno, f"expected 0 after the weight, got {parts[5]!r}")
                w = _parse_weight(parts[4], source, lineno)
                if lit in raw_weights and raw_weights[lit][0] != w:
                    raise DimacsError(source, lineno, f"literal {lit} weighted twice (line {raw_weights[lit][1]})")
                raw_weights[lit] = (w, lineno)
            elif kind == "ind":
                vals = _int_tokens(parts[2:], source, lineno, "in c ind")
                ind = (ind or set()) | {v for v in vals if v != 0}
            continue
        if head == "%":
            break
        if head == "p":
            parts = s.split()
            if len(parts) < 4 or parts[0] != "p" or parts[1] != "cnf":
                raise DimacsError(source, lineno, f"expected 'p cnf <variables> <clauses>', got {s!r}")
            n, m = _int_tokens(parts[2:4], source, lineno, "in the header")
            if n < 0 or m < 0:
                raise DimacsError(source, lineno, "negative count in the header")
            if header is not None:
                if (n, m) != header:
                    raise DimacsError(
                        source, lineno, f"second header 'p cnf {n} {m}' conflicts with line {header_line}"
                    )
                warnings.append(f"line {lineno}: repeated header ignored")
                continue
            if clause_lines:
                raise DimacsError(source, lineno, "header after the first clause")
            header, header_line = (n, m), lineno
            continue
        if header is None:
            raise DimacsError(source, lineno, "expected the 'p cnf <variables> <clauses>' header before clauses")
        clause_lines.append(s)
        clause_linenos.append(lineno)

    if header is None:
        raise DimacsError(source, None, "missing 'p cnf <variables> <clauses>' header")
    n, m = header

    # Tokenise every clause line at once; locate an error by line only on failure.
    counts = np.fromiter((len(s.split()) for s in clause_lines), dtype=INDEX_DTYPE, count=len(clause_lines))
    joined = " ".join(clause_lines)
    try:
        tokens = np.array(joined.split(), dtype=INDEX_DTYPE) if joined else np.zeros(0, INDEX_DTYPE)
    except (ValueError, OverflowError):
        for s, lineno in zip(clause_lines, clause_linenos):
            for tok in s.split():
                try:
                    int(tok)
                except ValueError:
                    raise DimacsError(source, lineno, f"expected an integer literal, got {tok!r}") from None
        raise DimacsError(source, None, "literal out of the 64-bit range") from None
    line_of_token = np.repeat(np.asarray(clause_linenos, dtype=INDEX_DTYPE), counts)

    if len(tokens):
        too_big = np.abs(tokens) > n
        if too_big.any():
            k = int(np.argmax(too_big))
            raise DimacsError(
                source, int(line_of_token[k]), f"literal {int(tokens[k])} exceeds declared {n} variables"
            )
        if tokens[-1] != 0:
            raise DimacsError(source, int(line_of_token[-1]), "last clause is not terminated by 0")
    zeros = np.flatnonzero(tokens == 0)
    ptr = np.zeros(len(zeros) + 1, dtype=INDEX_DTYPE)
    ptr[1:] = zeros - np.arange(len(zeros)) if len(zeros) else zeros
    lits = tokens[tokens != 0]
    num_clauses = len(zeros)
    if num_clauses > m:
        msg = f"{num_clauses} clauses present but the header declares {m}"
        if strict:
            raise DimacsError(source, header_line, msg)
        warnings.append(f"line {header_line}: {msg}; every clause was read")
    elif num_clauses < m:
        warnings.append(f"line {header_line}: header declares {m} clauses, {num_clauses} present")

    for name, varset in (("c p show", show), ("c ind", ind)):
        if varset is not None:
            bad = [v for v in varset if abs(v) > n or v < 0]
            if bad:
                raise DimacsError(source, None, f"{name} lists variable {bad[0]} outside 1..{n}")

    weights = _weights_array(raw_weights, n, source, warnings) if raw_weights else None
    if task in ("wmc", "pwmc") and weights is None:
        weights = None  # weighted task with no weights: every weight is 1 (plain count)

    return Formula(
        num_vars=n,
        lits=lits,
        clause_ptr=ptr,
        weights=weights,
        show=tuple(sorted(show)) if show is not None else None,
        ind=tuple(sorted(ind)) if ind is not None else None,
        task=task,
        declared_clauses=m,
        source=source,
        warnings=tuple(warnings),
    )


def _weights_array(
    raw: dict[int, tuple[float, int]], n: int, source: str, warnings: list[str]
) -> np.ndarray:
    """(n, 2) array of (w(¬x), w(x)) under the MCC defaulting rules."""
    weights = np.ones((n, 2), dtype=np.float64)
    given = np.zeros((n, 2), dtype=bool)
    for lit, (w, lineno) in raw.items():
        v = abs(lit)
        if v > n:
            raise DimacsError(source, lineno, f"weight for literal {lit} exceeds declared {n} variables")
        col = 1 if lit > 0 else 0
        weights[v - 1, col] = w
        given[v - 1, col] = True
    only_one = given.sum(axis=1) == 1
    for v in np.flatnonzero(only_one):
        col = 1 if given[v, 1] else 0
        w = weights[v, col]
        if w > 1.0:
            warnings.append(f"variable {v + 1}: weight {w} > 1 with no complement weight; complement set to 0")
        weights[v, 1 - col] = max(0.0, 1.0 - w)
    both = given.all(axis=1)
    total = weights.sum(axis=1)
    odd = both & (total > 1.0 + 1e-9) & ~((weights[:, 0] == 1.0) & (weights[:, 1] == 1.0))
    if odd.any():
        v = int(np.flatnonzero(odd)[0]) + 1
        warnings.append(f"variable {v}: w(x) + w(¬x) = {total[v - 1]:g} > 1 (accepted)")
    return weights
