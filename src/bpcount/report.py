"""Output writers (text, MCC, JSON lines, CSV) and the exit-code decision.

Only payload goes to the ``out`` stream (stdout); diagnostics go to ``err`` (stderr). No engine
imports here. Exit codes:

* 0: every input produced an estimate;
* 1: some input produced no estimate (timeout, internal failure, strict non-convergence);
* 2: usage error (raised by click before anything runs);
* 3: some input could not be read or parsed (takes precedence over 1).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from bpcount import __version__
from bpcount.estimate import CountResult

FORMATS = ("text", "mcc", "jsonl", "csv")
EXIT_OK, EXIT_NO_ESTIMATE, EXIT_USAGE, EXIT_INPUT = 0, 1, 2, 3

CSV_FIELDS = (
    "file", "status", "method", "estimator", "ln_count", "log10_count", "ln_lower", "ln_upper", "exact", "satisfiable", "converged",
    "iterations", "residual", "type", "projection_ignored", "seconds", "n_vars", "n_clauses",
    "exact_vars", "warnings", "error",
)


def _g15(x: float) -> str:
    """A float with 15 significant digits, ``-inf``/``inf`` spelled out (MCC convention)."""
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    return f"{x:.15g}"


def mcc_block(r: CountResult, *, options_line: str = "") -> str:
    """The MCC-2021 stdout block of one result (mcc-format.md §3 and §6)."""
    lines = [f"c o bpcount {__version__} file={r.file} method={r.method}{options_line}"]
    kind = "wmc" if r.weighted else "mc"
    if r.status != "ok":
        lines += [f"c o error: {r.error}", "s UNKNOWN", f"c s type {kind}"]
        return "\n".join(lines) + "\n"
    conv = "" if r.converged is None else f" converged={int(r.converged)}"
    its = "" if r.iterations is None else f" iterations={r.iterations}"
    exact_vars = "" if r.exact_vars is None else f" exact-vars={r.exact_vars}/{r.n_vars}"
    lines.append(f"c o{its}{conv}{exact_vars} time={r.seconds:.6f}")
    if r.projection_ignored:
        lines.append(f"c o projection '{r.projection_ignored}' ignored: the unprojected count is reported")
    for w in r.warnings:
        lines.append(f"c o warning: {w}")
    if r.exact:
        lines.append("c o the whole count was decided exactly by preprocessing/enumeration")
    for summary in (_loopy_summary(r), _probe_summary(r)):
        if summary:
            lines.append(f"c o {summary}")
    ln = r.ln_count
    lines.append(f"c o ln-estimate {_g15(ln)}")
    lo, hi = r.bounds
    if not r.exact and lo is not None and hi is not None:
        lines.append(f"c o ln-bounds {_g15(lo)} {_g15(hi)} (proven)")
    status = {True: "SATISFIABLE", False: "UNSATISFIABLE", None: "UNKNOWN"}[r.satisfiable]
    lines.append(f"s {status}")
    lines.append(f"c s type {kind}")
    log10 = ln / math.log(10.0)
    lines.append(f"c s log10-estimate {_g15(log10)}")
    solver = "exact" if r.exact else "approx"
    lines.append(f"c s {solver} double log10 {_g15(log10)}")
    return "\n".join(lines) + "\n"


def _loopy_summary(r: CountResult) -> str | None:
    """Neighbourhood statistics of a ``--method loopy`` result, or None."""
    st = r.stats
    if "region_vars_mean" not in st:
        return None
    return (f"radius {st.get('radius')}, {st.get('estimator')}: neighbourhoods mean {st['region_vars_mean']:.1f} / "
            f"max {st.get('region_vars_max')} variables, {st.get('capped_regions', 0)} capped, "
            f"local sums {st.get('local_sums_exact', 0)} exact / {st.get('local_sums_sampled', 0)} sampled")


def _probe_summary(r: CountResult) -> str | None:
    """How search probes answered an estimated result (bpcount.probe), or None."""
    info = r.stats.get("probe") or {}
    if r.exact or not info.get("used"):
        return None
    se = info.get("rel_se")
    spread = "" if se is None else f", relative standard error {se:.3g}"
    if info.get("overruled"):
        return (f"estimated by {info['probes']} search probes{spread} (they overruled the {r.method} engine's "
                f"{info['overruled']['ln_count']:.6g})")
    return f"estimated by {info['probes']} search probes{spread} (the {r.method} engine did not run)"


def text_line(r: CountResult) -> str:
    """One human-readable line per result."""
    if r.status != "ok":
        return f"{r.file}: {r.status.upper()} {r.error}\n"
    if r.ln_count == -math.inf:
        return f"{r.file}: UNSATISFIABLE (count 0, proven)\n"
    ln = r.ln_count
    probed = _probe_summary(r)
    how = "exact" if r.exact else (
        "search probes" if probed else
        f"converged in {r.iterations} it" if r.converged else f"NOT converged after {r.iterations} it"
    )
    log10 = ln / math.log(10.0)
    approx = f"{10 ** (log10 - math.floor(log10)):.4f}e{math.floor(log10):+d}"
    proj = f", projection {r.projection_ignored!r} ignored" if r.projection_ignored else ""
    if not r.exact and r.exact_vars:
        proj += f", {r.exact_vars}/{r.n_vars} variables exact"
    for summary in (_loopy_summary(r), probed):
        if summary:
            proj += f"; {summary}"
    lo, hi = r.bounds
    if not r.exact and lo is not None and hi is not None:
        proj += f"; proven ln bounds [{lo:.6g}, {hi:.6g}]"
    return (f"{r.file}: ln count {ln:.6f}  log10 {log10:.6f}  (≈ {approx}; {r.method}, {how}, "
            f"{r.seconds:.3f} s{proj})\n")


@dataclass
class Report:
    """Writes results as they arrive and decides the exit code."""

    fmt: str
    out: TextIO
    err: TextIO
    options_line: str = ""
    verbose: int = 0
    _csv: csv.DictWriter | None = None
    n_ok: int = 0
    n_input_errors: int = 0
    n_no_estimate: int = 0

    def __post_init__(self):
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown format {self.fmt!r}")
        if self.fmt == "csv":
            self._csv = csv.DictWriter(self.out, fieldnames=CSV_FIELDS, extrasaction="ignore",
                                       lineterminator="\n")
            self._csv.writeheader()

    def add(self, r: CountResult) -> None:
        if r.status == "ok":
            self.n_ok += 1
        elif r.error_kind == "input":
            self.n_input_errors += 1
        else:
            self.n_no_estimate += 1
        if r.status != "ok" and self.fmt != "text":
            self.err.write(f"bpcount: error: {r.error}\n")
        if self.verbose > 0 or r.status == "ok":
            for w in r.warnings:
                self.err.write(f"bpcount: warning: {r.file}: {w}\n")
        if self.fmt == "text":
            (self.out if r.status == "ok" else self.err).write(text_line(r))
        elif self.fmt == "mcc":
            self.out.write(mcc_block(r, options_line=self.options_line))
        elif self.fmt == "jsonl":
            self.out.write(json.dumps(r.to_record(), allow_nan=False) + "\n")
        else:
            rec = r.to_record()
            rec["warnings"] = "; ".join(rec["warnings"])
            self._csv.writerow(rec)
        self.out.flush()

    def add_all(self, results: Iterable[CountResult]) -> None:
        for r in results:
            self.add(r)

    @property
    def exit_code(self) -> int:
        if self.n_input_errors:
            return EXIT_INPUT
        if self.n_no_estimate:
            return EXIT_NO_ESTIMATE
        return EXIT_OK
