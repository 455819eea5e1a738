"""The library entry point: ``count(inputs, options=...)`` → one :class:`CountResult` per input.

Pipeline per input: read (own DIMACS reader) → projection/weight policy → exact simplification →
budgeted SAT check and model enumeration (optional) → budgeted exact search (optional) → proven
bounds on what is left (:func:`proven_bounds`) → budgeted search probes (optional; an estimate,
:mod:`bpcount.probe`) → batched engine (BP, BPNN or neighbourhood BP) on the residuals the probes
did not answer, up to ``batch_size`` formulas at once, each estimate projected into its bounds (a
BPNN whose gate-BP base is below the lower bound answers that bound, :func:`_with_engine`) → the
probes' check, where too few probes finished to answer (:func:`_checked`) → results in input
order. With ``jobs`` > 1 the per-input stages before the engine run in worker processes
(:mod:`bpcount.parallel`) while the engine runs here. One unreadable file, or one whose
preparation fails unexpectedly, gives a result with ``status="error"``; the others are still counted.

Timing: ``seconds`` is the formula's own reading/simplification/SAT time plus its share of the
batch's engine time (batch wall time / formulas in the batch). One-time start-up (importing torch,
loading the model) is not charged to any formula; whole-process times are in benchmarks/README.md.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from bpcount.bounds import DEFAULT_BOUND_BUDGET, upper_bound
from bpcount.cnf import DimacsError, Formula, read_dimacs
from bpcount.elimination import DEFAULT_MAX_WIDTH
from bpcount.probe import (
    DEFAULT_PROBE_BUDGET,
    DEFAULT_PROBE_MAX_BUDGET,
    DEFAULT_PROBE_TARGET_RSE,
    check_lower_bound,
    overrules,
    probe_log_count,
)
from bpcount.sat import (
    DEFAULT_ENUM_BUDGET,
    DEFAULT_ENUM_MODELS,
    DEFAULT_SAT_BUDGET,
    enumerate_models,
)
from bpcount.search import DEFAULT_SEARCH_BUDGET, search_log_count
from bpcount.simplify import (
    DEFAULT_EXACT_MAX_VARS,
    Residual,
    Simplified,
    log_weight_totals,
    simplify,
)

METHODS = ("bp", "bpnn", "loopy")
DIMACS_GLOBS = ("*.cnf*", "*.dimacs*")
LN10 = math.log(10.0)

#: A batch is closed once it holds this many edges, so one huge formula is not batched with many.
MAX_BATCH_EDGES = 4_000_000

#: On CPU, batches below this many edges run on one torch thread (unless --threads is given): the
#: per-iteration work is too small to split, and on a busy machine oversubscribed OpenMP threads
#: were measured to slow BP down by 10-500x (benchmarks/README.md).
MULTITHREAD_MIN_EDGES = 100_000

#: The warning of an estimate whose formula no stage found a model of (the MCC ``s`` line says
#: UNKNOWN): the feasible range's lower bound, ln of one model, and the estimate assume there is one.
SATISFIABILITY_UNKNOWN = ("no model was found (each SAT check solver ran out of its --sat-budget and no search probe "
                          "finished): satisfiability is unknown, and the estimate and its lower bound assume "
                          "a model exists")


@dataclass(frozen=True)
class CountOptions:
    """Options of :func:`count` (the CLI fills one of these; every field has a safe default)."""

    method: str = "bp"  # bp | bpnn | loopy
    device: str = "auto"  # auto | cpu | cuda
    dtype: str | None = None  # float64 | float32; None: float64 on CPU, float32 on CUDA
    batch_size: int = 64  # formulas per engine call
    max_iters: int = 500  # message-passing iterations (BP, loopy); BPNN uses its own layer count
    damping: float = 0.5  # weight of the old message
    tol: float | None = None  # convergence tolerance on max |Δλ|; None: per dtype
    timeout: float | None = None  # seconds of engine time per batch (see module docstring)
    seed: int = 0
    exact_max_vars: int = DEFAULT_EXACT_MAX_VARS  # components this small are enumerated exactly
    exact_max_width: int = DEFAULT_MAX_WIDTH  # components of elimination width ≤ this are counted exactly
    # by variable elimination (bpcount.elimination); 0: off
    equivalences: bool | None = None  # equivalent-literal substitution when simplifying; None: the
    # method's choice (bp, loopy: on; bpnn: as its checkpoint was trained, see simplify_equivalences)
    gates: bool = True  # bp: merge Tseitin AND/OR gates and XOR triples into single factors
    # (bpcount.gategraph; exact on tree circuits) instead of one factor per clause
    condition: int = 0  # sum the engine over the 2^c assignments of up to c loop-cutset variables
    # (bpcount.condition); 0: off
    ignore_projection: bool = False  # count unprojected even for `c t pmc` / `c p show`
    strict: bool = False  # more clauses than the header declares is an error
    sat_check: bool = True  # prove the `s` line with a budgeted SAT call
    sat_budget: float = DEFAULT_SAT_BUDGET  # seconds of work (reference machine, bpcount.sat.SatWorkModel) for that call
    enum_models: int = DEFAULT_ENUM_MODELS  # after the SAT check's witness, enumerate up to this many models of the
    # residual; when the solver proves there are no more, the count is exact (bpcount.sat); 0: off
    enum_budget: float = DEFAULT_ENUM_BUDGET  # seconds of work for that enumeration (as sat_budget)
    search_budget: float = DEFAULT_SEARCH_BUDGET  # seconds of exact component-caching search on what is
    # still undecided, as work on the reference machine (bpcount.search: the same formulas are decided
    # on any machine); exact if it finishes, else the engine estimates; 0: off
    probe_budget: float = DEFAULT_PROBE_BUDGET  # seconds of search probes (bpcount.probe: random paths down
    # the exact search's tree, each an unbiased estimate of the count; SAT-guided) on what the search
    # left, as work on the reference machine; when enough probes finish, their mean is the answer and
    # the method's engine does not run for that formula; 0: off
    probe_max_budget: float = DEFAULT_PROBE_MAX_BUDGET  # where enough probes finished within probe_budget
    # but the relative standard error of their mean is above probe_target_rse, probing goes on until it is
    # within it or until this much work is spent (≤ probe_budget: no extension)
    probe_target_rse: float | None = DEFAULT_PROBE_TARGET_RSE  # that target (None or inf: no extension)
    probe_check: bool = True  # where fewer than 4 probes finished within probe_budget, probing goes on (as
    # for the extension) and the engine still answers, unless it is far above the probes' mean (by more
    # than 5 nats and 10 % of it) or below the lower bound their values give with 95 % confidence
    # (bpcount.probe.overrules); then the probes answer
    bound_budget: float = DEFAULT_BOUND_BUDGET  # work (reference-machine seconds) for the mini-bucket upper
    # bound on what goes to the engine (bpcount.bounds); estimates are projected into [lower, upper]; 0: off
    on_nonconvergence: str = "report"  # report | error
    checkpoint: str | None = None  # BPNN checkpoint; None = shipped default
    radius: int = 1  # loopy: neighbourhood radius
    max_region_vars: int = 20  # loopy: regions above this are summed by Monte Carlo
    mc_samples: int = 10_000  # loopy: samples per Monte Carlo local sum
    estimator: str = "cvm"  # loopy: cvm (region entropy, one solve) | ti (thermodynamic integration)
    threads: int | None = None  # CPU threads for torch; None keeps torch's default
    jobs: int = 1  # processes for the per-formula CPU stages (reading, simplification, SAT check,
    # enumeration, exact search; bpcount.parallel), which then overlap the engine; 1: all in this
    # process; 0: one per CPU


@dataclass(frozen=True)
class CountResult:
    """One input's outcome. ``ln_count`` is nats; −inf for a proven-UNSAT formula; None on error.

    ``ln_lower`` ≤ ln Z ≤ ``ln_upper`` are proven bounds (nats) for an estimated count (below: models
    found by enumeration or counted by an unfinished search; above: mini-bucket elimination,
    :mod:`bpcount.bounds`); :attr:`bounds` gives the count itself for both when it is exact.
    """

    file: str
    status: str  # ok | error | timeout | nonconverged
    method: str
    ln_count: float | None = None
    exact: bool = False
    converged: bool | None = None
    iterations: int | None = None
    residual: float | None = None
    satisfiable: bool | None = None
    weighted: bool = False
    projection_ignored: str | None = None
    seconds: float = 0.0
    n_vars: int | None = None
    n_clauses: int | None = None
    exact_vars: int | None = None
    warnings: tuple[str, ...] = ()
    error: str | None = None
    error_kind: str | None = None  # input | runtime
    stats: dict = field(default_factory=dict)
    ln_lower: float | None = None
    ln_upper: float | None = None

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """(lower, upper) proven bounds on ln Z in nats: the count itself when exact; None where unknown."""
        if self.status == "ok" and self.exact:
            return self.ln_count, self.ln_count
        return self.ln_lower, self.ln_upper

    @property
    def estimator(self) -> str | None:
        """What produced ``ln_count``: ``"exact"`` (decided exactly, UNSAT included), ``"probes"``
        (search probes, :mod:`bpcount.probe`), else the method's engine (``method``); None on error."""
        if self.status != "ok":
            return None
        if self.exact:
            return "exact"
        return "probes" if (self.stats.get("probe") or {}).get("used") else self.method

    @property
    def log10_count(self) -> float | None:
        return None if self.ln_count is None else self.ln_count / LN10

    @property
    def has_estimate(self) -> bool:
        return self.status == "ok"

    def to_record(self) -> dict:
        """A JSON-safe dict (no NaN/Infinity: a −inf count is written as null with satisfiable false)."""

        def finite(x):
            return x if (x is not None and math.isfinite(x)) else None

        return {
            "file": self.file,
            "status": self.status,
            "method": self.method,
            "estimator": self.estimator,
            "ln_count": finite(self.ln_count),
            "log10_count": finite(self.log10_count),
            "ln_lower": finite(self.bounds[0]),
            "ln_upper": finite(self.bounds[1]),
            "exact": self.exact,
            "satisfiable": self.satisfiable,
            "converged": self.converged,
            "iterations": self.iterations,
            "residual": finite(self.residual),
            "type": "wmc" if self.weighted else "mc",
            "projection_ignored": self.projection_ignored,
            "seconds": round(self.seconds, 6),
            "n_vars": self.n_vars,
            "n_clauses": self.n_clauses,
            "exact_vars": self.exact_vars,
            "warnings": list(self.warnings),
            "error": self.error,
            "stats": self.stats,
        }


