"""Calibrate the exact search's work model (``bpcount.search.WorkModel``) on this machine.

``--search-budget`` is charged work, not wall time: before each step the search adds the seconds
that step is predicted to take on the reference machine, from its size. This script measures those
predictions against this machine and this code, in two passes over the residuals the simplifier
leaves for the search:

1. *profile*: the search runs at ``--budget`` under the default model while every step is counted
   and timed (simplification of a node, cache key of a component, greedy elimination order, bucket
   elimination); non-negative least squares on the relative error fits the model's coefficients so
   that each whole search's charge matches its wall time (:func:`fit_work_model`);
2. *check*: the whole searches again, charged by the fitted model: per formula, wall time / charge,
   and which formulas each model decides.

Refit after a change that makes search steps faster or slower (and paste the fitted constants into
``WorkModel``); otherwise the budget keeps meaning seconds of the old code. Takes about twice the
budget per searched formula: ~11 min for the train and unlabeled splits at 2 s.

    python benchmarks/search_work.py --labels ../shared/bench/labels.csv --splits train,unlabeled \\
        --out benchmarks/results/search_work.md
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import time
from pathlib import Path

import calibration as cal
import numpy as np

import bpcount.search as search
import bpcount.simplify as simplify_module
from bpcount.cnf import read_dimacs
from bpcount.simplify import simplify


@dataclasses.dataclass(frozen=True)
class Step:
    """One timed search step: ``kind`` (a key of ``search.WORK_TERMS``), ``seconds`` (wall), and the
    sizes its charge multiplies (``search.step_cost``)."""

    kind: str
    seconds: float
    edges: int
    variables: int
    entries: int = 0

    def size(self, name: str) -> float:
        """The size a WORK_TERMS entry names: "1", "edges", "variables" or "entries"."""
        return 1.0 if name == "1" else float(getattr(self, name))


def aggregate(steps: list[Step]) -> dict[str, float]:
    """One search's steps summed per WorkModel field: the size the field multiplies, over the steps of
    its kind (the search's charge is then Σ field × aggregate[field])."""
    total = dict.fromkeys((field for terms in search.WORK_TERMS.values() for field, _ in terms), 0.0)
    for s in steps:
        for field, size in search.WORK_TERMS[s.kind]:
            total[field] += s.size(size)
    return total


def fit_work_model(features: list[dict[str, float]], seconds: list[float],
                   base: search.WorkModel = search.DEFAULT_WORK_MODEL) -> search.WorkModel:
    """Coefficients that make each whole search's charge match its wall time: non-negative least
    squares on the relative error (Σ over searches of ((charge − seconds) / seconds)²), so that every
    formula counts alike, and the steps the profiler does not time (splitting into components, the
    bookkeeping) are spread over the fitted ones. ``features``: :func:`aggregate` per search;
    fields no search has keep ``base``'s value."""
    names = [f.name for f in dataclasses.fields(search.WorkModel)]
    return cal.fit_relative(base, [[f[n] for n in names] for f in features], seconds)


class StepTimer:
    """Times the search's steps while active (wraps the functions bpcount.search calls)."""

    def __init__(self):
        self.steps: list[Step] = []
        self._saved: list[tuple[object, str, object]] = []
        self._entries: dict[int, int] = {}  # id(order array) → table entries, from greedy_order

    def _patch(self, owner, name, wrapper):
        self._saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, wrapper)

    def __enter__(self):
        steps, entries = self.steps, self._entries
        real_simplify, real_order = simplify_module.simplify, search.greedy_order
        real_stuck, real_eliminate, real_key = search.stuck_variables, search.eliminate, search._Component.key

        def timed_simplify(formula, **kw):
            t = time.perf_counter()
            out = real_simplify(formula, **kw)
            steps.append(Step("node", time.perf_counter() - t, len(formula.lits), formula.num_vars))
            return out

        def timed_order(num_vars, lits, clause_ptr, **kw):
            t = time.perf_counter()
            out = real_order(num_vars, lits, clause_ptr, **kw)
            steps.append(Step("order", time.perf_counter() - t, len(lits), num_vars))
            if out.order is not None:
                entries[id(out.order)] = out.work
            return out

        def timed_stuck(num_vars, lits, clause_ptr, **kw):
            t = time.perf_counter()
            out = real_stuck(num_vars, lits, clause_ptr, **kw)
            steps.append(Step("order", time.perf_counter() - t, len(lits), num_vars))
            return out

        def timed_eliminate(num_vars, lits, clause_ptr, log_weights, order):
            t = time.perf_counter()
            out = real_eliminate(num_vars, lits, clause_ptr, log_weights, order)
            steps.append(Step("elim", time.perf_counter() - t, len(lits), num_vars, entries.pop(id(order), 0)))
            return out

        def timed_key(comp):
            t = time.perf_counter()
            out = real_key(comp)
            steps.append(Step("key", time.perf_counter() - t, len(comp.lits), comp.num_vars))
            return out

        self._patch(simplify_module, "simplify", timed_simplify)
        self._patch(search, "greedy_order", timed_order)
        self._patch(search, "stuck_variables", timed_stuck)
        self._patch(search, "eliminate", timed_eliminate)
        self._patch(search._Component, "key", timed_key)
        return self

    def __exit__(self, *exc):
        for owner, name, value in reversed(self._saved):
            setattr(owner, name, value)
        self._saved.clear()


