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

It also scores the extension (``--probe-max-budget``, ``--probe-target-rse``: probing goes on past
``--base`` where at least ``--base-min`` probes finished but their mean's relative standard error is
above the target) for each larger budget and each of ``--targets``, next to the variant that also
goes on where fewer finished (``few = yes``; not what the library does), per seed with the mean work
spent.

It also scores the check (``--probe-check``: where fewer than ``--base-min`` probes ended within a
budget b, probing goes on up to 4b and the probes' mean overrules the engine where
``bpcount.probe.overrules`` says so) at each of ``--check-bases``: smaller budgets than the library's
put more formulas in that case.

``--raw FILE`` keeps each formula's probe samples and their work (JSON lines); ``--from-raw
A,B,…`` scores saved runs of the same formulas together (one run per seed, e.g. seeds run as
separate processes) without probing again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import calibration as cal
import numpy as np
from probe_work import left_for_probes

from bpcount.estimate import CountOptions, count
from bpcount.probe import (
    check_lower_bound,
    ln_mean,
    overrules,
    probe_log_count,
    relative_standard_error,
)


def probe_answer(samples: list[float], work: list[float], budget: float, min_probes: int) -> float | None:
    """ln of the mean of the probes (nats) that ended within ``budget`` of work, None when fewer than
    ``min_probes`` did."""
    kept = [s for s, w in zip(samples, work) if w <= budget]
    if len(kept) < min_probes or not kept:
        return None
    return ln_mean(kept)


def extended_answer(samples: list[float], work: list[float], budget: float, max_budget: float,
                    min_probes: int, target_rse: float | None, extend_few: bool = False
                    ) -> tuple[float | None, float]:
    """What ``probe_log_count(budget=, max_budget=, min_probes=, target_rse=)`` answers (ln, nats;
    None: the engine answers) and the work it spends, read from a longer run's probes (``samples``,
    each ended at ``work``). The probes that ended within ``budget`` answer when they are at least
    ``min_probes`` and their mean's relative standard error is at most ``target_rse``; when they are
    at least ``min_probes`` but wider, probing goes on to the first prefix within the target (it
    stops when that prefix's last probe ends) or to ``max_budget`` (all finished probes answer).
    ``extend_few``: the variant measured and left out, which also goes on where fewer than
    ``min_probes`` ended within ``budget`` (until ``min_probes`` have and the target is met)."""

    def within(k: int) -> bool:
        return target_rse is None or relative_standard_error(samples[:k]) <= target_rse

    k = sum(w <= budget for w in work)
    if k < min_probes and not extend_few:
        return None, budget
    if k >= min_probes and within(k):
        return ln_mean(samples[:k]), budget
    for j in range(k + 1, len(samples) + 1):
        if work[j - 1] > max_budget:
            break
        if j >= min_probes and within(j):
            return ln_mean(samples[:j]), work[j - 1]
    k = sum(w <= max_budget for w in work)
    return (ln_mean(samples[:k]) if k >= min_probes else None), max_budget


def checked_answer(samples: list[float], work: list[float], engine: float, budget: float, max_budget: float,
                   min_probes: int, target_rse: float | None) -> tuple[float, bool]:
    """The answer (ln, nats) of the pipeline with the probes' check (``--probe-check``), read from a
    longer run's probes as :func:`extended_answer` does, and whether the probes gave it. Where at least
    ``min_probes`` ended within ``budget``, the extension's answer; else probing goes on as with
    ``extend_few`` (all probes finished within ``max_budget`` when fewer than ``min_probes`` did) and
    their mean overrules the engine's estimate ``engine`` where :func:`bpcount.probe.overrules` says so
    (far above their mean, or below their lower bound, :func:`bpcount.probe.check_lower_bound`)."""
    if sum(w <= budget for w in work) >= min_probes:
        ln, _ = extended_answer(samples, work, budget, max_budget, min_probes, target_rse)
        return ln, True
    ln, spent = extended_answer(samples, work, budget, max_budget, min_probes, target_rse, extend_few=True)
    k = sum(w <= spent for w in work) if ln is not None else sum(w <= max_budget for w in work)
    if ln is None and k:
        ln = ln_mean(samples[:k])
    if ln is not None and overrules(ln, check_lower_bound(samples[:k]), engine):
        return ln, True
    return engine, False


