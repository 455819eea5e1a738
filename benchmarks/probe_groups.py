"""Exactly-one groups in the search probes: the probes' answer with ``prefer_groups`` on (the
library's default) and off, formula by formula, seed by seed.

For each labelled formula whose simplified residual holds an exactly-one group
(``bpcount.onehot``) and that the exact stages leave undecided (``probe_work.left_for_probes``),
the probes run as the pipeline runs them (2 s of work, extended up to 8 s while the relative
standard error of their mean is above 0.2) with groups on and off, for each seed. Reported: RMSE of
ln count of the probes' mean against the label per family (runs with at least ``--min-probes``
probes in both settings), the largest |error|, and the mean work spent. Residuals without a group
are not probed: their probes differ only by the one node charged for looking for groups.

    python benchmarks/probe_groups.py --labels ../shared/bench/labels.csv --splits train,val \\
        --extra-labels runs/oh/*/labels.csv --seeds 0,1,2 --out benchmarks/results/probe_groups.md

``--extra-labels`` takes label files written by ``bpcount generate … --label`` or ``bpcount label``
(rows with status ``ok``; the family is the folder's name), e.g. colourings:

    bpcount generate coloring --out runs/oh/c20_4_5 -n 8 --seed 7 -p nodes=20 -p degree=4 -p colors=5 \\
        --label --timeout 20
    (likewise c16_5_6: nodes=16 degree=5 colors=6; c14_6_7: nodes=14 degree=6 colors=7)
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import calibration as cal
import numpy as np
from probe_work import left_for_probes

from bpcount.cnf import read_dimacs
from bpcount.onehot import exactly_one_groups
from bpcount.probe import (
    DEFAULT_PROBE_BUDGET,
    DEFAULT_PROBE_MAX_BUDGET,
    DEFAULT_PROBE_TARGET_RSE,
    probe_log_count,
)
from bpcount.simplify import simplify


def labelled(opts: argparse.Namespace, ap: argparse.ArgumentParser) -> list[tuple[Path, float, str]]:
    """(path, ln count, family) of the bench rows (``--labels``/``--splits``/``--files``: labelled
    ones only) and of every ``ok`` row of the ``--extra-labels`` files, each path once."""
    rows = []
    if opts.labels is not None or opts.files:
        rows += [(p, y, p.parent.name) for p, y in cal.selected_formulas(ap, opts) if y is not None]
    for lab in opts.extra_labels:
        with open(lab, newline="") as fh:
            rows += [(lab.parent / r["file"], float(r["ln_count"]), lab.parent.name)
                     for r in csv.DictReader(fh) if r.get("status", "ok") == "ok" and r.get("ln_count")]
    if not rows:
        ap.error("no labelled formulas: give --labels (with ../shared/bench), --files or --extra-labels")
    first: dict[Path, tuple[Path, float, str]] = {}  # labels.csv lists a few files twice: probe each once
    for row in rows:
        first.setdefault(row[0], row)
    return list(first.values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    cal.add_formula_args(ap)
    ap.set_defaults(splits="train,val")
    ap.add_argument("--extra-labels", type=Path, nargs="*", default=[], help="label CSVs of generated formulas")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated probe seeds")
    ap.add_argument("--min-probes", type=int, default=4, help="runs scored: at least this many probes in both")
    ap.add_argument("--out", type=Path, default=None, help="markdown report (default: stdout)")
    opts = ap.parse_args(argv)
    seeds = [int(s) for s in opts.seeds.split(",")]

    t0 = time.perf_counter()
    picked = labelled(opts, ap)
    runs = []  # (family, name, seed, {groups: (error, probes, work)})
    without = decided = 0
    for path, truth, family in picked:
        r = simplify(read_dimacs(path)).residual
        if r is None or not exactly_one_groups(r.num_vars, r.lits, r.clause_ptr).any:
            without += 1
            continue
        r = left_for_probes(path)
        if r is None:
            decided += 1
            continue
        for seed in seeds:
            out = {}
            for groups in (False, True):
                res = probe_log_count(r.num_vars, r.lits, r.clause_ptr, r.log_phi, budget=DEFAULT_PROBE_BUDGET,
                                      max_budget=DEFAULT_PROBE_MAX_BUDGET, target_rse=DEFAULT_PROBE_TARGET_RSE,
                                      min_probes=1, seed=seed, prefer_groups=groups)
                err = (r.ln_offset + res.ln_count - truth) if res.ln_count is not None else math.nan
                out[groups] = (err, res.probes, res.work)
            runs.append((family, path.name, seed, out))
            print(f"{family}/{path.name} seed {seed}: off {out[False][0]:+.3f} ({out[False][1]} probes), "
                  f"on {out[True][0]:+.3f} ({out[True][1]})", file=sys.stderr)

    lines = cal.report_head("Exactly-one groups in the search probes", "probe_groups.py", argv)
    lines += [f"{len(picked)} labelled formulas: {without} without a group in their residual (not probed), "
              f"{decided} decided by the exact stages, {len(runs) // max(1, len(seeds))} probed; seeds "
              f"{opts.seeds}; {time.perf_counter() - t0:.0f} s in all. The probes run as the pipeline's "
              f"({DEFAULT_PROBE_BUDGET:g} s of work, extended up to {DEFAULT_PROBE_MAX_BUDGET:g} s while the "
              f"relative standard error is above {DEFAULT_PROBE_TARGET_RSE:g}); error = ln of their mean − "
              f"ln count; runs scored where both settings finished at least {opts.min_probes} probes.", "",
              "| family | formulas | runs | RMSE off | RMSE on | max abs off | max abs on | mean work off (s) "
              "| mean work on (s) |", "|---|---|---|---|---|---|---|---|---|"]
    by_family = defaultdict(list)
    for run in runs:
        if min(run[3][False][1], run[3][True][1]) >= opts.min_probes:
            by_family[run[0]].append(run)
    for family, rs in sorted(by_family.items()) + [("**all**", [r for x in by_family.values() for r in x])]:
        off = [r[3][False][0] for r in rs]
        on = [r[3][True][0] for r in rs]
        lines.append(f"| {family} | {len({r[1] for r in rs})} | {len(rs)} | {cal.rmse(off):.3g} | {cal.rmse(on):.3g} | "
                     f"{max(map(abs, off), default=math.nan):.3g} | {max(map(abs, on), default=math.nan):.3g} | "
                     f"{np.mean([r[3][False][2] for r in rs]):.2f} | {np.mean([r[3][True][2] for r in rs]):.2f} |")
    lines += ["", "Every run (error off → on, probes off → on):", "", "| formula | seed | off | on |",
              "|---|---|---|---|"]
    lines += [f"| {f}/{n} | {s} | {o[False][0]:+.3f} ({o[False][1]}) | {o[True][0]:+.3f} ({o[True][1]}) |"
              for f, n, s, o in runs]
    cal.write_report(lines, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