def expand_inputs(inputs: Iterable[str | Path]) -> list[str]:
    """Files as given, ``-`` as is, directories searched recursively for ``*.cnf*`` and ``*.dimacs*``
    (sorted)."""
    out: list[str] = []
    for item in inputs:
        p = Path(item)
        if str(item) != "-" and p.is_dir():
            found = {f for pattern in DIMACS_GLOBS for f in p.rglob(pattern) if f.is_file()}
            out.extend(str(f) for f in sorted(found))
        else:
            out.append(str(item))
    return out


@dataclass
class _Pending:
    result: CountResult
    simplified: Simplified | None = None
    bounds: tuple[float, float] = (-math.inf, math.inf)  # proven (lower, upper) ln Z for the engine's clamp


def simplify_equivalences(opts: CountOptions) -> bool:
    """Whether simplification substitutes equivalent literals for this run.

    An explicit ``opts.equivalences`` wins. Otherwise BP and loopy substitute (fewer variables and
    no two-clause loops: much better Bethe values on circuits), and a BPNN sees residuals simplified
    the way its training formulas were (``train_config.equivalences`` of the checkpoint; absent in
    checkpoints that predate the option, which were trained without substitution). It comes from the
    checkpoint's settings file (:mod:`bpcount.bpnn.sidecar`, written with every checkpoint), so counts
    the exact stages or the probes answer never import torch; without one (or with one written for
    other bytes) the checkpoint itself is read, which imports torch, once per checkpoint file and only
    when a formula gets this far (unreadable inputs never pay for it).
    """
    if opts.equivalences is not None:
        return opts.equivalences
    if opts.method != "bpnn":
        return True
    return _checkpoint_equivalences(opts.checkpoint)


