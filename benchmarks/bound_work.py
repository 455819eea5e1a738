"""Calibrate the mini-bucket bound's work model (``bpcount.bounds.BoundWorkModel``) on this machine.

``--bound-budget`` is charged work, like ``--search-budget``: the elimination adds up counts of what
it did (variables eliminated, factor scopes read, factor/mini-bucket placements, table entries) and
``bound_work`` turns them into reference-machine seconds. This script

1. *profiles*: runs the bound on every residual the simplifier leaves (no budget, a wall-clock cap
   ``--wall``) and fits the model's four coefficients by non-negative least squares on the relative
   error of the whole run's charge against its wall time (:func:`fit_bound_model`);
2. *checks*: wall time / charge under the current and the fitted constants, and how many residuals
   get their bound within the default budget under each; with labels, how far above ln Z the bound
   is, next to the trivial bound (every assignment a model);
3. runs the pipeline's ladder (``bounds.upper_bound``: i-bounds 12 then 16 within the default
   budget) on every residual: how many get a bound, from which i-bound, and how far above ln Z.

    python benchmarks/bound_work.py --labels ../shared/bench/labels.csv --splits train,unlabeled \\
        --out benchmarks/results/bound_work.md
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import calibration as cal
import numpy as np

from bpcount.bounds import (
    BOUND_WORK,
    DEFAULT_BOUND_BUDGET,
    DEFAULT_I_BOUND,
    DEFAULT_I_BOUNDS,
    BoundWorkModel,
    bound_work,
    minibucket_upper_bound,
    upper_bound,
)
from bpcount.cnf import read_dimacs
from bpcount.estimate import feasible_range
from bpcount.simplify import simplify


def fit_bound_model(counts: list[dict[str, int]], seconds: list[float],
                    base: BoundWorkModel = BOUND_WORK) -> BoundWorkModel:
    """Coefficients that make each run's charge match its wall time: NNLS on the relative error
    Σ ((charge − seconds) / seconds)²; a count no run has keeps ``base``'s value."""
    key = {"step": "steps", "scan": "scanned", "pair": "pairs", "entry": "entries"}
    names = [f.name for f in dataclasses.fields(BoundWorkModel)]
    return cal.fit_relative(base, [[c[key[n]] for n in names] for c in counts], seconds)


def profile(rows: list[tuple[Path, float | None]], wall: float) -> list[dict]:
    """Per formula with a residual: name, label, ln_offset, trivial bound, the run's bound, seconds, counts."""
    out = []
    for path, label in rows:
        s = simplify(read_dimacs(path))
        r = s.residual
        if r is None or s.unsat:
            continue
        ub = minibucket_upper_bound(r.num_vars, r.lits, r.clause_ptr, r.log_phi, i_bound=DEFAULT_I_BOUND,
                                    wall_limit=wall)
        trivial = feasible_range(r)[1]
        ladder = upper_bound(r.num_vars, r.lits, r.clause_ptr, r.log_phi, budget=DEFAULT_BOUND_BUDGET)
        out.append({"name": path.name, "label": label, "trivial": trivial, "seconds": ub.seconds,
                    "upper": None if ub.ln_upper is None else r.ln_offset + ub.ln_upper, "counts": ub.counts,
                    "ladder": None if ladder.ln_upper is None else r.ln_offset + ladder.ln_upper,
                    "ladder_i": ladder.i_bound, "ladder_seconds": ladder.seconds})
    return out


def ratios(rows: list[dict], model: BoundWorkModel, min_seconds: float) -> str:
    r = np.array([x["seconds"] / bound_work(model, **x["counts"]) for x in rows if x["seconds"] > min_seconds])
    return cal.ratio_cells(r, with_min=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cal.add_formula_args(ap)
    ap.add_argument("--wall", type=float, default=10.0, help="wall-clock cap per run of the profile (s)")
    ap.add_argument("--min-seconds", type=float, default=0.005, help="fit and ratios over runs longer than this")
    ap.add_argument("--out", type=Path, default=None, help="markdown report (default: stdout)")
    opts = ap.parse_args(argv)

    rows = cal.selected_formulas(ap, opts)

    t0 = time.perf_counter()
    runs = profile(rows, opts.wall)
    done = [x for x in runs if x["upper"] is not None]
    fit_rows = [x for x in done if x["seconds"] > opts.min_seconds]
    fitted = fit_bound_model([x["counts"] for x in fit_rows], [x["seconds"] for x in fit_rows])

    def within(model: BoundWorkModel) -> int:
        return sum(bound_work(model, **x["counts"]) <= DEFAULT_BOUND_BUDGET for x in done)

    labelled = [x for x in done if x["label"] is not None and math.isfinite(x["label"])]
    gaps = np.array([x["upper"] - x["label"] for x in labelled])
    trivial_gaps = np.array([x["trivial"] - x["label"] for x in labelled])
    lines = cal.report_head("Mini-bucket bound work model: fitted on this machine against the current constants",
                        "bound_work.py", argv)
    lines += [
        f"{len(rows)} formulas, {len(runs)} with a residual; i-bound {DEFAULT_I_BOUND}; {len(done)} bounds "
        f"finished within the {opts.wall:g} s cap; {time.perf_counter() - t0:.0f} s in all.",
        "",
        *cal.coefficient_table(BOUND_WORK, fitted),
    ]
    lines += [
        "",
        f"Wall time / charge over the {len(fit_rows)} runs longer than {opts.min_seconds:g} s (the fit used them):",
        "",
        "| model | bounds within the default budget | wall/charge p10 | median | p90 | min | max |",
        "|---|---|---|---|---|---|---|",
        f"| current | {within(BOUND_WORK)} of {len(runs)} | {ratios(fit_rows, BOUND_WORK, opts.min_seconds)} |",
        f"| fitted | {within(fitted)} of {len(runs)} | {ratios(fit_rows, fitted, opts.min_seconds)} |",
    ]
    if len(gaps):
        lines += [
            "",
            f"Labelled residuals with a bound ({len(gaps)}): bound − ln Z median {np.median(gaps):.1f} nats "
            f"(p90 {np.percentile(gaps, 90):.1f}); trivial bound − ln Z median {np.median(trivial_gaps):.1f} "
            f"(p90 {np.percentile(trivial_gaps, 90):.1f}); violations (bound below ln Z − 1e-6): "
            f"{int((gaps < -1e-6).sum())}.",
        ]
    laddered = [x for x in runs if x["ladder"] is not None]
    lgaps = np.array([x["ladder"] - x["label"] for x in laddered if x["label"] is not None and math.isfinite(x["label"])])
    lines += [
        "",
        f"The pipeline's ladder (i-bounds {', '.join(map(str, DEFAULT_I_BOUNDS))} within "
        f"{DEFAULT_BOUND_BUDGET:g} s of work): a bound for {len(laddered)} of {len(runs)} residuals "
        f"({sum(x['ladder_i'] == DEFAULT_I_BOUNDS[-1] for x in laddered)} from i-bound {DEFAULT_I_BOUNDS[-1]}), "
        f"{sum(x['ladder_seconds'] for x in runs):.1f} s of wall time in all"
        + (f"; over the {len(lgaps)} labelled: bound − ln Z median {np.median(lgaps):.1f} nats "
           f"(p90 {np.percentile(lgaps, 90):.1f}), violations {int((lgaps < -1e-6).sum())}." if len(lgaps) else "."),
    ]
    cal.write_report(lines, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
