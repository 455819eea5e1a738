"""Probe budget: how the search probes' answer, and the count's, depend on the probe budget and on the
fewest finished probes the pipeline accepts (``min_probes``).

For each formula given that the exact stages leave undecided (``probe_work.left_for_probes``) this
script runs the probes once per seed at the largest of ``--budgets`` with no minimum, and reads the
answer every smaller budget would give from the work charged when each probe ended
(``ProbeResult.sample_work``: the probes are sequential, so a smaller budget with the same seed
finishes exactly the probes that ended within it). It also counts the formula with the probes off
(``--probe-budget 0``: the engine's answer, clamped into the proven bounds as the pipeline does).
For each budget b and each minimum m the policy "the probes' answer when at least m finished
within b, else the engine's" is scored (RMSE of ln count against the labels), next to the engine
alone.

    python benchmarks/probe_budget.py --labels ../shared/bench/labels.csv --splits train,val \\
        --budgets 1,2,4,8 --min-probes 1,2,4 --out benchmarks/results/probe_budget.md

``--raw FILE`` keeps each formula's probe samples and their work (JSON lines), for other policies.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import calibration as cal
import numpy as np
from probe_work import left_for_probes

from bpcount.estimate import CountOptions, count
from bpcount.probe import probe_log_count


def probe_answer(samples: list[float], work: list[float], budget: float, min_probes: int) -> float | None:
    """ln of the mean of the probes (nats) that ended within ``budget`` of work, None when fewer than
    ``min_probes`` did."""
    kept = [s for s, w in zip(samples, work) if w <= budget]
    if len(kept) < min_probes or not kept:
        return None
    return float(np.logaddexp.reduce(kept) - math.log(len(kept)))


def rmse(errors: list[float]) -> float:
    return float(np.sqrt(np.mean(np.square(errors)))) if errors else math.nan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cal.add_formula_args(ap)
    ap.set_defaults(splits="train,val")
    ap.add_argument("--budgets", default="1,2,4,8", help="comma-separated probe budgets (s of work)")
    ap.add_argument("--min-probes", default="1,2,4", help="comma-separated minimum finished probes")
    ap.add_argument("--seeds", default="0", help="comma-separated probe seeds")
    ap.add_argument("--method", default="bpnn", help="the engine's method (bpnn, bp)")
    ap.add_argument("--raw", type=Path, default=None, help="JSON lines: each formula's samples and their work")
    ap.add_argument("--out", type=Path, default=None, help="markdown report (default: stdout)")
    opts = ap.parse_args(argv)
    budgets = [float(b) for b in opts.budgets.split(",")]
    mins = [int(m) for m in opts.min_probes.split(",")]
    seeds = [int(s) for s in opts.seeds.split(",")]

    t0 = time.perf_counter()
    picked = [(p, y) for p, y in cal.selected_formulas(ap, opts) if y is not None]
    rows = []
    for path, truth in picked:
        r = left_for_probes(path)
        if r is None:
            continue
        (engine,) = count([path], options=CountOptions(method=opts.method, probe_budget=0.0))
        row = {"name": path.name, "vars": r.num_vars, "truth": truth, "engine": engine.ln_count, "runs": []}
        for seed in seeds:
            res = probe_log_count(r.num_vars, r.lits, r.clause_ptr, r.log_phi, budget=max(budgets), seed=seed,
                                  min_probes=1)
            row["runs"].append({"seed": seed, "samples": [r.ln_offset + s for s in res.ln_samples],
                                "work": list(res.sample_work), "random_choices": res.random_choices})
        rows.append(row)
        print(f"{path.name}: {r.num_vars} vars, engine {engine.ln_count - truth:+.3g}, probes "
              f"{[len(x['samples']) for x in row['runs']]}", file=sys.stderr)
    if opts.raw is not None:
        opts.raw.write_text("".join(json.dumps(x) + "\n" for x in rows))

    lines = cal.report_head("Probe budget and the fewest probes accepted", "probe_budget.py", argv)
    lines += [f"{len(picked)} labelled formulas, {len(rows)} left undecided by the exact stages; seeds "
              f"{opts.seeds}; {time.perf_counter() - t0:.0f} s in all.", "",
              "RMSE of ln count: the probes' answer where at least m finished within b s of work, else the "
              f"engine's ({opts.method}, clamped into the proven bounds); the engine alone: "
              f"{rmse([x['engine'] - x['truth'] for x in rows]):.3g}.", "",
              "| budget b | " + " | ".join(f"m = {m} (probes answer)" for m in mins) + " |",
              "|---|" + "---|" * len(mins)]
    for b in budgets:
        cells = []
        for m in mins:
            errs, used = [], 0
            for x in rows:
                for run in x["runs"]:
                    ln = probe_answer(run["samples"], run["work"], b, m)
                    used += ln is not None
                    errs.append((x["engine"] if ln is None else ln) - x["truth"])
            cells.append(f"{rmse(errs):.3g} ({used}/{len(errs)})")
        lines.append(f"| {b:g} | " + " | ".join(cells) + " |")
    lines += ["", "Per formula, error of ln count (probes finished) at each budget, first seed:", "",
              "| formula | variables | engine | " + " | ".join(f"b = {b:g}" for b in budgets) + " |",
              "|---|---|---|" + "---|" * len(budgets)]
    for x in rows:
        run = x["runs"][0]
        cells = []
        for b in budgets:
            ln = probe_answer(run["samples"], run["work"], b, 1)
            k = sum(w <= b for w in run["work"])
            cells.append("none" if ln is None else f"{ln - x['truth']:+.3g} ({k})")
        lines.append(f"| {x['name']} | {x['vars']} | {x['engine'] - x['truth']:+.3g} | " + " | ".join(cells) + " |")
    cal.write_report(lines, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
