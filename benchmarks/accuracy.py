"""Accuracy of plain BP vs BPNN on the labelled benchmark formulas (ln of the model count).

Runs the library exactly as users do, ``bpcount.estimate.count(paths, options=CountOptions(...))``,
once per method, on the ``val`` split of /work/shared/bench/labels.csv (per family) and, separately,
on the ``test`` split (MC2022 track 1, cross-domain; never trained or tuned on). Test formulas are
counted one at a time with a per-formula engine time limit (``--limit``, CountOptions.timeout);
those that time out or fail are counted as such, not dropped silently.

Per family: number of formulas, how many the simplifier solved exactly (same answer for every
method), RMSE of ln Z, median |Δ ln Z|, and the share within |Δ ln Z| ≤ 0.18 (≈ the MCC 20%
tolerance: ln 1.2 = 0.182), for each method. Proven-UNSAT formulas (label −inf) are reported as a
count of how many each method also reports as UNSAT.

    python benchmarks/accuracy.py --out benchmarks/results/accuracy.md [--checkpoint FILE]
"""

from __future__ import annotations

import argparse
import csv
import math
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from bpcount import __version__
from bpcount.estimate import CountOptions, count
from bpcount.search import DEFAULT_SEARCH_BUDGET

BENCH = Path("/work/shared/bench")
WITHIN = 0.18  # |Δ ln Z| tolerance: ln(1.2) ≈ 0.182, the MCC acceptance band for approximate counts
BOUND_SLACK = 1e-6  # nats: float rounding allowed when checking that a proven bound holds


def load_rows(labels: Path, split: str, families: list[str] | None) -> list[dict]:
    with open(labels, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == split]
    if families:
        rows = [r for r in rows if r["family"] in families]
    return rows


def run_method(rows: list[dict], root: Path, method: str, checkpoint: str | None, one_by_one: bool,
               limit: float | None, dtype: str | None = None, device: str = "auto", jobs: int = 1
               ) -> tuple[list, float]:
    """CountResults in row order, and total wall seconds."""
    name, *suffixes = method.split("+")
    engine, gates = ("bp", False) if name == "bp-clauses" else (name, True)
    extra: dict = {}
    for s in suffixes:
        if s.startswith("cond"):
            extra["condition"] = int(s[4:])
        elif s == "noexact":  # the estimator alone: no elimination, no model enumeration, no search
            extra.update(exact_max_width=0, enum_models=0, search_budget=0.0, bound_budget=0.0, probe_budget=0.0)
        elif s == "nosearch":  # every exact stage but the search
            extra["search_budget"] = 0.0
        elif s == "noprobe":  # no search probes: the method's engine estimates everything the exact stages leave
            extra["probe_budget"] = 0.0
        elif s == "nobound":  # no mini-bucket upper bound (estimates clamped to the trivial range only)
            extra["bound_budget"] = 0.0
        elif s.startswith("search"):  # the exact search with a budget of N seconds
            extra["search_budget"] = float(s[6:])
        else:
            raise SystemExit(f"unknown method suffix +{s} in {method}")
    opts = CountOptions(method=engine, gates=gates, checkpoint=checkpoint, timeout=limit, sat_check=True,
                        batch_size=1 if one_by_one else 64, dtype=dtype, device=device,
                        jobs=1 if one_by_one else jobs, **extra)
    paths = [str(root / r["file"]) for r in rows]
    t0 = time.perf_counter()
    if one_by_one:
        results = []
        for i, p in enumerate(paths):
            results += count([p], options=opts)
            print(f"  {method} {i + 1}/{len(paths)} {Path(p).name}: {results[-1].status} "
                  f"{results[-1].ln_count} ({results[-1].seconds:.1f}s)", file=sys.stderr, flush=True)
    else:
        results = count(paths, options=opts, progress=True)
    return results, time.perf_counter() - t0