@functools.lru_cache(maxsize=8)
def _checkpoint_equivalences_cached(path: str | None, mtime: float | None) -> bool:
    from bpcount.bpnn.sidecar import DEFAULT_NAME, equivalences_of, read_equivalences, shipped_file

    try:
        known = read_equivalences(shipped_file(DEFAULT_NAME) if path is None else Path(path))
    except FileNotFoundError:
        known = None
    if known is not None:  # from the checkpoint's settings file: no torch
        return known
    from bpcount.bpnn.checkpoint import load_checkpoint

    try:
        ckpt = load_checkpoint(path)
    except Exception:  # noqa: BLE001 - the engine reports an unusable checkpoint when it loads it
        return False
    return equivalences_of(ckpt.get("train_config"))


def _checkpoint_equivalences(path: str | None) -> bool:
    try:
        mtime = Path(path).stat().st_mtime if path is not None else None
    except OSError:
        mtime = None
    return _checkpoint_equivalences_cached(path, mtime)


def _source_name(source: str | Formula) -> str:
    """How results name an input: a Formula's source, ``<stdin>`` for ``-``, else the path."""
    return source.source if isinstance(source, Formula) else ("<stdin>" if source == "-" else str(source))


def _prepare_safe(job: tuple[str | Formula, CountOptions]) -> _Pending:
    """:func:`_prepare` for one (source, options) pair, with an unexpected failure (a bug, memory)
    turned into that input's error result, so the other inputs are still counted. Module-level:
    :func:`bpcount.parallel.map_ordered` runs it in worker processes."""
    source, opts = job
    try:
        return _prepare(source, opts)
    except Exception as exc:  # noqa: BLE001 - one formula's failure must not lose the others
        return _prepare_failed(job, exc)


def _prepare_failed(job: tuple[str | Formula, CountOptions], exc: BaseException) -> _Pending:
    source, opts = job
    name = _source_name(source)
    return _Pending(CountResult(file=name, status="error", method=opts.method, error_kind="runtime",
                                error=f"{name}: {type(exc).__name__}: {exc}"))


def _prepared(sources: list[str | Formula], opts: CountOptions) -> Iterator[_Pending]:
    """:func:`_prepare_safe` of every source in order, in ``opts.jobs`` worker processes when > 1."""
    from bpcount.parallel import map_ordered, resolve_jobs

    jobs = resolve_jobs(opts.jobs)
    if jobs > 1 and len(sources) > 1:
        # decided once here, so that no worker loads the BPNN checkpoint (and torch) to learn it
        opts = replace(opts, equivalences=simplify_equivalences(opts))
    return map_ordered(_prepare_safe, [(s, opts) for s in sources], jobs, on_error=_prepare_failed,
                       local=lambda job: job[0] == "-")