def merge_raw(files: list[Path]) -> list[dict]:
    """The rows of several ``--raw`` files of the same formulas (same order), with their runs joined."""
    merged: list[dict] | None = None
    for f in files:
        rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        if merged is None:
            merged = rows
            continue
        if [x["name"] for x in rows] != [x["name"] for x in merged]:
            raise SystemExit(f"{f}: not the same formulas, in the same order, as {files[0]}")
        for x, y in zip(merged, rows):
            x["runs"] += y["runs"]
    return merged or []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cal.add_formula_args(ap)
    ap.set_defaults(splits="train,val")
    ap.add_argument("--budgets", default="1,2,4,8", help="comma-separated probe budgets (s of work)")
    ap.add_argument("--min-probes", default="1,2,4", help="comma-separated minimum finished probes")
    ap.add_argument("--seeds", default="0", help="comma-separated probe seeds")
    ap.add_argument("--method", default="bpnn", help="the engine's method (bpnn, bp)")
    ap.add_argument("--base", type=float, default=2.0,
                    help="the budget that the extension table (--probe-max-budget) extends")
    ap.add_argument("--base-min", type=int, default=4, help="the fewest probes in the extension table")
    ap.add_argument("--targets", default="none",
                    help="comma-separated --probe-target-rse values for the extension table (none: no target)")
    ap.add_argument("--check-bases", default="0.1,0.25,0.5,1,2",
                    help="comma-separated budgets for the check table (each extended to 4x itself, as the "
                         "defaults 2 -> 8 s)")
    ap.add_argument("--raw", type=Path, default=None, help="JSON lines: each formula's samples and their work")
    ap.add_argument("--from-raw", default=None,
                    help="comma-separated --raw files of earlier runs (the same formulas in the same order, "
                         "one or more seeds each): score their runs together instead of probing again")
    ap.add_argument("--out", type=Path, default=None, help="markdown report (default: stdout)")
    opts = ap.parse_args(argv)
    budgets = [float(b) for b in opts.budgets.split(",")]
    mins = [int(m) for m in opts.min_probes.split(",")]
    seeds = [int(s) for s in opts.seeds.split(",")]

    t0 = time.perf_counter()
    if opts.from_raw:
        rows, picked = merge_raw([Path(f) for f in opts.from_raw.split(",")]), []
        seeds = sorted({r["seed"] for x in rows for r in x["runs"]})
        opts.seeds = ",".join(map(str, seeds))
    else:
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
    source = (f"runs read from {opts.from_raw}" if opts.from_raw else f"{len(picked)} labelled formulas")
    lines += [f"{source}, {len(rows)} left undecided by the exact stages; seeds "
              f"{opts.seeds}; {time.perf_counter() - t0:.0f} s in all.", "",
              "RMSE of ln count over every seed's runs together (in brackets: the runs the probes answer): "
              "the probes' answer where at least m finished within b s of work, else the "
              f"engine's ({opts.method}, clamped into the proven bounds); the engine alone: "
              f"{cal.rmse([x['engine'] - x['truth'] for x in rows]):.3g}.", "",
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
            cells.append(f"{cal.rmse(errs):.3g} ({used}/{len(errs)})")
        lines.append(f"| {b:g} | " + " | ".join(cells) + " |")
    targets = [None if t == "none" else float(t) for t in opts.targets.split(",")]
    lines += ["", f"The extension (`--probe-budget {opts.base:g} --probe-max-budget B --probe-target-rse t`): the "
              f"probes that ended within {opts.base:g} s of work answer where they are at least {opts.base_min} "
              "and the relative standard error of their mean is at most t; where they are at least "
              f"{opts.base_min} but wider, probing goes on until the probes so far are within t, or B s of work "
              "are spent (then all finished probes answer); else the engine answers. few = yes: the variant "
              f"(not the library's) that also goes on where fewer than {opts.base_min} ended within "
              f"{opts.base:g} s. RMSE per seed (probes answer), and the mean work spent probing a formula (s).", "",
              "| B | t | few | " + " | ".join(f"seed {s}: RMSE | seed {s}: mean work" for s in seeds) + " |",
              "|---|---|---|" + "---|---|" * len(seeds)]
    for big, target, few in [(b, t, f) for b in budgets if b > opts.base for t in targets for f in (False, True)]:
        cells = []
        for seed in seeds:
            errs, spent, used = [], [], 0
            for x in rows:
                run = next(r for r in x["runs"] if r["seed"] == seed)
                ln, work = extended_answer(run["samples"], run["work"], opts.base, big, opts.base_min, target,
                                           few)
                used += ln is not None
                errs.append((x["engine"] if ln is None else ln) - x["truth"])
                spent.append(work)
            cells += [f"{cal.rmse(errs):.3g} ({used}/{len(errs)})", f"{np.mean(spent):.2f}" if spent else "nan"]
        lines.append(f"| {big:g} | {'none' if target is None else f'{target:g}'} | {'yes' if few else 'no'} | "
                     + " | ".join(cells) + " |")
    lines += ["", "The check (`--probe-check`, the library's default): where fewer than "
              f"{opts.base_min} probes ended within the budget b, probing goes on (up to 4b, stopping as the "
              "extension does) and the engine answers unless it is far above the probes' mean, or below the "
              "lower bound their values give with 95 % confidence (`bpcount.probe.overrules`). Only those runs (the others are the same with or without it), every "
              "seed together, with the target of the first of --targets; smaller b than the library's 2 s put "
              "more formulas in this case. RMSE of ln count, engine alone → with the check; fired: runs the "
              "probes answered (of them, closer to the label than the engine).", "",
              "| b | runs | engine alone | with the check | fired (closer) |", "|---|---|---|---|---|"]
    for b in [float(v) for v in opts.check_bases.split(",")]:
        eng, chk, fired, closer = [], [], 0, 0
        for x in rows:
            for run in x["runs"]:
                if sum(w <= b for w in run["work"]) >= opts.base_min:
                    continue
                ln, used = checked_answer(run["samples"], run["work"], x["engine"], b, 4 * b, opts.base_min,
                                          targets[0])
                eng.append(x["engine"] - x["truth"])
                chk.append(ln - x["truth"])
                fired += used
                closer += used and abs(ln - x["truth"]) < abs(x["engine"] - x["truth"])
        lines.append(f"| {b:g} | {len(eng)} | {cal.rmse(eng):.3g} | {cal.rmse(chk):.3g} | {fired} ({closer}) |")
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
