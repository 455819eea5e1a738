"""Budgeted SAT calls (python-sat): the witness or proof behind the MCC ``s`` line, and an exact
count by enumeration when a formula has few models.

BP proves neither SAT nor UNSAT (bp-cnf.md §6); the MCC output needs a witness for
``s SATISFIABLE`` and a proof for ``s UNSATISFIABLE``. We run Glucose 4 with a budget (and a
wall-clock backstop: interrupted from a timer thread), then, only where it ran out, MiniSat 2.2 with a
budget of its own (:data:`CHECK_SOLVERS`), and return None when both run out.

:func:`enumerate_models` goes on from the witness the way ApproxMC's base case does: block each
model found and ask again, up to ``max_models`` models within a time budget. When the solver proves
that no further model exists, the count is exact: the number of models (or, weighted, the sum of
their weights). Formulas with few models are where BP's relative error is largest, and there this
costs a few milliseconds; formulas with many models stop at the bound and go to the estimator.

**Budgets are work, not wall time** (as the exact search's, :mod:`bpcount.search`): each budget is
seconds on the reference machine, charged by :class:`SatWorkModel` for the solver's propagations and
conflicts (read from its statistics) and for each model read back and blocked. Before every call the
solver gets the rest of the budget as propagation and conflict limits, so a formula ends the same way
on every machine and under any load (Glucose checks its limits at restarts, so one call can overrun
them: the overrun is the same everywhere). A wall-clock limit of :data:`WALL_LIMIT_FACTOR` × the budget
still applies (a timer interrupts the solver, and the enumeration loop checks the clock between
calls, where an interrupt would be lost: with wall-time budgets alone, enumerations of formulas
with 10^4–10^5 variables ran to the 1024-model cap, 4–25 s on a 0.5 s budget).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np

#: python-sat solver of the SAT check and of the search probes' oracle (:mod:`bpcount.probe`);
#: supports interrupt() and propagation and conflict limits.
SOLVER_NAME = "glucose4"

#: Solvers the SAT check tries in turn, each with the whole check budget, the next only where the
#: one before ran out of it without a model or a proof (:func:`enumerate_models`). On 27 planted
#: random 3-CNFs near the threshold (n = 300–400, ratio 4.6–4.8; ``benchmarks/results/sat_fallback.md``)
#: Glucose answered 11 checks, MiniSat 2.2 alone 10 and the two in turn 15: each finds models where
#: the other runs out. Where the first answers, nothing changes; where it runs out, the check costs up
#: to one more budget. MiniSat's work is charged by the same :class:`SatWorkModel` (fitted on
#: Glucose), so its budget is as deterministic as Glucose's.
CHECK_SOLVERS = (SOLVER_NAME, "minisat22")

#: Defaults shared by counting (CountOptions, the CLI) and training (formulas counting would
#: enumerate are not trained on): seconds of work (reference machine, :class:`SatWorkModel`) for the
#: SAT check, models to enumerate, seconds of work for that.
DEFAULT_SAT_BUDGET = 2.0
DEFAULT_ENUM_MODELS = 1024
DEFAULT_ENUM_BUDGET = 0.5

#: Wall-clock limit of a budgeted call or enumeration, as a multiple of its work budget (the same
#: backstop as the search's, bpcount.search.WALL_LIMIT_FACTOR).
WALL_LIMIT_FACTOR = 5.0


@dataclass(frozen=True)
class SatWorkModel:
    """Reference-machine seconds charged per unit of SAT work (fields in seconds): ``propagation``
    and ``conflict`` for the solver's counters, ``model_literal`` per literal of each model read
    back and blocked (the Python side of the enumeration). Fitted by ``benchmarks/sat_work.py``
    (twelfth session, on the 2-core VM): the SAT check and enumeration of the train and unlabeled
    splits' residuals and 12 hard random 3-CNFs (303 runs, 222 of them over 10 ms), non-negative
    least squares on the relative error of each run's charge against its wall time; rerun with
    these values, wall time / charge p10 0.80, median 1.01, p90 1.69, max 2.81
    (results/sat_work.md). In an enumeration the
    propagations and the model literals grow together (each model assigns every variable), so
    their split is poorly determined; their sum per model is not. Refit after a change that makes
    these steps faster or slower."""

    propagation: float = 8.1e-8
    conflict: float = 1.4e-5
    model_literal: float = 5.5e-8


#: The work model the SAT stages charge by default.
DEFAULT_SAT_WORK_MODEL = SatWorkModel()


@dataclass
class _Meter:
    """Charges one budget's solver calls (see the module docstring)."""

    solver: object
    budget: float  # reference-machine seconds
    model: SatWorkModel
    deadline: float  # time.monotonic()
    counts: dict = field(default_factory=lambda: {"propagations": 0, "conflicts": 0, "model_literals": 0})
    _timer: threading.Timer | None = None

    @property
    def work(self) -> float:
        """Reference seconds charged so far."""
        return sat_work(self.model, **self.counts)

    def solve(self, assumptions: list[int] | None = None) -> bool | None:
        """One solver call within what is left of the budget: True, False, or None (budget or
        wall-clock limit reached first). ``assumptions``: literals assumed true for this call only."""
        left = self.budget - self.work
        if left <= 0 or time.monotonic() >= self.deadline:
            return None
        self.solver.prop_budget(max(1, int(left / self.model.propagation)))
        self.solver.conf_budget(max(1, int(left / self.model.conflict)))
        before = self.solver.accum_stats()
        answer = self.solver.solve_limited(assumptions=assumptions or [], expect_interrupt=True)
        after = self.solver.accum_stats()
        self.counts["propagations"] += after["propagations"] - before["propagations"]
        self.counts["conflicts"] += after["conflicts"] - before["conflicts"]
        return answer

    def __enter__(self) -> _Meter:
        """Start the wall-clock backstop: a timer that interrupts the solver at the deadline (an
        interrupt that lands between two calls is lost; :meth:`solve` checks the clock first)."""
        self._start_timer()
        return self

    def _start_timer(self) -> None:
        wait = self.deadline - time.monotonic()
        self._timer = threading.Timer(max(0.0, wait), self.solver.interrupt) if math.isfinite(wait) else None
        if self._timer is not None:
            self._timer.start()

    def __exit__(self, *exc) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def move_deadline(self, deadline: float) -> None:
        """Set a new wall-clock deadline (inside the ``with`` block: the backstop timer is restarted)."""
        self.deadline = deadline
        if self._timer is not None:
            self._timer.cancel()
            self._start_timer()

    def model_read(self, literals: int) -> None:
        """Charge reading back and blocking a model of ``literals`` literals."""
        self.counts["model_literals"] += literals