def _prepare(source: str | Formula, opts: CountOptions) -> _Pending:
    """Read, apply the projection policy, simplify and SAT-check one input (no engine yet)."""
    t0 = time.perf_counter()
    name = _source_name(source)
    base = CountResult(file=name, status="ok", method=opts.method)
    try:
        formula = source if isinstance(source, Formula) else read_dimacs(source, strict=opts.strict)
    except DimacsError as exc:
        return _Pending(replace(base, status="error", error=str(exc), error_kind="input",
                                    seconds=time.perf_counter() - t0))
    warnings = list(formula.warnings)
    projection_ignored = None
    proj = formula.projection
    if proj is not None and len(proj[1]) == formula.num_vars:
        proj = None  # a show set listing every variable is plain model counting [MCC]
    task_is_projected = formula.task in ("pmc", "pwmc")
    if (task_is_projected or (proj is not None and proj[0] == "c p show")) and not opts.ignore_projection:
        what = f"task 'c t {formula.task}'" if task_is_projected else f"'c p show' ({len(proj[1])} variables)"
        return _Pending(replace(
            base, status="error", error_kind="input", seconds=time.perf_counter() - t0,
            n_vars=formula.num_vars, n_clauses=formula.num_clauses,
            error=f"{name}: projected counting requested by {what}; bpcount estimates the unprojected "
                  "count (a different number). Pass --ignore-projection to count all variables.",
        ))
    if proj is not None:
        projection_ignored = proj[0]
        if proj[0] == "c ind":
            warnings.append(f"legacy 'c ind' set of {len(proj[1])} variables ignored: all variables are counted")
    elif task_is_projected:
        projection_ignored = f"c t {formula.task}"
    base = replace(base, weighted=formula.weighted, projection_ignored=projection_ignored,
                   warnings=tuple(warnings), n_vars=formula.num_vars, n_clauses=formula.num_clauses)
    simplified = simplify(formula, exact_max_vars=opts.exact_max_vars, exact_max_width=opts.exact_max_width,
                          equivalences=simplify_equivalences(opts))
    stats = dict(simplified.stats)
    if simplified.unsat:
        return _Pending(replace(base, ln_count=-math.inf, exact=True, satisfiable=False, stats=stats,
                                    exact_vars=formula.num_vars, seconds=time.perf_counter() - t0))
    if simplified.residual is None:
        return _Pending(replace(base, ln_count=simplified.ln_exact, exact=True, satisfiable=True,
                                    converged=True, iterations=0, stats=stats, exact_vars=formula.num_vars,
                                    seconds=time.perf_counter() - t0))
    satisfiable = None
    found = searched = None
    if opts.sat_check:
        r = simplified.residual
        found = enumerate_models(r.num_vars, r.lits, r.clause_ptr, r.log_phi, max_models=opts.enum_models,
                                 sat_budget=opts.sat_budget, enum_budget=opts.enum_budget)
        stats["sat"] = {"work": round(found.work, 6), "seconds": round(found.seconds, 6), "solver": found.solver,
                        **(found.counts or {})}
        satisfiable = found.satisfiable
        if satisfiable is False:
            stats["unsat_reason"] = "SAT solver"
            return _Pending(replace(base, ln_count=-math.inf, exact=True, satisfiable=False, stats=stats,
                                        exact_vars=formula.num_vars, seconds=time.perf_counter() - t0))
        if opts.enum_models > 0:
            stats["enumerated_models"] = found.models
        if opts.enum_models > 0 and found.ln_count is not None:
            return _Pending(replace(base, ln_count=simplified.ln_exact + found.ln_count, exact=True,
                                    satisfiable=True, converged=True, iterations=0, stats=stats,
                                    exact_vars=formula.num_vars, seconds=time.perf_counter() - t0))
    if opts.search_budget > 0:
        r = simplified.residual
        try:
            searched = search_log_count(r.num_vars, r.lits, r.clause_ptr, r.log_phi, budget=opts.search_budget)
        except (MemoryError, ValueError, RecursionError) as exc:  # the search only ever adds exactness:
            # the estimator still runs, and the stats say why the search gave none
            stats["search"] = {"decided": False, "error": f"{type(exc).__name__}: {exc}"}
            searched = None
        else:
            stats["search"] = {"decided": searched.ln_count is not None, "nodes": searched.nodes,
                               "ln_lower": searched.ln_lower if math.isfinite(searched.ln_lower) else None,
                               "cache_hits": searched.cache_hits, "seconds": round(searched.seconds, 6),
                               "work": round(searched.work, 6)}
        ln_searched = None if searched is None else searched.ln_count
        if ln_searched == -math.inf:
            stats["unsat_reason"] = "exact search"
            return _Pending(replace(base, ln_count=-math.inf, exact=True, satisfiable=False, stats=stats,
                                    exact_vars=formula.num_vars, seconds=time.perf_counter() - t0))
        if ln_searched is not None:
            return _Pending(replace(base, ln_count=simplified.ln_exact + ln_searched, exact=True,
                                    satisfiable=True, converged=True, iterations=0, stats=stats,
                                    exact_vars=formula.num_vars, seconds=time.perf_counter() - t0))
    search_lower = -math.inf if searched is None else searched.ln_lower
    lower, upper = proven_bounds(simplified.residual, -math.inf if found is None else found.ln_found, opts, stats,
                                 search_lower=search_lower)
    if upper == -math.inf:
        stats["unsat_reason"] = "mini-bucket elimination"
        return _Pending(replace(base, ln_count=-math.inf, exact=True, satisfiable=False, stats=stats,
                                exact_vars=formula.num_vars, seconds=time.perf_counter() - t0))
    base = replace(base, satisfiable=satisfiable, stats=stats, ln_lower=lower, ln_upper=upper,
                   exact_vars=stats.get("exact_vars"))
    if opts.probe_budget > 0:
        base = _probe(base, simplified.residual, (lower, upper), opts, formula.num_vars)
        if base.ln_count is not None:
            return _Pending(replace(base, seconds=time.perf_counter() - t0))
    return _Pending(replace(base, seconds=time.perf_counter() - t0), simplified, (lower, upper))


