"""Probe work model: fit bpcount.probe.ProbeWorkModel on this machine and check it against the current one.

Search probes charge their budget as reference-machine seconds: the search's work model for each
node's simplification and elimination steps, the SAT work model for the solver's propagations and
conflicts, and on top ``ProbeWorkModel`` (per node and per literal of its formula, per solver call
and per residual variable of each call) for the Python around them. This script runs the probes on
the residuals of the formulas given (the pipeline's exact stages first: ``--labels`` rows the exact
search decides within its default budget are skipped, as counting would never probe them) with
those terms set to zero, at each of ``--budgets``; records each run's charge without them, its
nodes, their literals, its solver calls, the residual's variables and its wall time; fits the four
terms by non-negative least squares on the relative error of (charge + terms) against wall time;
and reports wall time / charge under the current and the fitted terms.

    python benchmarks/probe_work.py --labels ../shared/bench/labels.csv --splits train \\
        --files examples/example.cnf examples/small.cnf --out benchmarks/results/probe_work.md
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import calibration as cal
import numpy as np

from bpcount.cnf import read_dimacs
from bpcount.probe import DEFAULT_PROBE_WORK_MODEL, ProbeWorkModel, probe_log_count
from bpcount.sat import enumerate_models
from bpcount.search import DEFAULT_SEARCH_BUDGET, search_log_count
from bpcount.simplify import simplify

#: What the pipeline's earlier stages are given before a formula reaches the probes.
ENUM_MODELS, SAT_BUDGET, ENUM_BUDGET = 1024, 2.0, 0.5


def left_for_probes(path: Path):
    """The simplified residual of ``path`` when the exact stages leave it undecided, else None."""
    s = simplify(read_dimacs(path))
    r = s.residual
    if r is None or s.unsat:
        return None
    e = enumerate_models(r.num_vars, r.lits, r.clause_ptr, r.log_phi, max_models=ENUM_MODELS,
                         sat_budget=SAT_BUDGET, enum_budget=ENUM_BUDGET)
    if e.satisfiable is not True or e.ln_count is not None:
        return None
    if search_log_count(r.num_vars, r.lits, r.clause_ptr, r.log_phi, budget=DEFAULT_SEARCH_BUDGET).ln_count is not None:
        return None
    return r


def profile(residuals: list[tuple[str, object]], budgets: list[float]) -> list[dict]:
    """One run per residual and budget, without the per-node and per-call terms."""
    zero = ProbeWorkModel(node=0.0, sat_call=0.0, node_edge=0.0, sat_call_var=0.0)
    out = []
    for name, r in residuals:
        for b in budgets:
            res = probe_log_count(r.num_vars, r.lits, r.clause_ptr, r.log_phi, budget=b, wall_limit=math.inf,
                                  probe_work_model=zero)
            out.append({"name": name, "budget": b, "base": res.work, "nodes": res.nodes, "calls": res.sat_calls,
                        "node_edges": res.node_edges, "vars": r.num_vars, "seconds": res.seconds,
                        "probes": res.probes})
    return out


def _counts(row: dict) -> list[float]:
    """The sizes the four extra terms multiply, in ProbeWorkModel's field order."""
    return [row["nodes"], row["calls"], row["node_edges"], row["calls"] * row["vars"]]


def charge(model: ProbeWorkModel, row: dict) -> float:
    terms = [model.node, model.sat_call, model.node_edge, model.sat_call_var]
    return row["base"] + float(np.dot(terms, _counts(row)))


def fit(rows: list[dict]) -> ProbeWorkModel:
    """NNLS on Σ ((charge − seconds) / seconds)² over the four extra terms (the base charge fixed)."""
    from scipy.optimize import nnls

    t = np.array([x["seconds"] for x in rows])
    a = np.array([_counts(x) for x in rows], dtype=np.float64) / t[:, None]
    b = np.array([(x["seconds"] - x["base"]) for x in rows]) / t
    coef, _ = nnls(a, b)
    return ProbeWorkModel(node=float(coef[0]), sat_call=float(coef[1]), node_edge=float(coef[2]),
                          sat_call_var=float(coef[3]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cal.add_formula_args(ap)
    ap.set_defaults(splits="train")
    ap.add_argument("--budgets", default="0.5,2", help="comma-separated probe budgets (s of work) per formula")
    ap.add_argument("--min-seconds", type=float, default=0.05, help="fit and ratios over runs longer than this")
    ap.add_argument("--out", type=Path, default=None, help="markdown report (default: stdout)")
    opts = ap.parse_args(argv)

    t0 = time.perf_counter()
    picked = cal.selected_formulas(ap, opts)
    residuals = [(p.name, r) for p, _ in picked if (r := left_for_probes(p)) is not None]
    runs = profile(residuals, [float(b) for b in opts.budgets.split(",")])
    fit_rows = [x for x in runs if x["seconds"] > opts.min_seconds]
    if not fit_rows:
        ap.error("no run took longer than --min-seconds")
    fitted = fit(fit_rows)

    def ratios(model: ProbeWorkModel) -> str:
        return cal.ratio_cells(np.array([x["seconds"] / charge(model, x) for x in fit_rows]), with_min=True)

    lines = cal.report_head("Probe work model: fitted on this machine against the current constants",
                            "probe_work.py", argv)
    lines += [
        f"{len(picked)} formulas, {len(residuals)} left undecided by the exact stages; {len(runs)} runs "
        f"(budgets {opts.budgets} s); {time.perf_counter() - t0:.0f} s in all.",
        "",
        *cal.coefficient_table(DEFAULT_PROBE_WORK_MODEL, fitted),
        "",
        f"Wall time / charge over the {len(fit_rows)} runs longer than {opts.min_seconds:g} s (the fit used "
        "them); 'without' charges only the search's and the SAT solver's work models:",
        "",
        "| model | wall/charge p10 | median | p90 | min | max |",
        "|---|---|---|---|---|---|",
        f"| without | {ratios(ProbeWorkModel(0.0, 0.0, 0.0, 0.0))} |",
        f"| current | {ratios(DEFAULT_PROBE_WORK_MODEL)} |",
        f"| fitted | {ratios(fitted)} |",
        "",
        "| formula | variables | budget | probes | nodes | their literals | solver calls | seconds | wall/charge (fitted) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {x['name']} | {x['vars']} | {x['budget']:g} | {x['probes']} | {x['nodes']} | {x['node_edges']} | "
              f"{x['calls']} | {x['seconds']:.2f} | {x['seconds'] / charge(fitted, x):.2f} |" for x in runs]
    cal.write_report(lines, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
