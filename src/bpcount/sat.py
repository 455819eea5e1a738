"""Budgeted SAT calls (python-sat): the witness or proof behind the MCC ``s`` line, and an exact
count by enumeration when a formula has few models.

BP proves neither SAT nor UNSAT (bp-cnf.md §6); the MCC output needs a witness for
``s SATISFIABLE`` and a proof for ``s UNSATISFIABLE``. We run Glucose 4 with a wall-clock budget
(interrupted from a timer thread) and return None when it runs out.

:func:`enumerate_models` goes on from the witness the way ApproxMC's base case does: block each
model found and ask again, up to ``max_models`` models within a time budget. When the solver proves
that no further model exists, the count is exact: the number of models (or, weighted, the sum of
their weights). Formulas with few models are where BP's relative error is largest, and there this
costs a few milliseconds; formulas with many models stop at the bound and go to the estimator.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

#: python-sat solver used for the check (supports interrupt()).
SOLVER_NAME = "glucose4"

#: Defaults shared by counting (CountOptions, the CLI) and training (formulas counting would
#: enumerate are not trained on): seconds for the SAT check, models to enumerate, seconds for that.
DEFAULT_SAT_BUDGET = 2.0
DEFAULT_ENUM_MODELS = 1024
DEFAULT_ENUM_BUDGET = 0.5


@dataclass(frozen=True)
class Enumeration:
    """Outcome of :func:`enumerate_models`.

    ``satisfiable``: True (a model was found), False (proven UNSAT) or None (budget exhausted first).
    ``ln_count``: exact ln of the (weighted) model count when every model was enumerated, else None
    (−inf when UNSAT). ``models``: models found (≤ max_models + 1). ``ln_found``: ln of the (weighted)
    sum over the models found, a lower bound on ln Z (−inf when none was found).
    """

    satisfiable: bool | None
    ln_count: float | None
    models: int
    ln_found: float = -math.inf


def _load(solver, lits: np.ndarray, clause_ptr: np.ndarray) -> None:
    bounds = clause_ptr.tolist()
    flat = lits.tolist()
    for a, b in zip(bounds[:-1], bounds[1:]):
        solver.add_clause(flat[a:b])


def _solve(solver, budget_seconds: float) -> bool | None:
    timer = threading.Timer(budget_seconds, solver.interrupt)
    timer.start()
    try:
        return solver.solve_limited(expect_interrupt=True)
    finally:
        timer.cancel()


def enumerate_models(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, log_weights: np.ndarray | None = None,
                     *, max_models: int, sat_budget: float, enum_budget: float = 0.0) -> Enumeration:
    """A budgeted SAT call, then (``max_models`` > 0) enumeration of up to ``max_models`` models.

    Args:
        num_vars, lits, clause_ptr: the formula: ``lits`` (E,) signed literals over 1..num_vars,
            ``clause_ptr`` (C+1,) CSR offsets; every variable in some clause (the
            simplifier's residual; a variable in no clause would be missing from the blocking clauses).
        log_weights: (num_vars, 2) ln w(¬x), ln w(x), or None (unweighted).
        max_models: stop (count unknown) once more than this many models are found; 0: SAT check only.
        sat_budget: seconds for the first call (the SAT check).
        enum_budget: seconds for all further calls together.
    """
    from pysat.solvers import Solver

    if len(clause_ptr) <= 1:
        ln = num_vars * math.log(2.0) if log_weights is None else \
            float(np.logaddexp(log_weights[:, 0], log_weights[:, 1]).sum())
        return Enumeration(True, ln, 1, ln)
    with Solver(name=SOLVER_NAME) as solver:
        _load(solver, lits, clause_ptr)
        first = _solve(solver, sat_budget)
        if first is not True:
            return Enumeration(first, -math.inf if first is False else None, 0)
        models = [solver.get_model()[:num_vars]]
        if max_models <= 0 or enum_budget <= 0:
            return Enumeration(True, None, 1, _ln_sum(models, log_weights))
        timer = threading.Timer(enum_budget, solver.interrupt)
        timer.start()
        try:
            while len(models) <= max_models:
                solver.add_clause([-x for x in models[-1]])
                answer = solver.solve_limited(expect_interrupt=True)
                if answer is None:
                    return Enumeration(True, None, len(models), _ln_sum(models, log_weights))
                if answer is False:
                    break
                models.append(solver.get_model()[:num_vars])
            else:
                return Enumeration(True, None, len(models), _ln_sum(models, log_weights))
        finally:
            timer.cancel()
    ln = _ln_sum(models, log_weights)
    return Enumeration(True, ln, len(models), ln)


def _ln_sum(models: list[list[int]], log_weights: np.ndarray | None) -> float:
    """ln of the number of ``models`` (distinct, each a list of signed literals over 1..num_vars),
    or with ``log_weights`` (num_vars, 2), of the sum of their weights."""
    if log_weights is None:
        return math.log(len(models))
    truth = (np.asarray(models) > 0).astype(np.int64)  # (models, num_vars)
    per_model = np.take_along_axis(np.asarray(log_weights)[None, :, :], truth[:, :, None], axis=2)[:, :, 0].sum(axis=1)
    return float(np.logaddexp.reduce(per_model))