def _probe(base: CountResult, r: Residual, bounds: tuple[float, float], opts: CountOptions,
           num_vars: int) -> CountResult:
    """``base`` with the search probes' answer for residual ``r`` (:mod:`bpcount.probe`), or with
    ``ln_count`` still None when too few probes finished within the budget (the engine then
    estimates). Records ``stats['probe']``; the estimate is projected into the proven ``bounds``.
    Exact when no probe met a random choice (every decision forced: the one path is the count), and
    UNSAT when the solver found no model."""
    stats = dict(base.stats)
    try:
        res = probe_log_count(r.num_vars, r.lits, r.clause_ptr, r.log_phi, budget=opts.probe_budget,
                              max_budget=opts.probe_max_budget, target_rse=opts.probe_target_rse,
                              check=opts.probe_check, seed=opts.seed)
    except (MemoryError, ValueError, RecursionError) as exc:  # probes are optional: the engine estimates
        stats["probe"] = {"used": False, "error": f"{type(exc).__name__}: {exc}"}
        return replace(base, stats=stats)
    info = {"used": res.ln_count is not None, "probes": res.probes, "random_choices": res.random_choices,
            "rel_se": None if res.rel_se is None else round(res.rel_se, 6), "sat_calls": res.sat_calls,
            "work": round(res.work, 6), "seconds": round(res.seconds, 6)}
    if res.ln_check is not None and res.ln_check > -math.inf:  # a check on the engine (_checked)
        info["check"] = round(r.ln_offset + res.ln_check, 6)
        info["check_lower"] = round(r.ln_offset + check_lower_bound(res.ln_samples), 6)
    stats["probe"] = info
    if res.ln_count is None:  # every finished probe ended in a model: one proves satisfiability
        found = any(math.isfinite(x) for x in res.ln_samples)
        return replace(base, stats=stats, satisfiable=True if found else base.satisfiable)
    if res.ln_count == -math.inf:
        stats["unsat_reason"] = "SAT solver (probes)"
        return replace(base, ln_count=-math.inf, exact=True, satisfiable=False, stats=stats, exact_vars=num_vars)
    ln = r.ln_offset + res.ln_count
    if res.random_choices == 0:  # every decision forced: the single path is the count
        return replace(base, ln_count=ln, exact=True, satisfiable=True, converged=True, iterations=0, stats=stats,
                       exact_vars=num_vars)
    ln, warnings = _clamp(ln, bounds, stats, base.warnings)  # the mean of a few probes can fall below a bound
    return replace(base, ln_count=ln, satisfiable=True, stats=stats, warnings=warnings)


def _clamp(ln: float, bounds: tuple[float, float], stats: dict, warnings: tuple[str, ...]
           ) -> tuple[float, tuple[str, ...]]:
    """An estimate projected into the proven (lower, upper) ``bounds``, and ``warnings`` with one more
    when it moved (``stats['clamped_from']`` records the original)."""
    if not math.isfinite(ln) or bounds[0] <= ln <= bounds[1]:
        return ln, warnings
    stats["clamped_from"] = ln
    clamped = min(max(ln, bounds[0]), bounds[1])
    side = "the proven lower bound" if clamped == bounds[0] else "the proven upper bound"
    return clamped, warnings + (f"estimate {ln:.6g} is outside the proven bounds [{bounds[0]:.6g}, "
                                f"{bounds[1]:.6g}]; clamped to {side}",)


def proven_bounds(residual: Residual, ln_found: float, opts: CountOptions, stats: dict,
                  search_lower: float = -math.inf) -> tuple[float, float]:
    """Proven (lower, upper) bounds in nats on ln Z of a formula whose undecided part is ``residual``.

    Starts from :func:`feasible_range`. Lower: the models of the residual the enumeration found
    (``ln_found``: ln of their number, or weighted, of their weights' sum) give ln_offset + ln_found;
    ``search_lower`` (ln of what an unfinished exact search counted of the residual) gives
    ln_offset + that. Upper: weighted mini-bucket elimination (:mod:`bpcount.bounds`) within
    ``opts.bound_budget`` of work, where it is tighter. Records ``stats['bounds']`` (the bounds, JSON
    null where infinite, and what the mini-bucket run did).
    """
    lower, upper = feasible_range(residual)
    info: dict = {}
    if ln_found > -math.inf:
        lower = max(lower, residual.ln_offset + ln_found)
    if search_lower > -math.inf:
        lower = max(lower, residual.ln_offset + search_lower)
    if opts.bound_budget > 0:
        try:
            ub = upper_bound(residual.num_vars, residual.lits, residual.clause_ptr, residual.log_phi,
                             budget=opts.bound_budget)
        except MemoryError as exc:  # a bound only tightens the clamp: the estimate goes on without it
            info["error"] = f"{type(exc).__name__}: {exc}"
        else:
            info.update(minibucket=ub.ln_upper is not None, i_bound=ub.i_bound, work=round(ub.work, 6),
                        seconds=round(ub.seconds, 6))
            if ub.ln_upper is not None:
                upper = min(upper, residual.ln_offset + ub.ln_upper)  # −inf: no model at all
    if lower > upper:  # both are the count, apart from rounding (every model found, and an unsplit run)
        lower = upper
    info.update(ln_lower=lower if math.isfinite(lower) else None, ln_upper=upper if math.isfinite(upper) else None)
    stats["bounds"] = info
    return lower, upper


def resolve_device(device: str):
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda requested but torch.cuda.is_available() is False")
    return torch.device(device)


def resolve_dtype(dtype: str | None, device):
    """float64 on CPU (exactness tests, cheap there); float32 on CUDA (bandwidth-bound messages;
    the Bethe reductions are still accumulated in float64)."""
    import torch

    if dtype is None:
        return torch.float32 if device.type == "cuda" else torch.float64
    return {"float64": torch.float64, "float32": torch.float32}[dtype]


