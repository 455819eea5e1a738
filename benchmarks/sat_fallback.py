"""The SAT check's second solver: where Glucose runs out of the check's budget, does MiniSat answer?

The SAT check (``bpcount.sat.enumerate_models``) tries the solvers of ``bpcount.sat.CHECK_SOLVERS`` in
turn, each with the whole check budget, the next only where the one before ran out of it. This
script runs the pipeline's SAT stages (default budgets: 2 s of work for the check, 1024 models in
0.5 s of work) on each formula's simplified residual three ways: Glucose alone, MiniSat alone, and
the pipeline's order, and reports per group of formulas (the folder, or the bench family) how many
checks each answered (a model or a proof), the work and wall time, and, where models were found
but not all of them, how far ln(models found) — the pipeline's lower bound — lies below the label.

Formulas: planted random 3-CNFs near the threshold (``--planted``: satisfiable by construction, hard
SAT checks the bench's train split lacks; n = 300, 350, 400 at ratios 4.6, 4.7, 4.8, the given number
of seeds each; no labels), ``--files`` (e.g. generated random 3-CNFs and 3-colourings) and the
``--labels`` rows of ``--splits``. The generated files of the nineteenth session (``runs/`` is not in
the repository; labels by pyganak, 30 s each, most of which timed out)::

    bpcount generate kcnf --out runs/satfb/k250_42 -n 6 --seed 1 -p n=250 -p ratio=4.2 --label --timeout 30
    bpcount generate kcnf --out runs/satfb/k300_43 -n 6 --seed 2 -p n=300 -p ratio=4.3 --label --timeout 30
    bpcount generate coloring --out runs/satfb/c200_46 -n 6 --seed 4 -p nodes=200 -p degree=4.6 -p colors=3 --label --timeout 30
    bpcount generate coloring --out runs/satfb/c200_49 -n 10 --seed 13 -p nodes=200 -p degree=4.9 -p colors=3

    python benchmarks/sat_fallback.py --files runs/satfb/*/*.cnf --labels ../shared/bench/labels.csv \\
        --splits train,val,unlabeled --planted 3 --out benchmarks/results/sat_fallback.md
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import calibration as cal
import numpy as np

from bpcount.cnf import Formula, read_dimacs
from bpcount.sat import (
    CHECK_SOLVERS,
    DEFAULT_ENUM_BUDGET,
    DEFAULT_ENUM_MODELS,
    DEFAULT_SAT_BUDGET,
    enumerate_models,
)
from bpcount.simplify import simplify

#: The three ways each residual is checked: name → solvers tried in turn.
WAYS = {"glucose": (CHECK_SOLVERS[0],), "minisat": ("minisat22",), "pipeline": CHECK_SOLVERS}


#: (variables, clause/variable ratio) of the planted 3-CNFs.
PLANTED = [(n, ratio) for n in (300, 350, 400) for ratio in (4.6, 4.7, 4.8)]


def planted_3cnf(n: int, ratio: float, seed: int) -> Formula:
    """A random 3-CNF with round(ratio·n) clauses, each drawn uniformly among those a hidden uniform
    random assignment satisfies (so the formula has a model)."""
    rng = np.random.default_rng(seed)
    hidden = rng.random(n) < 0.5
    clauses: list[list[int]] = []
    while len(clauses) < int(round(ratio * n)):
        var = rng.choice(n, 3, replace=False)
        sign = rng.choice([-1, 1], 3)
        if ((sign > 0) == hidden[var]).any():
            clauses.append(((var + 1) * sign).tolist())
    return Formula.from_clauses(clauses, n)


def generated_labels(paths: list[Path]) -> dict[Path, float]:
    """Labels of generated formulas: the ``labels.csv`` that ``bpcount generate --label`` writes
    beside them (rows with an ln count only)."""
    out: dict[Path, float] = {}
    for folder in {p.parent for p in paths}:
        table = folder / "labels.csv"
        if table.exists():
            with open(table, newline="") as fh:
                for row in csv.DictReader(fh):
                    if row.get("ln_count") not in (None, ""):
                        out[folder / Path(row["file"]).name] = float(row["ln_count"])
    return out


def check(formula: Formula) -> dict | None:
    """Each way's outcome on the formula's residual (None: the simplifier decided the formula)."""
    s = simplify(formula)
    r = s.residual
    if r is None or s.unsat:
        return None
    row = {}
    for way, solvers in WAYS.items():
        t = time.perf_counter()
        e = enumerate_models(r.num_vars, r.lits, r.clause_ptr, r.log_phi, max_models=DEFAULT_ENUM_MODELS,
                             sat_budget=DEFAULT_SAT_BUDGET, enum_budget=DEFAULT_ENUM_BUDGET, solvers=solvers)
        row[way] = {"satisfiable": e.satisfiable, "exact": e.ln_count is not None, "models": e.models,
                    "ln_found": s.ln_exact + e.ln_found if e.ln_found > -math.inf else None,
                    "work": e.work, "seconds": time.perf_counter() - t, "solver": e.solver}
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cal.add_formula_args(ap)
    ap.add_argument("--planted", type=int, default=3, help="planted 3-CNFs per (n, ratio) of PLANTED (0: none)")
    ap.add_argument("--out", type=Path, default=None, help="markdown report (default: stdout)")
    opts = ap.parse_args(argv)
    picked = cal.selected_formulas(ap, opts)
    gen = generated_labels([p for p, label in picked if label is None])
    # (group, name, label, how to build the formula)
    jobs = [(f"planted n={n} ratio={ratio}", Path(f"planted-{n}-{ratio}-{seed}"), None,
             lambda n=n, ratio=ratio, seed=seed: planted_3cnf(n, ratio, seed))
            for n, ratio in PLANTED for seed in range(opts.planted)]
    given = set(opts.files)  # the rest come from --labels: the bench's families (unlabeled ones too)
    jobs += [(p.parent.name if p in given else p.parent.name + " (bench)", p,
              label if label is not None else gen.get(p), lambda p=p: read_dimacs(p)) for p, label in picked]
    t0 = time.perf_counter()
    groups: dict[str, list[tuple[Path, float | None, dict]]] = {}
    for i, (group, path, label, build) in enumerate(jobs):
        row = check(build())
        print(f"{i + 1}/{len(jobs)} {path.name}: " + ("decided by the simplifier" if row is None else
              ", ".join(f"{w} {row[w]['satisfiable']} {row[w]['models']}" for w in WAYS)), file=sys.stderr)
        if row is not None:
            groups.setdefault(group, []).append((path, label, row))

    lines = cal.report_head("The SAT check's second solver (Glucose, then MiniSat)", "sat_fallback.py", argv)
    lines += [
        f"{len(jobs)} formulas, {sum(map(len, groups.values()))} with a residual; default budgets "
        f"({DEFAULT_SAT_BUDGET:g} s of work for the check, {DEFAULT_ENUM_MODELS} models in "
        f"{DEFAULT_ENUM_BUDGET:g} s of work); {time.perf_counter() - t0:.0f} s in all.",
        "",
        "Checks answered (a model or a proof of none) by each way; `fallback used`: the pipeline's "
        "checks where Glucose ran out, so MiniSat ran; mean work and wall time of a residual's SAT "
        "stages (s); `lower bound below label`: median of label − ln(models found) over the pipeline's "
        "answers that found models but not all of them, where a label exists (n in brackets).",
        "",
        "| group | residuals | glucose answered | minisat answered | pipeline answered | fallback used | "
        "glucose work / wall | pipeline work / wall | lower bound below label: glucose | pipeline |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def gap(rows: list, way: str) -> str:
        g = [label - r[way]["ln_found"] for _, label, r in rows
             if label is not None and r[way]["ln_found"] is not None and not r[way]["exact"]]
        return f"{np.median(g):.2f} ({len(g)})" if g else "– (0)"

    for group, rows in sorted(groups.items()):
        answered = {w: sum(r[w]["satisfiable"] is not None for _, _, r in rows) for w in WAYS}
        used = sum(r["glucose"]["satisfiable"] is None for _, _, r in rows)  # then the pipeline ran MiniSat
        mean = {w: (np.mean([r[w]["work"] for _, _, r in rows]), np.mean([r[w]["seconds"] for _, _, r in rows]))
                for w in WAYS}
        lines.append(f"| {group} | {len(rows)} | {answered['glucose']} | {answered['minisat']} | "
                     f"{answered['pipeline']} | {used} | {mean['glucose'][0]:.2f} / {mean['glucose'][1]:.2f} | "
                     f"{mean['pipeline'][0]:.2f} / {mean['pipeline'][1]:.2f} | {gap(rows, 'glucose')} | "
                     f"{gap(rows, 'pipeline')} |")
    changed = [(group, p, label, r) for group, rows in groups.items() for p, label, r in rows
               if r["pipeline"]["satisfiable"] != r["glucose"]["satisfiable"]]
    lines += ["", f"Residuals where the pipeline's answer differs from Glucose alone ({len(changed)}):", "",
              "| formula | label | glucose: answer, models, work | pipeline: answer, models, ln found, work, wall |",
              "|---|---|---|---|"]
    for group, p, label, r in sorted(changed, key=lambda x: str(x[1])):
        g, q = r["glucose"], r["pipeline"]
        found = "–" if q["ln_found"] is None else f"{q['ln_found']:.2f}"
        lines.append(f"| {group}/{p.name} | {'–' if label is None else f'{label:.2f}'} | {g['satisfiable']}, "
                     f"{g['models']}, {g['work']:.2f} | {q['satisfiable']}, {q['models']}, {found}, "
                     f"{q['work']:.2f}, {q['seconds']:.2f} |")
    cal.write_report(lines, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
