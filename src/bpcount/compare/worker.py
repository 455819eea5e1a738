"""Child process for the Python-binding counters: ``python -m bpcount.compare.worker COUNTER FILE``.

``COUNTER`` is ``ganak`` (pyganak, exact), ``approxmc`` (pyapproxmc; ``--epsilon --delta --seed``) or
``approxmc-raw`` (pyapproxmc with only the documented free-variable correction; for demonstration).
``FILE`` is a DIMACS path or ``-`` (stdin). Projection lines are ignored: the unprojected count of every
clause over all declared variables is computed (:mod:`bpcount.compare.prep`).

The last stdout line is ``bpcount-worker-result <json>`` (anything the binding prints, such as pyganak's
``c o intermediate count: 0`` on UNSAT, stays above it). Only numpy and pyganak/pyapproxmc are
imported here; never torch.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from bpcount.cnf import Formula, read_dimacs
from bpcount.compare.prep import (
    anchor_clauses,
    clean_clauses,
    counting_clauses,
    first_model,
    ln_cells_hashes,
    ln_of_int,
    ln_unanchor,
)

RESULT_PREFIX = "bpcount-worker-result "


def package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def ganak_count(formula: Formula, *, seed: int = 0) -> dict:
    """Exact count with pyganak: every declared variable registered with ``new_vars(n)``."""
    clauses, empty = clean_clauses(formula)
    if empty:
        return {"ln_count": -math.inf, "detail": "empty clause"}
    import pyganak

    counter = pyganak.Counter(verbose=0, seed=seed)
    if formula.num_vars:
        counter.new_vars(formula.num_vars)
    for clause in clauses:
        counter.add_clause(clause)
    n = counter.count()
    return {"ln_count": ln_of_int(int(n)), "detail": f"pyganak-{package_version('pyganak')} exact"}


def approxmc_count(formula: Formula, *, epsilon: float = 0.8, delta: float = 0.2, seed: int = 1) -> dict:
    """(ε, δ) estimate with pyapproxmc on the unit-propagated, compacted, anchored formula
    (:mod:`bpcount.compare.prep`): free variables are added back as ln 2 each and the anchor's extra
    model is subtracted, because pyapproxmc drops variables that (its own) simplification frees.
    ``prep_seconds`` (propagation and one SAT call) is reported separately from ``count_seconds``."""
    t0 = time.perf_counter()
    cc = counting_clauses(formula)
    model = None if cc.has_empty_clause or not cc.clauses else first_model(cc.clauses)
    prep = time.perf_counter() - t0
    if cc.has_empty_clause or (cc.clauses and model is None):
        return {"ln_count": -math.inf, "cells": 0, "hashes": 0, "free": 0, "prep_seconds": prep,
                "detail": "UNSAT found in preprocessing"}
    if not cc.clauses:
        return {"ln_count": cc.ln_free, "cells": 1, "hashes": 0, "free": cc.num_free, "prep_seconds": prep,
                "detail": "no clauses left after preprocessing"}
    import pyapproxmc

    counter = pyapproxmc.Counter(verbosity=0, seed=seed, epsilon=epsilon, delta=delta)
    for clause in cc.clauses:
        counter.add_clause(clause)
    for clause in anchor_clauses(cc, model):
        counter.add_clause(clause)
    cells, hashes = counter.count()
    ln = ln_unanchor(ln_cells_hashes(int(cells), int(hashes))) + cc.ln_free
    return {"ln_count": ln, "cells": int(cells), "hashes": int(hashes), "free": cc.num_free, "prep_seconds": prep,
            "detail": f"pyapproxmc-{package_version('pyapproxmc')} {cells}*2**{hashes} (anchored: minus 1) "
                      f"+ {cc.num_free} free vars"}


def approxmc_raw_count(formula: Formula, *, epsilon: float = 0.8, delta: float = 0.2, seed: int = 1) -> dict:
    """pyapproxmc with only the documented correction (peers.md §3: ln 2 per variable in no clause or
    only in tautologies). Kept to show the failure :func:`approxmc_count` avoids: pyapproxmc also drops
    variables freed by its own simplification (BIRD s444_7_4: 50·2^12 instead of 12,818,432)."""
    clauses, empty = clean_clauses(formula)
    if empty:
        return {"ln_count": -math.inf, "cells": 0, "hashes": 0, "free": 0, "detail": "empty clause"}
    used = {abs(lit) for c in clauses for lit in c}
    free = formula.num_vars - len(used)
    if not clauses:
        return {"ln_count": free * math.log(2.0), "cells": 1, "hashes": 0, "free": free, "detail": "no clauses"}
    import pyapproxmc

    counter = pyapproxmc.Counter(verbosity=0, seed=seed, epsilon=epsilon, delta=delta)
    for clause in clauses:
        counter.add_clause(clause)
    cells, hashes = counter.count(sorted(used))
    ln = ln_cells_hashes(int(cells), int(hashes))
    return {"ln_count": ln + free * math.log(2.0) if cells else -math.inf, "cells": int(cells),
            "hashes": int(hashes), "free": free,
            "detail": f"pyapproxmc-{package_version('pyapproxmc')} raw {cells}*2**{hashes} + {free} free vars"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bpcount.compare.worker")
    p.add_argument("counter", choices=["ganak", "approxmc", "approxmc-raw"])
    p.add_argument("file")
    p.add_argument("--epsilon", type=float, default=0.8)
    p.add_argument("--delta", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=None)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    formula = read_dimacs(a.file)
    t_read = time.perf_counter() - t0
    if a.counter == "ganak":
        res = ganak_count(formula, seed=0 if a.seed is None else a.seed)
    else:
        fn = approxmc_count if a.counter == "approxmc" else approxmc_raw_count
        res = fn(formula, epsilon=a.epsilon, delta=a.delta, seed=1 if a.seed is None else a.seed)
    res.update(n_vars=formula.num_vars, n_clauses=formula.num_clauses, read_seconds=t_read,
               count_seconds=time.perf_counter() - t0 - t_read - res.get("prep_seconds", 0.0))
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(res), flush=True)
    return 0


def parse_worker_output(stdout: str) -> dict | None:
    """The result dict from a worker's stdout, or None when it printed none (crash, kill)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    return None


if __name__ == "__main__":
    sys.exit(main())