def sat_work(model: SatWorkModel, *, propagations: int = 0, conflicts: int = 0, model_literals: int = 0) -> float:
    """Reference-machine seconds ``model`` charges for these counts."""
    return model.propagation * propagations + model.conflict * conflicts + model.model_literal * model_literals


@dataclass(frozen=True)
class Enumeration:
    """Outcome of :func:`enumerate_models`.

    ``satisfiable``: True (a model was found), False (proven UNSAT) or None (budget exhausted first).
    ``ln_count``: exact ln of the (weighted) model count when every model was enumerated, else None
    (−inf when UNSAT). ``models``: models found (≤ max_models + 1). ``ln_found``: ln of the (weighted)
    sum over the models found, a lower bound on ln Z (−inf when none was found). ``work``: reference
    seconds charged (SAT check + enumeration, :class:`SatWorkModel`); ``counts``: what was charged
    (propagations, conflicts, model_literals); ``seconds``: wall time; ``solver``: the solver that
    answered the check (:data:`CHECK_SOLVERS`; None where none did or no call was needed).
    """

    satisfiable: bool | None
    ln_count: float | None
    models: int
    ln_found: float = -math.inf
    work: float = 0.0
    counts: dict | None = None
    seconds: float = 0.0
    solver: str | None = None


def _load(solver, lits: np.ndarray, clause_ptr: np.ndarray) -> None:
    bounds = clause_ptr.tolist()
    flat = lits.tolist()
    for a, b in zip(bounds[:-1], bounds[1:]):
        solver.add_clause(flat[a:b])