class Engine:
    """Runs one method on a batch of residuals. Built once per :func:`count` call (loads models once)."""

    def __init__(self, opts: CountOptions):
        if opts.method not in METHODS:
            raise ValueError(f"unknown method {opts.method!r}; expected one of {', '.join(METHODS)}")
        if opts.condition < 0:
            raise ValueError(f"condition must be ≥ 0 variables, got {opts.condition}")
        self.opts = opts
        self.ready = False

    def setup(self) -> None:
        """Import torch, pick the device and load the model: done on first use, so that runs where
        every input is decided exactly (or unreadable) never pay for it."""
        if self.ready:
            return
        import torch

        opts = self.opts
        self.default_threads = opts.threads or torch.get_num_threads()
        self.device = resolve_device(opts.device)
        self.dtype = resolve_dtype(opts.dtype, self.device)
        self.model = None
        if opts.method == "bpnn":
            from bpcount.bpnn.checkpoint import load_model

            self.model = load_model(opts.checkpoint, device=self.device, dtype=self.dtype)
        self.ready = True

    def run(self, residuals: list[Residual], deadline: float | None = None) -> list[dict]:
        """Per residual: {ln_count, converged, iterations, residual, timed_out, stats}. The message
        passing stops at ``deadline`` (time.monotonic) if given, else ``timeout`` seconds from now."""
        import torch

        from bpcount.graph import build_batch

        self.setup()
        o = self.opts
        graph = build_batch(residuals, device=self.device, dtype=self.dtype)
        if self.device.type == "cpu":
            small = o.threads is None and graph.num_edges < MULTITHREAD_MIN_EDGES
            torch.set_num_threads(1 if small else self.default_threads)
        if deadline is None and o.timeout is not None:
            deadline = time.monotonic() + o.timeout
        extra: list[dict] = [{} for _ in residuals]
        with torch.no_grad():
            if o.method == "bp":
                if o.gates:
                    res, extra = _run_gate_bp(graph, o, deadline)
                else:
                    from bpcount.bp import run_bp

                    res = run_bp(graph, damping=o.damping, max_iters=o.max_iters, tol=o.tol, deadline=deadline)
                    floor_hits = res.floor_hits.tolist()
                    extra = [{"floor_hits": h} if h else {} for h in floor_hits]
                timed_out = res.timed_out
            elif o.method == "bpnn":
                from bpcount.bpnn.infer import estimate_graph

                res = estimate_graph(self.model, graph)
                timed_out = False
                if res.base_log_z is not None:  # the gate-BP value the readout starts from (_with_engine)
                    extra = [{"gate_base": z} if math.isfinite(z) else {}
                             for z in res.base_log_z.double().cpu().tolist()]
            else:
                from bpcount.loopy import estimate_graph

                res = estimate_graph(graph, radius=o.radius, damping=o.damping, max_iters=o.max_iters,
                                     tol=o.tol if o.tol is not None else 1e-8, deadline=deadline,
                                     seed=o.seed, max_region_vars=o.max_region_vars,
                                     mc_samples=o.mc_samples, estimator=o.estimator)
                timed_out = deadline is not None and time.monotonic() > deadline
                extra = [dict(s) for s in res.stats]
        log_z = res.log_z.double().cpu().tolist()
        conv = res.converged.cpu().tolist()
        iters = res.iterations.cpu().tolist()
        resid = res.residual.double().cpu().tolist()
        return [
            {"ln_count": log_z[i], "converged": bool(conv[i]), "iterations": int(iters[i]),
             "residual": float(resid[i]), "timed_out": bool(timed_out and not conv[i]), "stats": extra[i]}
            for i in range(len(residuals))
        ]


def _run_gate_bp(graph, o: CountOptions, deadline: float | None):
    """BP on the gate factor graph of ``graph``; per formula stats: factors merged (AND/OR gates, XOR
    triples, tables) and whether a contradiction restart happened (bpcount.gatebp.run_gate_bp)."""
    import torch

    from bpcount.bp import segment_sum
    from bpcount.gatebp import solve_gate_bp
    from bpcount.gategraph import AND, TABLE, XOR, build_gate_graph
    from bpcount.graph import select

    gg = build_gate_graph(graph)

    def make_graph(idx: list[int]):
        return gg if len(idx) == graph.num_graphs else build_gate_graph(select(graph, idx))

    res = solve_gate_bp(make_graph, graph.num_graphs, damping=o.damping, max_iters=o.max_iters, tol=o.tol,
                        deadline=deadline)
    per = [segment_sum((gg.factor_kind == k).to(torch.int64), gg.graph_of_factor, gg.num_graphs).tolist()
           for k in (AND, XOR, TABLE)]
    retried = res.retried.tolist()
    extra = [({"gates": {"and": a, "xor": x, "table": t}} if a or x or t else {})
             | ({"contradiction_restart": True} if r else {}) for a, x, t, r in zip(*per, retried)]
    return res, extra


