"""SAT work model: fit bpcount.sat.SatWorkModel on this machine and check it against the current one.

The SAT check and the model enumeration charge their budgets as reference-machine seconds
(``SatWorkModel``: per propagation, per conflict, per literal of a model read back and blocked). This
script runs the pipeline's SAT stages (``enumerate_models`` on each formula's simplified residual,
1024 models, with a large budget so the run is not cut short) on the bench formulas of ``--splits``
and on hard random 3-CNFs at the threshold (conflict-heavy SAT checks the bench formulas lack),
records each run's counts and wall time, fits the coefficients by non-negative least squares on the
relative error, and reports wall time / charge under the current and the fitted model, and how many
enumerations each would finish within the default budgets.

    python benchmarks/sat_work.py --labels ../shared/bench/labels.csv --out benchmarks/results/sat_work.md
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

from bpcount.cnf import Formula, read_dimacs
from bpcount.sat import (
    DEFAULT_ENUM_BUDGET,
    DEFAULT_ENUM_MODELS,
    DEFAULT_SAT_BUDGET,
    DEFAULT_SAT_WORK_MODEL,
    SatWorkModel,
    enumerate_models,
    sat_work,
)
from bpcount.simplify import simplify

#: SatWorkModel field → the count it multiplies.
COUNT_OF = {"propagation": "propagations", "conflict": "conflicts", "model_literal": "model_literals"}


def random_3cnf(n: int, ratio: float, seed: int) -> Formula:
    """A uniform random 3-CNF with n variables and round(ratio·n) clauses."""
    rng = np.random.default_rng(seed)
    m = int(round(ratio * n))
    var = np.stack([rng.choice(n, 3, replace=False) for _ in range(m)]) + 1
    sign = rng.choice([-1, 1], size=(m, 3))
    return Formula.from_clauses((var * sign).tolist(), n)


def profile(formulas: list[tuple[str, Formula]], budget: float) -> list[dict]:
    """Per formula with a residual: its name, the enumeration's counts, work and wall seconds."""
    out = []
    for name, f in formulas:
        s = simplify(f)
        r = s.residual
        if r is None or s.unsat:
            continue
        e = enumerate_models(r.num_vars, r.lits, r.clause_ptr, r.log_phi, max_models=DEFAULT_ENUM_MODELS,
                             sat_budget=budget, enum_budget=budget, wall_factor=math.inf)
        out.append({"name": name, "counts": e.counts, "seconds": e.seconds, "models": e.models,
                    "exact": e.ln_count is not None})
    return out


def fit(rows: list[dict]) -> SatWorkModel:
    """NNLS on Σ ((charge − seconds) / seconds)²; a count no run has keeps the current value."""
    names = [f.name for f in dataclasses.fields(SatWorkModel)]
    return cal.fit_relative(DEFAULT_SAT_WORK_MODEL, [[x["counts"][COUNT_OF[n]] for n in names] for x in rows],
                        [x["seconds"] for x in rows])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cal.add_formula_args(ap)
    ap.add_argument("--random", type=int, default=12, help="hard random 3-CNFs (n = 200…420, ratio 4.26)")
    ap.add_argument("--budget", type=float, default=60.0, help="work budget of each profiled run (s)")
    ap.add_argument("--min-seconds", type=float, default=0.01, help="fit and ratios over runs longer than this")
    ap.add_argument("--out", type=Path, default=None, help="markdown report (default: stdout)")
    opts = ap.parse_args(argv)

    formulas = [(p.name, read_dimacs(p)) for p, _ in cal.selected_formulas(ap, opts)]
    formulas += [(f"random3-{200 + 20 * i}", random_3cnf(200 + 20 * i, 4.26, i)) for i in range(opts.random)]
    t0 = time.perf_counter()
    runs = profile(formulas, opts.budget)
    fit_rows = [x for x in runs if x["seconds"] > opts.min_seconds]
    fitted = fit(fit_rows)

    def ratios(model: SatWorkModel) -> str:
        r = np.array([x["seconds"] / sat_work(model, **x["counts"]) for x in fit_rows])
        return cal.ratio_cells(r, with_min=True)

    def within(model: SatWorkModel) -> int:  # runs whose whole work fits both default budgets
        return sum(x["exact"] and sat_work(model, **x["counts"]) <= DEFAULT_SAT_BUDGET + DEFAULT_ENUM_BUDGET
                   for x in runs)

    lines = cal.report_head("SAT work model: fitted on this machine against the current constants", "sat_work.py", argv)
    lines += [
        f"{len(formulas)} formulas ({opts.random} random 3-CNFs), {len(runs)} with a residual; "
        f"{sum(x['exact'] for x in runs)} enumerations finished (≤ {DEFAULT_ENUM_MODELS} models); "
        f"{time.perf_counter() - t0:.0f} s in all.",
        "",
        *cal.coefficient_table(DEFAULT_SAT_WORK_MODEL, fitted),
    ]
    lines += [
        "",
        f"Wall time / charge over the {len(fit_rows)} runs longer than {opts.min_seconds:g} s (the fit used them); "
        f"'finished within the defaults': enumerations that finished and whose whole charge fits "
        f"{DEFAULT_SAT_BUDGET:g} + {DEFAULT_ENUM_BUDGET:g} s:",
        "",
        "| model | finished within the defaults | wall/charge p10 | median | p90 | min | max |",
        "|---|---|---|---|---|---|---|",
        f"| current | {within(DEFAULT_SAT_WORK_MODEL)} of {len(runs)} | {ratios(DEFAULT_SAT_WORK_MODEL)} |",
        f"| fitted | {within(fitted)} of {len(runs)} | {ratios(fitted)} |",
        "",
        "Longest runs (seconds, counts):",
        "",
        "| formula | seconds | propagations | conflicts | model literals | models |",
        "|---|---|---|---|---|---|",
    ]
    for x in sorted(runs, key=lambda x: -x["seconds"])[:10]:
        c = x["counts"]
        lines.append(f"| {x['name']} | {x['seconds']:.3f} | {c['propagations']} | {c['conflicts']} | "
                     f"{c['model_literals']} | {x['models']} |")
    cal.write_report(lines, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
