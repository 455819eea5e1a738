"""A short, budgeted SAT call (python-sat) that proves the MCC ``s`` line.

BP proves neither SAT nor UNSAT (bp-cnf.md §6); the MCC output needs a witness for
``s SATISFIABLE`` and a proof for ``s UNSATISFIABLE``. We run Glucose 4 with a wall-clock budget
(interrupted from a timer thread) and return None when it runs out.
"""

from __future__ import annotations

import threading

import numpy as np

#: python-sat solver used for the check (supports interrupt()).
SOLVER_NAME = "glucose4"


def check_sat(num_vars: int, lits: np.ndarray, clause_ptr: np.ndarray, *, budget_seconds: float) -> bool | None:
    """True (model found), False (proven UNSAT) or None (budget exhausted).

    ``lits`` (E,) signed literals over 1..num_vars, ``clause_ptr`` (C+1,) CSR offsets.
    """
    from pysat.solvers import Solver

    if len(clause_ptr) <= 1:
        return True
    bounds = clause_ptr.tolist()
    flat = lits.tolist()
    with Solver(name=SOLVER_NAME) as solver:
        for a, b in zip(bounds[:-1], bounds[1:]):
            solver.add_clause(flat[a:b])
        timer = threading.Timer(budget_seconds, solver.interrupt)
        timer.start()
        try:
            answer = solver.solve_limited(expect_interrupt=True)
        finally:
            timer.cancel()
    return answer