def residuals(paths: list[Path]):
    """(name, residual) for each formula the simplifier (library defaults) leaves undecided."""
    for p in paths:
        s = simplify(read_dimacs(p))
        if s.residual is not None and not s.unsat:
            yield p.name, s.residual


def run(paths: list[Path], budget: float, model: search.WorkModel, timer: StepTimer | None = None) -> list[dict]:
    """One search per residual under ``model``; per formula: name, decided, nodes, seconds, work,
    and with ``timer`` the :func:`aggregate` of its timed steps (``features``)."""
    out = []
    for name, r in residuals(paths):
        start = 0 if timer is None else len(timer.steps)
        with timer if timer is not None else contextlib.nullcontext():
            res = search.search_log_count(r.num_vars, r.lits, r.clause_ptr, r.log_phi, budget=budget,
                                          work_model=model)
        row = {"name": name, "decided": res.ln_count is not None, "nodes": res.nodes,
               "seconds": res.seconds, "work": res.work}
        if timer is not None:
            row["features"] = aggregate(timer.steps[start:])
        out.append(row)
    return out


def ratio_line(rows: list[dict], min_work: float) -> str:
    return cal.ratio_cells(np.array([x["seconds"] / x["work"] for x in rows if x["work"] > min_work]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cal.add_formula_args(ap)
    ap.add_argument("--budget", type=float, default=search.DEFAULT_SEARCH_BUDGET, help="search budget (s)")
    ap.add_argument("--min-work", type=float, default=0.05,
                    help="ratios only over formulas charged more than this many seconds")
    ap.add_argument("--out", type=Path, default=None, help="markdown report (default: stdout)")
    opts = ap.parse_args(argv)

    paths = [p for p, _ in cal.selected_formulas(ap, opts)]

    t0 = time.perf_counter()
    timer = StepTimer()
    current = search.DEFAULT_WORK_MODEL
    profiled = run(paths, opts.budget, current, timer)
    fit_rows = [x for x in profiled if x["work"] > opts.min_work]
    fitted = fit_work_model([x["features"] for x in fit_rows], [x["seconds"] for x in fit_rows], current)
    checked = run(paths, opts.budget, fitted)

    lines = cal.report_head("Exact search work model: fitted on this machine against the current constants",
                        "search_work.py", argv)
    lines += [
        f"{len(paths)} formulas, {len(profiled)} with a residual for the search; budget {opts.budget:g} s; "
        f"{len(timer.steps)} timed steps; {time.perf_counter() - t0:.0f} s in all.",
        "",
        *cal.coefficient_table(current, fitted),
    ]
    decided_both = sum(a["decided"] and b["decided"] for a, b in zip(profiled, checked))
    lines += [
        "",
        f"Whole searches: wall time / charge over formulas charged more than {opts.min_work:g} s "
        f"({len(fit_rows)} in the profiled pass, which the fit used; its wall time includes the profiler's "
        "own cost).",
        "",
        "| pass | model | decided | wall/charge p10 | median | p90 | max |",
        "|---|---|---|---|---|---|---|",
        f"| profile | current | {sum(x['decided'] for x in profiled)} | {ratio_line(profiled, opts.min_work)} |",
        f"| check | fitted | {sum(x['decided'] for x in checked)} | {ratio_line(checked, opts.min_work)} |",
        "",
        f"Decided by both: {decided_both}. Only by the current model: "
        f"{', '.join(a['name'] for a, b in zip(profiled, checked) if a['decided'] and not b['decided']) or 'none'}. "
        f"Only by the fitted one: "
        f"{', '.join(a['name'] for a, b in zip(profiled, checked) if b['decided'] and not a['decided']) or 'none'}.",
    ]
    cal.write_report(lines, opts.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