def summarise(rows: list[dict], results: dict[str, list]) -> list[dict]:
    """One dict per family (plus 'all') with per-method error statistics."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[r["family"]].append(i)
    groups["all"] = list(range(len(rows)))
    out = []
    for fam in sorted(groups, key=lambda f: (f == "all", f)):
        idx = groups[fam]
        labels = np.array([float(rows[i]["ln_count"]) for i in idx])
        sat = np.isfinite(labels)
        rec = {"family": fam, "n": int(sat.sum()), "unsat": int((~sat).sum())}
        for m, res in results.items():
            errs, approx, failed, unsat_ok = [], [], 0, 0
            held, widths = 0, []  # proven bounds of approximate answers: contain the label? how wide?
            for j, i in enumerate(idx):
                r = res[i]
                if not sat[j]:
                    unsat_ok += int(r.ln_count is not None and r.ln_count == -math.inf)
                    continue
                if r.ln_count is None or not math.isfinite(r.ln_count):
                    failed += 1
                    continue
                errs.append(r.ln_count - labels[j])
                if not r.exact:
                    approx.append(r.ln_count - labels[j])
                    lo, hi = r.bounds
                    if lo is not None and hi is not None:
                        held += int(lo - BOUND_SLACK <= labels[j] <= hi + BOUND_SLACK)
                        widths.append(hi - lo)
            e = np.abs(np.array(errs))
            a = np.abs(np.array(approx))
            rec[m] = {
                "rmse": float(np.sqrt(np.mean(e ** 2))) if len(e) else math.nan,
                "median": float(np.median(e)) if len(e) else math.nan,
                "within": float(np.mean(e <= WITHIN)) if len(e) else math.nan,
                "failed": failed, "unsat_ok": unsat_ok, "n_exact": len(e) - len(a), "n_approx": len(a),
                "approx_rmse": float(np.sqrt(np.mean(a ** 2))) if len(a) else math.nan,
                "approx_median": float(np.median(a)) if len(a) else math.nan,
                "seconds": float(sum(res[i].seconds for i in idx)),
                "bounds_n": len(widths), "bounds_held": held,
                "bounds_width_median": float(np.median(widths)) if widths else math.nan,
            }
        out.append(rec)
    return out


def write_per_formula(path: Path, split: str, rows: list[dict], results: dict[str, list]) -> None:
    """Append one CSV row per formula: split, file, family, label, then each method's ln and exact flag."""
    new = not path.exists()
    with path.open("a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(["split", "file", "family", "ln_count"]
                       + [f"{m}{c}" for m in results for c in ("", " exact", " lower", " upper")])
        for i, r in enumerate(rows):
            w.writerow([split, r["file"], r["family"], r["ln_count"]]
                       + [x for m in results for x in (results[m][i].ln_count, int(results[m][i].exact),
                                                       *results[m][i].bounds)])