def iter_count(
    inputs: Iterable[str | Path | Formula],
    *,
    options: CountOptions = CountOptions(),
    progress: bool = False,
) -> Iterator[CountResult]:
    """Count every input, yielding results in input order, batch by batch."""
    sources: list[str | Formula] = []
    for item in inputs:
        sources.extend([item] if isinstance(item, Formula) else expand_inputs([item]))
    engine = Engine(options)
    bar = None
    if progress and len(sources) > 1:
        from tqdm import tqdm

        bar = tqdm(total=len(sources), unit="formula", desc=f"bpcount {options.method}", leave=False)
    try:
        pending: list[_Pending] = []
        n_engine = edges = 0  # formulas in `pending` that need the engine, and their edges
        for k, item in enumerate(_prepared(sources, options)):
            pending.append(item)
            if item.simplified is not None:
                n_engine += 1
                edges += len(item.simplified.residual.lits)
            if n_engine >= options.batch_size or edges >= MAX_BATCH_EDGES or k == len(sources) - 1:
                yield from _finish(engine, pending, options)
                if bar is not None:
                    bar.update(len(pending))
                pending, n_engine, edges = [], 0, 0
    finally:
        if bar is not None:
            bar.close()


def count(
    inputs: Iterable[str | Path | Formula], *, options: CountOptions = CountOptions(), progress: bool = False
) -> list[CountResult]:
    """Count every input (files, directories, ``-``, or :class:`Formula` objects); see :func:`iter_count`."""
    return list(iter_count(list(inputs), options=options, progress=progress))


def _finish(engine: Engine, pending: list[_Pending], opts: CountOptions) -> Iterator[CountResult]:
    todo = [p for p in pending if p.simplified is not None]
    _run_engine(engine, todo, opts)
    for p in todo:
        p.result = _checked(p.result, p.bounds)
    for p in pending:
        yield p.result


def _checked(result: CountResult, bounds: tuple[float, float]) -> CountResult:
    """``result`` (an engine's estimate) with the search probes' check applied: where the probes that
    went on past the budget (``stats['probe']``: ``check``, ln of their mean; ``check_lower``, the lower
    bound their values give with 95 % confidence) put the count far below the engine's estimate, or
    the engine below that bound (:func:`bpcount.probe.overrules`), their mean answers instead,
    projected into the proven ``bounds``; ``stats['probe']['overruled']`` keeps the engine's estimate."""
    probe = result.stats.get("probe") or {}
    check = probe.get("check")
    if (result.status != "ok" or result.ln_count is None or check is None
            or not overrules(check, probe.get("check_lower", -math.inf), result.ln_count)):
        return result
    stats = dict(result.stats)
    stats["probe"] = {**probe, "used": True, "overruled": {"ln_count": result.ln_count,
                                                           "clamped_from": stats.pop("clamped_from", None)}}
    side = "far above the mean" if result.ln_count > check else "below the 95 % lower bound"
    note = (f"the {result.method} engine's estimate {result.ln_count:.6g} is {side} of "
            f"{probe['probes']} search probes (mean {check:.6g}); the probes answer")
    ln, warnings = _clamp(check, bounds, stats, result.warnings + (note,))
    return replace(result, ln_count=ln, warnings=warnings, stats=stats)


def _run_engine(engine: Engine, todo: list[_Pending], opts: CountOptions) -> None:
    """Fill in engine results; a failing batch is retried one by one so one bad formula is isolated."""
    if not todo:
        return
    engine.setup()  # one-time start-up (torch import, model load) is not charged to formulas
    t0 = time.perf_counter()
    try:
        outs = engine.run([p.simplified.residual for p in todo])
    except Exception as exc:  # noqa: BLE001 - one failing formula must not lose the others
        if len(todo) > 1:
            for p in todo:
                _run_engine(engine, [p], opts)
            return
        p = todo[0]
        p.result = replace(p.result, status="error", error_kind="runtime",
                           error=f"{p.result.file}: {type(exc).__name__}: {exc}")
        return
    share = (time.perf_counter() - t0) / len(todo)
    for p, out in zip(todo, outs):
        p.result = _with_engine(p.result, out, share, opts, p.bounds)
    if opts.condition > 0:
        _condition(engine, [p for p in todo if p.result.status == "ok"], opts)


def _engine_chunks(engine: Engine, residuals: list[Residual], opts: CountOptions,
                   deadline: float | None) -> list[dict | None]:
    """``engine.run`` over ``residuals`` in batches of ≤ ``batch_size`` formulas and ≤ MAX_BATCH_EDGES
    edges, all before ``deadline``; a failing batch, or one the deadline leaves no time for, gives
    None for its members (the caller falls back)."""
    outs: list[dict | None] = []
    start = 0
    while start < len(residuals):
        if deadline is not None and time.monotonic() >= deadline:
            return outs + [None] * (len(residuals) - start)
        stop, edges = start, 0
        while stop < len(residuals) and (stop == start or (stop - start < opts.batch_size
                                                           and edges + len(residuals[stop].lits) <= MAX_BATCH_EDGES)):
            edges += len(residuals[stop].lits)
            stop += 1
        try:
            outs += engine.run(residuals[start:stop], deadline=deadline)
        except Exception:  # noqa: BLE001 - a failing branch batch only costs the conditioning
            outs += [None] * (stop - start)
        start = stop
    return outs


