"""Synthetic CNF families for tests, training data and benchmarks (no downloads).

Every generator takes a :class:`numpy.random.Generator` plus keyword parameters and returns a
:class:`~bpcount.cnf.Formula` whose header ``n`` includes variables that occur in no clause (free
variables are preserved). :func:`generate` derives formula ``i`` of a run from ``(seed, i)`` only, so a
run with ``-n 20`` starts with the same 10 files as a run with ``-n 10``.

Families (:data:`FAMILIES`; parameters and defaults in :data:`DEFAULTS`):

* ``kcnf``: uniform random k-CNF, ``n`` variables, ``round(ratio * n)`` clauses of ``k`` distinct
  variables with random signs. The 3-SAT threshold is near ratio 4.26; the default 3.0 is below it.
  ``sat_only=1`` resamples (bounded) until a SAT solver finds a model.
* ``dqmr``: DQMR-style noisy-or networks (the BIRD ``or-*`` family): ``diseases`` + ``symptoms``
  variables; each symptom is the OR of ``parents`` distinct random diseases, encoded as ``parents``
  clauses (¬d ∨ s) and one (¬s ∨ d1 ∨ … ∨ dk). A fraction ``observed`` of the symptoms gets a unit
  clause whose sign comes from one random world (diseases true with probability ``prior``), so the
  formula is always satisfiable; evidence is positive or negative.
* ``grid``: grid Bayesian-network-style formulas (the BIRD ``grid`` family): an ``rows`` × ``cols``
  grid, node (i, j) with parents (i-1, j) and (i, j-1). For each parent configuration, with probability
  ``determinism`` one value of the node is forbidden (a zero CPT entry, one clause). ``evidence`` random
  nodes get unit clauses taken from a forward sample, so the formula is satisfiable.
* ``coloring``: proper ``colors``-colouring of a random ``degree``-regular graph on ``nodes`` vertices
  (cnfgen ``GraphColoringFormula``, functional encoding: one colour per vertex).
* ``domset``: dominating sets of size ≤ ``size`` of a random ``degree``-regular graph (cnfgen
  ``DominatingSet``).
* ``tseitin``: Tseitin parity formula of a random ``degree``-regular graph with an even total charge
  (satisfiable; count 2^(E − V + 1) on a connected graph) (cnfgen ``TseitinFormula``).
* ``kxor``: random k-XOR with a planted solution (cnfgen ``RandomKXOR``): ``m`` parity constraints on
  ``n`` variables; satisfiable, count 2^(n − rank).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpcount.cnf import Formula

Clauses = list[list[int]]


def kcnf(rng: np.random.Generator, *, n: int = 30, k: int = 3, ratio: float = 3.0, sat_only: int = 0) -> Formula:
    m = int(round(ratio * n))
    if k > n:
        raise ValueError(f"kcnf: k={k} exceeds n={n}")
    for _ in range(100 if sat_only else 1):
        clauses: Clauses = []
        for _ in range(m):
            vs = rng.choice(n, size=k, replace=False) + 1
            signs = rng.integers(0, 2, size=k) * 2 - 1
            clauses.append([int(v * s) for v, s in zip(vs, signs)])
        if not sat_only or _satisfiable(clauses):
            return Formula.from_clauses(clauses, n)
    raise RuntimeError(f"kcnf: no satisfiable formula in 100 tries (n={n}, k={k}, ratio={ratio})")


def dqmr(rng: np.random.Generator, *, diseases: int = 30, symptoms: int = 30, parents: int = 4,
         observed: float = 0.5, prior: float = 0.3) -> Formula:
    if parents > diseases:
        raise ValueError(f"dqmr: parents={parents} exceeds diseases={diseases}")
    world = rng.random(diseases) < prior  # one sampled world, for consistent evidence
    clauses: Clauses = []
    values = []
    for s in range(symptoms):
        sv = diseases + s + 1
        par = [int(d) + 1 for d in rng.choice(diseases, size=parents, replace=False)]
        clauses.extend([[-d, sv] for d in par])
        clauses.append([-sv, *par])
        values.append(bool(world[np.array(par) - 1].any()))
    n_obs = int(round(observed * symptoms))
    for s in sorted(rng.choice(symptoms, size=n_obs, replace=False).tolist()):
        sv = diseases + s + 1
        clauses.append([sv if values[s] else -sv])
    return Formula.from_clauses(clauses, diseases + symptoms)


def grid(rng: np.random.Generator, *, rows: int = 6, cols: int = 6, determinism: float = 0.5,
         evidence: int = 3) -> Formula:
    def var(i, j):
        return i * cols + j + 1

    clauses: Clauses = []
    sample: dict[int, int] = {}
    for i in range(rows):
        for j in range(cols):
            v = var(i, j)
            par = ([var(i - 1, j)] if i else []) + ([var(i, j - 1)] if j else [])
            forbidden: dict[tuple[int, ...], int] = {}
            for cfg in range(1 << len(par)):
                bits = tuple((cfg >> b) & 1 for b in range(len(par)))
                if rng.random() < determinism:
                    bad = int(rng.integers(0, 2))  # value of v forbidden under this configuration
                    forbidden[bits] = bad
                    # clause: ¬(parents = bits ∧ v = bad)
                    clause = [(-p if b else p) for p, b in zip(par, bits)]
                    clause.append(-v if bad else v)
                    clauses.append(clause)
            bits = tuple(sample[p] for p in par)
            allowed = [x for x in (0, 1) if forbidden.get(bits) != x]
            sample[v] = int(rng.choice(allowed))
    n = rows * cols
    for v in sorted(rng.choice(n, size=min(evidence, n), replace=False).tolist()):
        clauses.append([v + 1 if sample[v + 1] else -(v + 1)])
    return Formula.from_clauses(clauses, n)


def _regular_graph(rng: np.random.Generator, nodes: int, degree: int):
    from cnfgen.graphs import random_gnd

    if (nodes * degree) % 2:
        raise ValueError(f"no {degree}-regular graph on {nodes} nodes (nodes·degree must be even)")
    return random_gnd(nodes, degree, seed=int(rng.integers(2**31)))


def _from_cnfgen(cnf) -> Formula:
    return Formula.from_clauses([list(c) for c in cnf.clauses()], cnf.number_of_variables())


def coloring(rng: np.random.Generator, *, nodes: int = 12, degree: int = 3, colors: int = 3) -> Formula:
    from cnfgen import GraphColoringFormula

    return _from_cnfgen(GraphColoringFormula(_regular_graph(rng, nodes, degree), colors))


def domset(rng: np.random.Generator, *, nodes: int = 12, degree: int = 3, size: int = 5) -> Formula:
    from cnfgen import DominatingSet

    return _from_cnfgen(DominatingSet(_regular_graph(rng, nodes, degree), size))


def tseitin(rng: np.random.Generator, *, nodes: int = 12, degree: int = 3) -> Formula:
    from cnfgen import TseitinFormula

    charges = rng.integers(0, 2, size=nodes)
    if charges.sum() % 2:
        charges[int(rng.integers(nodes))] ^= 1  # even total charge: satisfiable
    return _from_cnfgen(TseitinFormula(_regular_graph(rng, nodes, degree), charges=[int(c) for c in charges]))


def kxor(rng: np.random.Generator, *, n: int = 20, k: int = 3, m: int = 15) -> Formula:
    from cnfgen import RandomKXOR

    planted = [{i + 1: bool(b) for i, b in enumerate(rng.integers(0, 2, size=n))}]
    cnf = RandomKXOR(k, n, m, seed=int(rng.integers(2**31)), planted_assignments=planted)
    return Formula.from_clauses([list(c) for c in cnf.clauses()], n)


FAMILIES: dict[str, Callable[..., Formula]] = {
    "kcnf": kcnf, "dqmr": dqmr, "grid": grid, "coloring": coloring, "domset": domset, "tseitin": tseitin,
    "kxor": kxor,
}


def _defaults(fn) -> dict:
    import inspect

    return {k: p.default for k, p in inspect.signature(fn).parameters.items() if p.kind == p.KEYWORD_ONLY}


#: family -> {parameter: default}; the types of the defaults are the parameters' types.
DEFAULTS: dict[str, dict] = {name: _defaults(fn) for name, fn in FAMILIES.items()}


def coerce_params(family: str, params: dict[str, str | int | float]) -> dict:
    """Check names against :data:`DEFAULTS` and convert string values to the defaults' types."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    known = DEFAULTS[family]
    out = dict(known)
    for key, value in params.items():
        if key not in known:
            raise ValueError(f"family {family!r} has no parameter {key!r} (has: {', '.join(known)})")
        typ = type(known[key])
        try:
            out[key] = typ(float(value)) if typ is int and isinstance(value, str) and "." in value else typ(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{family}: {key}={value!r} is not a {typ.__name__}") from exc
    return out


def make_formula(family: str, seed: int, index: int, **params) -> Formula:
    """Formula ``index`` of family ``family`` for ``seed`` (deterministic; see the module docstring)."""
    params = coerce_params(family, params)
    rng = np.random.default_rng([int(seed), int(index)])
    return FAMILIES[family](rng, **params)


@dataclass(frozen=True)
class Generated:
    path: Path
    family: str
    n_vars: int
    n_clauses: int


def file_name(family: str, seed: int, index: int) -> str:
    return f"{family}_s{seed}_{index:05d}.cnf"


def generate(family: str, *, out: str | Path, count: int, seed: int = 0, **params) -> list[Generated]:
    """Write ``count`` formulas of ``family`` to ``out`` as DIMACS (header n keeps free variables)."""
    params = coerce_params(family, params)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    desc = " ".join(f"{k}={v}" for k, v in params.items())
    written = []
    for i in range(count):
        f = make_formula(family, seed, i, **params)
        path = out / file_name(family, seed, i)
        header = f"c generated by bpcount: family={family} seed={seed} index={i} {desc}\n"
        path.write_text(header + f.to_dimacs())
        written.append(Generated(path, family, f.num_vars, f.num_clauses))
    return written


def family_of_path(path: str | Path) -> str:
    """The family of a file written by :func:`generate` (from its name), else ``""``."""
    stem = Path(path).name.split("_s")[0]
    return stem if stem in FAMILIES else ""


def _satisfiable(clauses: Clauses) -> bool:
    from pysat.solvers import Solver

    with Solver(name="cadical153", bootstrap_with=clauses) as s:
        return bool(s.solve())

