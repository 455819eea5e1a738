"""The BPNN where its gate-BP base falls below the proven lower bound: the model's own estimate
against the bound (what gate BP answers there, and what ``bpcount`` answers since the seventeenth
session).

The shipped BPNN starts from the Bethe value of gate BP and adds learned corrections. Where that
value is below the proven lower bound (models found by enumeration, or one model), it is an
artefact; ``--method bp`` is then projected onto the bound, and the BPNN's corrections, trained
against a coarser bound (the feasible range: enumeration was off in training), start from it. This
script counts each formula with ``--method bp`` and ``--method bpnn`` and, for those where the
model's base is below the bound, compares the model's own estimate (``stats['model_estimate']``)
with the bound it now answers, per family.

Formulas: the ``--labels`` rows of ``--splits`` (../shared/bench, with the default pipeline and
the probes off, so that the engines answer what the exact stages leave), and ``--gen`` folders
written by ``bpcount generate FAMILY --label`` (their labels.csv), counted with the engine only
(``--search-budget 0 --exact-width 0 --probe-budget 0``; enumeration on, so the bound is there):

    bpcount generate domset --out runs/bbb/domset -n 20 --seed 7 -p nodes=30 -p size=9 --label
    bpcount generate coloring --out runs/bbb/coloring -n 20 --seed 7 -p nodes=40 -p colors=3 -p degree=4 --label
    bpcount generate kcnf --out runs/bbb/kcnf -n 40 --seed 7 -p n=100 -p ratio=4.2 -p sat_only=1 --label
    python benchmarks/base_below_bound.py --labels ../shared/bench/labels.csv --splits train,val \\
        --gen runs/bbb/domset runs/bbb/coloring runs/bbb/kcnf --out benchmarks/results/base_below_bound.md
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import replace
from pathlib import Path

import calibration as cal

from bpcount.estimate import CountOptions, count


def labelled(opts: argparse.Namespace) -> list[tuple[str, Path, float, bool]]:
    """(family, path, exact ln count, engine only) of the formulas the arguments pick."""
    rows = []
    if opts.labels is not None:
        splits = set(opts.splits.split(","))
        with open(opts.labels, newline="") as fh:
            rows += [(r["family"], opts.labels.parent / r["file"], float(r["ln_count"]), False)
                     for r in csv.DictReader(fh)
                     if r["split"] in splits and r["ln_count"] not in ("", "-inf")]
    for d in opts.gen:
        with open(d / "labels.csv", newline="") as fh:
            rows += [(d.name, d / r["file"], float(r["ln_count"]), True) for r in csv.DictReader(fh)
                     if r["status"] == "ok" and r["ln_count"] not in ("", "-inf")]
    return rows


def below_cases(rows: list[tuple[str, Path, float, bool]]) -> list[dict]:
    """Per formula whose BPNN base is below its proven lower bound: family, file, label, gate BP's
    answer, the model's own estimate (``own``), that estimate projected into the proven bounds
    (``model``: the answer before the rule) and the answer (all nats)."""
    bench = CountOptions(probe_budget=0.0)
    engine_only = replace(bench, search_budget=0.0, exact_max_width=0)
    out = []
    for only in (False, True):
        group = [r for r in rows if r[3] is only]
        if not group:
            continue
        o = engine_only if only else bench
        paths = [str(r[1]) for r in group]
        bp = count(paths, options=replace(o, method="bp"))
        nn = count(paths, options=replace(o, method="bpnn"))
        for (family, path, truth, _), b, n in zip(group, bp, nn):
            if n.status != "ok" or "model_estimate" not in n.stats:
                continue
            own = n.stats["model_estimate"]
            out.append({"family": family, "file": path.name, "truth": truth, "bp": b.ln_count, "own": own,
                        "model": min(max(own, n.ln_lower), n.ln_upper), "answer": n.ln_count})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", type=Path, default=None, help="labels.csv of ../shared/bench")
    ap.add_argument("--splits", default="train,val", help="comma-separated splits of --labels")
    ap.add_argument("--gen", type=Path, nargs="*", default=[], help="folders of `bpcount generate --label`")
    ap.add_argument("--out", type=Path, default=None, help="markdown report (default: stdout)")
    opts = ap.parse_args(argv)
    rows = labelled(opts)
    if not rows:
        ap.error("no labelled formulas: give --labels (with ../shared/bench) or --gen folders")
    t0 = time.perf_counter()
    cases = below_cases(rows)
    lines = cal.report_head("The BPNN where its gate-BP base is below the proven lower bound", "base_below_bound.py",
                            argv)
    lines += [f"{len(rows)} labelled formulas; {len(cases)} with the model's base below the bound; "
              f"{time.perf_counter() - t0:.0f} s.", "",
              "Errors ln Ẑ − ln Z (nats): gate BP (`--method bp`, projected onto the bound), the BPNN's own "
              "estimate projected into the proven bounds (its answer before the rule; its unprojected value in "
              "brackets per formula), and the bound (the BPNN's answer now). worse / equal / better: the "
              "former against the bound, per formula (equal within 10⁻⁶: the projection lands on the bound "
              "where the model's own estimate is below it).", "",
              "| family | formulas | gate BP RMSE | model RMSE | bound RMSE | model worse / equal / better |",
              "|---|---|---|---|---|---|"]
    for family in sorted({c["family"] for c in cases}):
        cs = [c for c in cases if c["family"] == family]
        gap = [abs(c["model"] - c["truth"]) - abs(c["answer"] - c["truth"]) for c in cs]
        lines.append(f"| {family} | {len(cs)} | {cal.rmse([c['bp'] - c['truth'] for c in cs]):.3g} | "
                     f"{cal.rmse([c['model'] - c['truth'] for c in cs]):.3g} | "
                     f"{cal.rmse([c['answer'] - c['truth'] for c in cs]):.3g} | "
                     f"{sum(g > 1e-6 for g in gap)} / {sum(abs(g) <= 1e-6 for g in gap)} / "
                     f"{sum(g < -1e-6 for g in gap)} |")
    lines += ["", "| family | formula | label | gate BP | model | bound |", "|---|---|---|---|---|---|"]
    for c in cases:
        lines.append(f"| {c['family']} | {c['file']} | {c['truth']:.4g} | {c['bp'] - c['truth']:+.3g} | "
                     f"{c['model'] - c['truth']:+.3g} ({c['own'] - c['truth']:+.3g}) | "
                     f"{c['answer'] - c['truth']:+.3g} |")
    cal.write_report(lines, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