def _condition(engine: Engine, todo: list[_Pending], opts: CountOptions) -> None:
    """Replace each estimate by the sum over its loop-cutset branches (bpcount.condition) where every
    branch converged; otherwise keep it and say why in ``stats['conditioning']``. Branches decided
    exactly by simplification need no engine; when all are, the count is exact. All branches of a
    batch share one ``timeout`` (from now); a branch left unfinished keeps the plain estimates."""
    from bpcount.condition import BranchOutcome, branches, combine, conditioning_vars

    t0 = time.perf_counter()
    deadline = None if opts.timeout is None else time.monotonic() + opts.timeout
    plans = []  # per formula: (variables, per-branch Simplified)
    for p in todo:
        variables = conditioning_vars(p.simplified.residual, opts.condition)
        sims = [simplify(f, exact_max_vars=opts.exact_max_vars, exact_max_width=opts.exact_max_width,
                         equivalences=simplify_equivalences(opts))
                for f in branches(p.simplified.residual, variables).formulas] if variables else []
        plans.append((variables, sims))
    run = [s.residual for _, sims in plans for s in sims if not s.exact]
    outs = iter(_engine_chunks(engine, run, opts, deadline))
    share = (time.perf_counter() - t0) / len(todo) if todo else 0.0
    for p, (variables, sims) in zip(todo, plans):
        info: dict = {"vars": len(variables)}
        outcomes: list[BranchOutcome] = []
        failed = False
        for s in sims:
            if s.exact:
                outcomes.append(BranchOutcome(s.ln_exact, True))
                continue
            out = next(outs)
            if out is None or out["timed_out"] or not math.isfinite(out["ln_count"]):
                failed = True
                continue
            lo, hi = feasible_range(s.residual)
            outcomes.append(BranchOutcome(min(max(out["ln_count"], lo), hi), bool(out["converged"])))
        r = p.result
        changes: dict = {}
        info["used"] = False
        if variables:
            info["branches"] = len(sims)
            info["exact_branches"] = sum(s.exact for s in sims)
            ln = None if failed else combine(p.simplified.residual.ln_offset, outcomes)
            if ln is not None and math.isfinite(ln):  # the sum of branch estimates obeys the proven bounds too
                ln = min(max(ln, p.bounds[0]), p.bounds[1])
            info["used"] = ln is not None
            if ln is None:
                info["reason"] = "a branch failed or timed out" if failed else "a branch did not converge"
            else:
                info["unconditioned"] = r.ln_count
                proven_sat = any(s.exact and not s.unsat for s in sims)
                changes = {"ln_count": ln, "converged": True, "exact": all(s.exact for s in sims),
                           "satisfiable": False if ln == -math.inf else (True if proven_sat else r.satisfiable)}
                if changes["satisfiable"] is not None:  # a branch settled it
                    changes["warnings"] = tuple(w for w in r.warnings if w != SATISFIABILITY_UNKNOWN)
        p.result = replace(r, **changes, stats={**r.stats, "conditioning": info}, seconds=r.seconds + share)


def feasible_range(residual: Residual) -> tuple[float, float]:
    """Bounds (nats) that ln Z of any satisfiable formula with this residual obeys.

    Upper: every assignment of the residual's variables is a model, ln_offset + Σ_i ln(w_i + w̄_i)
    (V ln 2 unweighted). Lower: one model, ln_offset unweighted (−inf weighted: no cheap bound).
    A non-converged Bethe value can land far outside (tens of thousands of nats below zero when BP
    believes some clauses nearly falsified). :func:`proven_bounds` starts from this range and
    tightens it; the engine projects every estimate into the result and says so
    (``stats['clamped_from']``).
    """
    if residual.log_phi is None:
        return residual.ln_offset, residual.ln_offset + residual.num_vars * math.log(2.0)
    return -math.inf, residual.ln_offset + float(log_weight_totals(residual.log_phi).sum())


def _with_engine(result: CountResult, out: dict, share: float, opts: CountOptions,
                 bounds: tuple[float, float] = (-math.inf, math.inf)) -> CountResult:
    """``result`` with the engine's ``out`` for it, projected into the proven ``bounds``. A BPNN whose
    gate-BP base (``stats['gate_base']``) is below the proven lower bound answers that bound, as gate
    BP (``--method bp``) does there: its learned corrections start from a value known to be an
    artefact, and on such formulas they were never closer than the bound (benchmarks/README.md,
    *seventeenth session*); ``stats['model_estimate']`` keeps the model's own value. Where no stage
    found a model (``satisfiable`` None after the SAT check), a warning says the estimate assumes one
    (:data:`SATISFIABILITY_UNKNOWN`)."""
    stats = {**result.stats, **out["stats"]}
    ln, warnings = out["ln_count"], result.warnings
    base = stats.get("gate_base")
    if base is not None and math.isfinite(ln) and base < bounds[0]:
        stats["model_estimate"] = ln
        warnings += (f"the model's gate-BP base {base:.6g} is below the proven lower bound {bounds[0]:.6g}; "
                     "the bound answers, as gate BP's would",)
        ln = bounds[0]
    if result.satisfiable is None and opts.sat_check:
        warnings += (SATISFIABILITY_UNKNOWN,)
    ln, warnings = _clamp(ln, bounds, stats, warnings)
    res = replace(result, ln_count=ln, warnings=warnings, converged=out["converged"], iterations=out["iterations"],
                  residual=out["residual"], seconds=result.seconds + share, stats=stats)
    if out["timed_out"]:
        return replace(res, status="timeout", ln_count=None,
                       error=f"{result.file}: timeout after {opts.timeout} s of message passing")
    if not math.isfinite(ln):
        return replace(res, status="error", error_kind="runtime", ln_count=None,
                       error=f"{result.file}: the engine returned a non-finite estimate ({ln})")
    if not out["converged"] and opts.on_nonconvergence == "error":
        return replace(res, status="nonconverged", ln_count=None,
                       error=f"{result.file}: did not converge in {out['iterations']} iterations "
                             f"(residual {out['residual']:.3g})")
    return res
