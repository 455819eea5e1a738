"""What the benchmark scripts share: the ``--labels/--splits/--files/--limit`` arguments, the list of
formulas they pick, the RMSE of errors, the fit of a work model's coefficients (search_work.py,
bound_work.py, sat_work.py, probe_work.py), and the markdown report (its head, the coefficient table,
wall/charge ratio cells)."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import platform
import sys
from pathlib import Path

import numpy as np


def add_formula_args(ap: argparse.ArgumentParser) -> None:
    """Add ``--labels``, ``--splits``, ``--files`` and ``--limit`` to ``ap``."""
    ap.add_argument("--labels", type=Path, help="labels.csv of ../shared/bench (formulas chosen by --splits)")
    ap.add_argument("--splits", default="train,unlabeled", help="comma-separated splits of --labels")
    ap.add_argument("--files", type=Path, nargs="*", default=[], help="formulas (instead of, or beside, --labels)")
    ap.add_argument("--limit", type=int, default=None, help="at most this many formulas")


def selected_formulas(ap: argparse.ArgumentParser, opts: argparse.Namespace) -> list[tuple[Path, float | None]]:
    """(path, exact ln count or None) of the formulas the arguments pick: ``--files`` (no label),
    then the ``--labels`` rows of ``--splits``, at most ``--limit``; a usage error when none."""
    rows: list[tuple[Path, float | None]] = [(p, None) for p in opts.files]
    if opts.labels is not None:
        splits = set(opts.splits.split(","))
        with open(opts.labels, newline="") as fh:
            rows += [(opts.labels.parent / r["file"], float(r["ln_count"]) if r.get("ln_count") else None)
                     for r in csv.DictReader(fh) if r.get("split") in splits]
    if opts.limit is not None:
        rows = rows[:opts.limit]
    if not rows:
        ap.error("no formulas: give --labels (with ../shared/bench) or --files")
    return rows


def rmse(errors: list[float]) -> float:
    """Root mean square of ``errors`` (nats), NaN when there are none."""
    return float(np.sqrt(np.mean(np.square(errors)))) if len(errors) else float("nan")


def write_report(lines: list[str], out: Path | None) -> None:
    """The report's lines to ``out``, or to stdout when None."""
    text = "\n".join(lines) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)


def ratio_cells(ratios: np.ndarray, *, with_min: bool = False) -> str:
    """Table cells "p10 | median | p90 | [min |] max" of wall time / charge ratios (— when none)."""
    if not len(ratios):
        return " | ".join(["—"] * (5 if with_min else 4))
    p10, med, p90 = np.percentile(ratios, [10, 50, 90])
    low = f" | {ratios.min():.2f}" if with_min else ""
    return f"{p10:.2f} | {med:.2f} | {p90:.2f}{low} | {ratios.max():.2f}"


def fit_relative(base, sizes: list[list[float]], seconds: list[float]):
    """The work model ``base`` (a frozen dataclass of per-unit costs) with coefficients that make each
    run's charge (``sizes`` row · coefficients, one column per field in field order) match its wall
    time: non-negative least squares on the relative error, Σ ((charge − seconds) / seconds)², so
    every run counts alike. A field whose column is all zero keeps ``base``'s value."""
    from scipy.optimize import nnls

    names = np.array([f.name for f in dataclasses.fields(base)])
    a = np.asarray(sizes, dtype=np.float64)
    t = np.asarray(seconds, dtype=np.float64)
    used = a.any(axis=0)
    coef, _ = nnls(a[:, used] / t[:, None], np.ones(len(t)))
    return dataclasses.replace(base, **{n: float(c) for n, c in zip(names[used], coef)})


def report_head(title: str, script: str, argv: list[str] | None) -> list[str]:
    """The report's first lines: its title, then version, platform and the command that made it."""
    from bpcount import __version__

    args = " ".join(argv if argv is not None else sys.argv[1:])
    return [f"# {title}", "",
            f"bpcount {__version__}; Python {platform.python_version()}; {platform.machine()}. "
            f"Command: `python benchmarks/{script} {args}`"]


def coefficient_table(current, fitted) -> list[str]:
    """Markdown rows: each field of the work model, its current and its fitted value."""
    rows = [f"| field | current ({type(current).__name__}) | fitted here |", "|---|---|---|"]
    return rows + [f"| {f.name} | {getattr(current, f.name):.3g} | {getattr(fitted, f.name):.3g} |"
                   for f in dataclasses.fields(current)]