def enumerate_models(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, log_weights: np.ndarray | None = None,
                     *, max_models: int, sat_budget: float, enum_budget: float = 0.0,
                     work_model: SatWorkModel = DEFAULT_SAT_WORK_MODEL, wall_factor: float = WALL_LIMIT_FACTOR,
                     solvers: tuple[str, ...] = CHECK_SOLVERS) -> Enumeration:
    """A budgeted SAT check, then (``max_models`` > 0) enumeration of up to ``max_models`` models.

    Args:
        num_vars, lits, clause_ptr: the formula: ``lits`` (E,) signed literals over 1..num_vars,
            ``clause_ptr`` (C+1,) CSR offsets; every variable in some clause (the
            simplifier's residual; a variable in no clause would be missing from the blocking clauses).
        log_weights: (num_vars, 2) ln w(¬x), ln w(x), or None (unweighted).
        max_models: stop (count unknown) once more than this many models are found; 0: SAT check only.
        sat_budget: seconds of work (reference machine, ``work_model``) for the SAT check, per solver.
        enum_budget: seconds of work for all further calls together.
        wall_factor: each budget's wall-clock limit, as a multiple of it (``math.inf``: none).
        solvers: python-sat solver names the check tries in turn, each with ``sat_budget`` of its own,
            the next only where the one before ran out of it (:data:`CHECK_SOLVERS`); the solver that
            answered enumerates.
    """
    from pysat.solvers import Solver

    if not solvers:
        raise ValueError("enumerate_models: solvers must name at least one solver")
    t0 = time.monotonic()
    if len(clause_ptr) <= 1:
        ln = num_vars * math.log(2.0) if log_weights is None else \
            float(np.logaddexp(log_weights[:, 0], log_weights[:, 1]).sum())
        return Enumeration(True, ln, 1, ln)
    meters: list[_Meter] = []

    def result(satisfiable, ln_count, models, ln_found, name) -> Enumeration:
        counts = {k: sum(m.counts[k] for m in meters) for k in meters[0].counts}
        return Enumeration(satisfiable, ln_count, models, ln_found, work=sat_work(work_model, **counts),
                           counts=counts, seconds=time.monotonic() - t0, solver=name)

    solver = first = name = None
    try:
        for name in solvers:  # a solver that ran out is deleted before the next one is built
            if solver is not None:
                solver.delete()
            solver = Solver(name=name)
            _load(solver, lits, clause_ptr)
            check = _Meter(solver, sat_budget, work_model, time.monotonic() + wall_factor * sat_budget)
            meters.append(check)
            with check:
                first = check.solve()
            if first is not None:
                break
        if first is not True:
            return result(first, -math.inf if first is False else None, 0, -math.inf,
                          None if first is None else name)
        models = [solver.get_model()[:num_vars]]
        if max_models <= 0 or enum_budget <= 0:
            return result(True, None, 1, _ln_sum(models, log_weights), name)
        meter = _Meter(solver, enum_budget, work_model, time.monotonic() + wall_factor * enum_budget)
        meters.append(meter)
        with meter:
            while len(models) <= max_models:
                meter.model_read(num_vars)
                solver.add_clause([-x for x in models[-1]])
                answer = meter.solve()
                if answer is None:
                    return result(True, None, len(models), _ln_sum(models, log_weights), name)
                if answer is False:
                    break
                models.append(solver.get_model()[:num_vars])
            else:
                return result(True, None, len(models), _ln_sum(models, log_weights), name)
    finally:
        if solver is not None:
            solver.delete()
    ln = _ln_sum(models, log_weights)
    return result(True, ln, len(models), ln, name)


def _ln_sum(models: list[list[int]], log_weights: np.ndarray | None) -> float:
    """ln of the number of ``models`` (distinct, each a list of signed literals over 1..num_vars),
    or with ``log_weights`` (num_vars, 2), of the sum of their weights."""
    if log_weights is None:
        return math.log(len(models))
    truth = (np.asarray(models) > 0).astype(np.int64)  # (models, num_vars)
    per_model = np.take_along_axis(np.asarray(log_weights)[None, :, :], truth[:, :, None], axis=2)[:, :, 0].sum(axis=1)
    return float(np.logaddexp.reduce(per_model))