def table(summary: list[dict], methods: list[str]) -> list[str]:
    head = "| family | n | " + " | ".join(
        f"{m} exact | {m} RMSE | {m} median abs | {m} ≤{WITHIN} | {m} failed" for m in methods) + " |"
    lines = [head, "|" + "---|" * (2 + 5 * len(methods))]
    for rec in summary:
        if rec["n"] == 0:
            continue
        cells = [rec["family"] if rec["family"] != "all" else "**all**", str(rec["n"])]
        for m in methods:
            s = rec[m]
            cells += [str(s["n_exact"]), f"{s['rmse']:.3f}", f"{s['median']:.3f}", f"{100 * s['within']:.0f}%",
                      str(s["failed"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "The same, over the formulas each method answered approximately (not exact): n, RMSE, median abs.", "",
              "| family | " + " | ".join(f"{m} n | {m} RMSE | {m} median abs" for m in methods) + " |",
              "|" + "---|" * (1 + 3 * len(methods))]
    for rec in summary:
        if rec["n"] == 0:
            continue
        cells = [rec["family"] if rec["family"] != "all" else "**all**"]
        for m in methods:
            s = rec[m]
            cells += [str(s["n_approx"]), f"{s['approx_rmse']:.3f}", f"{s['approx_median']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    every = next(r for r in summary if r["family"] == "all")
    lines += ["", "Proven bounds [ln_lower, ln_upper] of the approximate answers: "
              + "; ".join(f"{m} contain the label on {every[m]['bounds_held']} of {every[m]['bounds_n']}, "
                          f"median width {every[m]['bounds_width_median']:.1f} nats" for m in methods) + "."]
    unsat = [(r["family"], r["unsat"], {m: r[m]["unsat_ok"] for m in methods}) for r in summary
             if r["unsat"] and r["family"] != "all"]
    for fam, n, ok in unsat:
        lines.append("")
        lines.append(f"UNSAT formulas in {fam}: {n} (reported UNSAT: "
                     + ", ".join(f"{m} {ok[m]}" for m in methods) + "); excluded from the error columns.")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="benchmarks/results/accuracy.md")
    ap.add_argument("--labels", default=str(BENCH / "labels.csv"))
    ap.add_argument("--checkpoint", default=None, help="BPNN checkpoint (default: the shipped model)")
    ap.add_argument("--limit", type=float, default=60.0, help="engine seconds per test formula")
    ap.add_argument("--splits", default="val,test")
    ap.add_argument("--dtype", choices=["float64", "float32"], default=None,
                    help="message precision for both methods (default: the library's, float64 on CPU)")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                    help="torch device of the method (auto: CUDA when available)")
    ap.add_argument("--families", default=None, help="comma-separated family filter")
    ap.add_argument("--jobs", type=int, default=1,
                    help="worker processes for the CPU stages (CountOptions.jobs; val split only: the test "
                         "split is counted one formula at a time). Exactness decisions are work-budgeted (up to 5x wall-clock limits)")
    ap.add_argument("--per-formula", default=None, help="also write every formula's estimates to this CSV")
    ap.add_argument("--methods", default="bp-clauses,bp,bpnn",
                    help="comma-separated: bp-clauses, bp, bpnn, loopy; a suffix +condN conditions on up to N "
                         "loop-cutset variables (CountOptions.condition)")
    args = ap.parse_args(argv)
    labels = Path(args.labels)
    methods = args.methods.split(",")
    fams = args.families.split(",") if args.families else None
    lines = [
        "# Accuracy: BP (clause factors, gate factors) vs BPNN (ln model count)",
        "",
        f"bpcount {__version__}; Python {platform.python_version()}; {platform.machine()}; "
        f"checkpoint: {args.checkpoint or 'shipped default (pretrained/default.pt)'}; "
        f"device: {args.device}; dtype: {args.dtype or 'library default (float64 on CPU, float32 on CUDA)'}.",
        f"Command: `python benchmarks/accuracy.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
        "",
        "Library defaults (`CountOptions`): BP damping 0.5, ≤ 500 iterations, float64 on CPU; BPNN = its "
        "checkpoint's layers. `bp` is the default BP on the gate factor graph (Tseitin AND/OR gates, XOR "
        "triples and clause clusters over ≤ 4 variables merged into single factors); `bp-clauses` is BP "
        "with one factor per clause (`--no-gates`); `+condN`: the estimate summed over the branches of up to "
        "N loop-cutset variables (`--condition N`), used where every branch converged; `+noexact`: "
        "no variable elimination, no model enumeration, no exact search and no search probes (`--exact-width 0 "
        "--enum-models 0 --search-budget 0 --probe-budget 0`: the method's engine alone, apart from enumerating "
        "components of ≤ 20 variables); `+noprobe`: no search probes (`--probe-budget 0`: the method's engine "
        "estimates every formula the exact stages leave); "
        "`+nosearch`: every stage but the exact search (`--search-budget 0`); `+searchN`: a search budget of "
        f"N seconds (reference-machine work) instead of the default {DEFAULT_SEARCH_BUDGET:g} (`--search-budget N`). Errors are ln Ẑ − ln Z. "
        "`exact`: formulas "
        "the method answered exactly (simplifier: enumeration of small components, variable elimination of "
        "narrow ones; SAT enumeration of formulas with ≤ 1024 models; the exact search finishing within its budget; all "
        "branches exact under conditioning; search probes that met no random choice). By default the search "
        "probes (`--probe-budget`, 2 s) answer where at least 4 probes finish; the method's engine the rest, "
        "unless the probes that went on as a check overrule it (`--probe-check`). "
        "`failed`: no estimate (timeout or error).",
    ]
    for split in args.splits.split(","):
        rows = load_rows(labels, split, fams)
        if not rows:
            continue
        one_by_one = split == "test"
        results, secs = {}, {}
        for m in methods:
            print(f"[{split}] {m}: {len(rows)} formulas", file=sys.stderr, flush=True)
            results[m], secs[m] = run_method(rows, labels.parent, m, args.checkpoint, one_by_one,
                                             args.limit if one_by_one else None, args.dtype, args.device, args.jobs)
        summary = summarise(rows, results)
        if args.per_formula:
            write_per_formula(Path(args.per_formula), split, rows, results)
        title = {"val": "Validation split (BIRD families and SATLIB; model selection only)",
                 "test": "Test split: MC2022 track 1 (cross-domain, never trained or tuned on)"}.get(split, split)
        lines += ["", f"## {title}", ""]
        if one_by_one:
            lines.append(f"Counted one formula at a time, engine limit {args.limit:g} s per formula.")
            lines.append("")
        lines += table(summary, methods)
        lines += ["", "Wall time: " + ", ".join(f"{m} {secs[m]:.1f} s" for m in methods) + "."]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
