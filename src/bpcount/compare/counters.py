"""Counters that ``bpcount compare`` runs: bpcount's own methods, the Python bindings of Ganak and
ApproxMC, and external binaries found on PATH.

Every counter answers the same question: the unprojected count of all clauses present over all
declared variables (``c ind`` / ``c p show`` are ignored; see :mod:`bpcount.compare.prep`). Every
third-party counter runs in a child process of its own (own process group, wall-clock timeout,
RLIMIT_AS memory limit, :mod:`bpcount.compare.runner`); a timeout or a crash becomes an
:class:`Answer` with status ``timeout`` / ``error``, never an exception.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from bpcount.compare.parse import PARSERS
from bpcount.compare.runner import DEFAULT_MEM_MB, python_worker_argv, run_process

BPCOUNT_METHODS = ("bp", "bpnn", "loopy")


@dataclass(frozen=True)
class Answer:
    """One counter's answer on one formula.

    ``seconds`` is the counter's own time: for the Python bindings, reading + counting inside the
    child (the ~0.2 s interpreter start-up is excluded, ``wall_seconds`` includes it); for binaries, the
    wall time of the process; for bpcount, sequential CPU time with batch size 1, and
    ``seconds_batched`` the batch time divided by the batch size on the chosen device.
    """

    counter: str
    file: str
    status: str  # ok | timeout | error
    ln_count: float | None = None
    kind: str = "heuristic"  # exact | approx | bound | heuristic
    seconds: float | None = None
    wall_seconds: float | None = None
    seconds_batched: float | None = None
    detail: str = ""  # provenance: the line or call that produced the number
    error: str = ""
    ln_lower: float | None = None  # bpcount: proven bounds on ln Z (CountResult.bounds), its guarantee
    ln_upper: float | None = None


@dataclass(frozen=True)
class CounterSettings:
    """Options shared by the counters (the CLI fills one)."""

    timeout: float | None = 60.0  # wall-clock seconds per formula (children), per batch (bpcount)
    mem_mb: int | None = DEFAULT_MEM_MB  # RLIMIT_AS of each child
    epsilon: float = 0.8  # ApproxMC tolerance
    delta: float = 0.2  # ApproxMC confidence
    seed: int = 1  # ApproxMC / Ganak seed
    device: str = "auto"  # bpcount batched run
    batch_size: int = 64  # bpcount batched run
    checkpoint: str | None = None  # bpnn
    jobs: int = 1  # formulas run at once for child-process counters (timings are then less clean)
    bpcount_options: dict = field(default_factory=dict)  # extra CountOptions fields


class Counter:
    """Base class. ``kind`` decides the guarantee the summary checks (exact, approx(ε), heuristic)."""

    name: str = ""
    kind: str = "heuristic"
    epsilon: float | None = None

    def count_all(self, paths: Sequence[str], settings: CounterSettings, *, progress: bool = False) -> list[Answer]:
        results: list[Answer | None] = [None] * len(paths)
        bar = _bar(progress, len(paths), self.name)
        with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
            futures = {pool.submit(self.count_one, p, settings): i for i, p in enumerate(paths)}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except Exception as exc:  # noqa: BLE001 - recorded per formula, never fatal
                    results[i] = Answer(self.name, paths[i], "error", kind=self.kind,
                                        error=f"{type(exc).__name__}: {exc}")
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        return results  # type: ignore[return-value]

    def count_one(self, path: str, settings: CounterSettings) -> Answer:  # pragma: no cover - abstract
        raise NotImplementedError


def _bar(progress: bool, total: int, name: str):
    if not progress or total <= 1:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="formula", desc=f"compare {name}", leave=False)


# ---------------------------------------------------------------------------------------------- bpcount
class BpcountCounter(Counter):
    """A bpcount method through :func:`bpcount.estimate.iter_count`, timed both ways."""

    kind = "heuristic"

    def __init__(self, method: str, *, batched: bool = True):
        self.name = method
        self.method = method
        self.batched = batched

    def _options(self, settings: CounterSettings, **kw):
        from bpcount.estimate import CountOptions

        # every counter answers the unprojected count: projection lines and `c t pmc` are ignored
        base = dict(method=self.method, timeout=settings.timeout, checkpoint=settings.checkpoint,
                    seed=settings.seed, ignore_projection=True, **settings.bpcount_options)
        base.update(kw)
        return CountOptions(**base)

    def count_all(self, paths: Sequence[str], settings: CounterSettings, *, progress: bool = False) -> list[Answer]:
        from bpcount.cnf import Formula
        from bpcount.estimate import iter_count

        seq_opts = self._options(settings, device="cpu", batch_size=1)
        # warm-up: torch initialisation and model loading are not charged to the first formula
        list(iter_count([Formula.from_clauses([[1, 2], [-1, 3], [2, 3, 4]], 4)], options=seq_opts))
        seq = list(iter_count(list(paths), options=seq_opts, progress=progress))
        batched: list = [None] * len(paths)
        if self.batched:
            # the engine timeout is per batch: give a batch its formulas' share (timeout × batch size)
            btimeout = None if settings.timeout is None else settings.timeout * settings.batch_size
            bopts = self._options(settings, device=settings.device, batch_size=settings.batch_size,
                                  timeout=btimeout)
            list(iter_count([Formula.from_clauses([[1, 2], [-1, 3], [2, 3, 4]], 4)], options=bopts))
            batched = list(iter_count(list(paths), options=bopts, progress=progress))
        out = []
        for path, r, b in zip(paths, seq, batched):
            if r.status == "ok":
                conv = "" if r.converged is None else f" converged={int(r.converged)}"
                detail = f"bpcount {self.method}{' exact' if r.exact else ''}{conv}"
                out.append(Answer(self.name, path, "ok", r.ln_count, self.kind, r.seconds, r.seconds,
                                  b.seconds if (b is not None and b.status == "ok") else None, detail,
                                  ln_lower=r.bounds[0], ln_upper=r.bounds[1]))
            else:
                out.append(Answer(self.name, path, "timeout" if r.status == "timeout" else "error",
                                  kind=self.kind, seconds=r.seconds, error=r.error or r.status))
        return out


# ------------------------------------------------------------------------------------ Python bindings
class _WorkerCounter(Counter):
    worker = ""

    def argv(self, path: str, settings: CounterSettings) -> list[str]:
        return python_worker_argv(self.worker, path, "--seed", str(settings.seed))

    def count_one(self, path: str, settings: CounterSettings) -> Answer:
        from bpcount.compare.worker import parse_worker_output

        proc = run_process(self.argv(path, settings), timeout=settings.timeout, mem_mb=settings.mem_mb)
        if proc.timed_out:
            return Answer(self.name, path, "timeout", kind=self.kind, wall_seconds=proc.seconds,
                          error=f"timeout after {settings.timeout:g} s")
        res = parse_worker_output(proc.stdout)
        if res is None or proc.returncode != 0:
            return Answer(self.name, path, "error", kind=self.kind, wall_seconds=proc.seconds,
                          error=_failure(proc.returncode, proc.stderr))
        detail = res.get("detail", "")
        if "prep_seconds" in res:
            detail += f"; prep {res['prep_seconds']:.3f} s (not in seconds)"
        return Answer(self.name, path, "ok", float(res["ln_count"]), self.kind,
                      res["read_seconds"] + res["count_seconds"], proc.seconds, detail=detail)


class GanakCounter(_WorkerCounter):
    """pyganak (exact; every declared variable registered with ``new_vars(n)``)."""

    name = "ganak"
    kind = "exact"
    worker = "ganak"


class ApproxMCCounter(_WorkerCounter):
    """pyapproxmc ((ε, δ) PAC estimate; free variables added back as ln 2 each)."""

    name = "approxmc"
    kind = "approx"
    worker = "approxmc"

    def __init__(self, epsilon: float = 0.8):
        self.epsilon = epsilon

    def argv(self, path: str, settings: CounterSettings) -> list[str]:
        return python_worker_argv("approxmc", path, "--seed", str(settings.seed), "--epsilon",
                                  str(settings.epsilon), "--delta", str(settings.delta))


class ApproxMCRawCounter(ApproxMCCounter):
    """pyapproxmc with only the documented free-variable correction (no propagation, no anchor):
    shows the answers outside ApproxMC's guarantee that :class:`ApproxMCCounter` avoids."""

    name = "approxmc-raw"
    worker = "approxmc-raw"

    def argv(self, path: str, settings: CounterSettings) -> list[str]:
        return python_worker_argv("approxmc-raw", path, "--seed", str(settings.seed), "--epsilon",
                                  str(settings.epsilon), "--delta", str(settings.delta))


def _failure(returncode: int | None, stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    tail = lines[-1][:300] if lines else "no output"
    if returncode is not None and returncode < 0:
        return f"killed by signal {-returncode} (memory limit or crash): {tail}"
    return f"exit code {returncode}, no answer line: {tail}"


# ------------------------------------------------------------------------------------ external binaries
@dataclass(frozen=True)
class BinarySpec:
    """How to call one external counter: ``argv(binary, cnf_path, tmpdir, settings)``."""

    name: str
    executable: str  # looked up on PATH
    argv: Callable[[str, str, str, CounterSettings], list[str]]
    parser: str  # key of bpcount.compare.parse.PARSERS
    kind: str  # exact | approx
    anchor: bool = False  # hand over the anchored formula (ApproxMC drops freed variables; prep.py)


BINARIES: dict[str, BinarySpec] = {
    "approxmc-bin": BinarySpec(
        "approxmc-bin", "approxmc",
        lambda b, f, t, s: [b, "-s", str(s.seed), "-e", str(s.epsilon), "-d", str(s.delta), f],
        "approxmc", "approx", anchor=True),
    "ganak-bin": BinarySpec("ganak-bin", "ganak", lambda b, f, t, s: [b, f], "mcc", "exact"),
    "d4": BinarySpec("d4", "d4", lambda b, f, t, s: [b, "-mc", f], "d4", "exact"),
    "sharpsat-td": BinarySpec(
        "sharpsat-td", "sharpSAT",
        lambda b, f, t, s: [b, "-decot", "120", "-decow", "100", "-tmpdir", t, "-cs", "3500", f],
        "mcc", "exact"),
    "dsharp": BinarySpec("dsharp", "dsharp", lambda b, f, t, s: [b, f], "dsharp", "exact"),
}


class BinaryCounter(Counter):
    """An external counter binary. The formula is handed over as compact, clean, projection-free
    DIMACS (:func:`bpcount.compare.prep.counting_clauses`) and free variables are added back, so
    header and free-variable conventions of the tool do not matter."""

    def __init__(self, spec: BinarySpec, binary: str | None = None, epsilon: float = 0.8):
        self.spec = spec
        self.name = spec.name
        self.kind = spec.kind
        self.epsilon = epsilon if spec.kind == "approx" else None
        self.binary = binary or shutil.which(spec.executable)

    @property
    def available(self) -> bool:
        return self.binary is not None

    def count_one(self, path: str, settings: CounterSettings) -> Answer:
        from bpcount.cnf import DimacsError, read_dimacs
        from bpcount.compare.prep import anchor_clauses, counting_clauses, first_model

        try:
            cc = counting_clauses(read_dimacs(path))
        except (DimacsError, OSError) as exc:
            return Answer(self.name, path, "error", kind=self.kind, error=str(exc))
        if cc.has_empty_clause:
            return Answer(self.name, path, "ok", -math.inf, self.kind, 0.0, 0.0,
                          detail="UNSAT found in preprocessing")
        if not cc.clauses:
            return Answer(self.name, path, "ok", cc.ln_free, self.kind, 0.0, 0.0,
                          detail="no clauses left after preprocessing")
        clauses, k = cc.clauses, cc.num_used
        if self.spec.anchor:
            model = first_model(cc.clauses)
            if model is None:
                return Answer(self.name, path, "ok", -math.inf, self.kind, 0.0, 0.0, detail="UNSAT (SAT solver)")
            clauses, k = clauses + anchor_clauses(cc, model), k + 1
        with tempfile.TemporaryDirectory(prefix="bpcount-compare-") as tmp:
            cnf = os.path.join(tmp, "formula.cnf")
            with open(cnf, "w") as fh:
                fh.write(f"p cnf {k} {len(clauses)}\n")
                fh.writelines(" ".join(map(str, c)) + " 0\n" for c in clauses)
            argv = self.spec.argv(self.binary, cnf, tmp, settings)
            proc = run_process(argv, timeout=settings.timeout, mem_mb=settings.mem_mb, cwd=tmp)
        if proc.timed_out:
            return Answer(self.name, path, "timeout", kind=self.kind, wall_seconds=proc.seconds,
                          error=f"timeout after {settings.timeout:g} s")
        parsed = PARSERS[self.spec.parser](proc.stdout)
        if parsed is None:
            return Answer(self.name, path, "error", kind=self.kind, wall_seconds=proc.seconds,
                          error=_failure(proc.returncode, proc.stderr or proc.stdout))
        ln = parsed.ln_count
        if self.spec.anchor and math.isfinite(ln):
            from bpcount.compare.prep import ln_unanchor

            ln = ln_unanchor(ln)
        ln = ln + cc.ln_free if math.isfinite(ln) else ln
        kind = "approx" if (self.kind == "exact" and parsed.kind == "approx") else self.kind
        return Answer(self.name, path, "ok", ln, kind, proc.seconds, proc.seconds,
                      detail=f"{parsed.line} (+{cc.num_free} free vars)")


# ------------------------------------------------------------------------------------------ registry
def available_counters() -> list[str]:
    """Names usable in ``--counters`` on this machine."""
    from importlib.util import find_spec

    names = ["bp", "loopy"]
    if find_spec("bpcount.bpnn") is not None:
        names.insert(0, "bpnn")
    if find_spec("pyapproxmc") is not None:
        names.append("approxmc")
    if find_spec("pyganak") is not None:
        names.append("ganak")
    names += [n for n, s in BINARIES.items() if shutil.which(s.executable)]
    return names


def make_counter(name: str, settings: CounterSettings, *, binaries: dict[str, str] | None = None) -> Counter:
    """A counter by name (``bp``, ``bpnn``, ``loopy``, ``approxmc``, ``ganak`` or a :data:`BINARIES`
    key). ``binaries`` maps a binary counter's name to an explicit executable path."""
    from importlib.util import find_spec

    if name in BPCOUNT_METHODS:
        return BpcountCounter(name)
    if name == "ganak":
        if find_spec("pyganak") is None:
            raise ValueError("counter 'ganak' needs pyganak (pip install 'bpcount[exact]')")
        return GanakCounter()
    if name == "approxmc":
        if find_spec("pyapproxmc") is None:
            raise ValueError("counter 'approxmc' needs pyapproxmc (pip install 'bpcount[exact]')")
        return ApproxMCCounter(settings.epsilon)
    if name == "approxmc-raw":
        if find_spec("pyapproxmc") is None:
            raise ValueError("counter 'approxmc-raw' needs pyapproxmc (pip install 'bpcount[exact]')")
        return ApproxMCRawCounter(settings.epsilon)
    if name in BINARIES:
        c = BinaryCounter(BINARIES[name], (binaries or {}).get(name), settings.epsilon)
        if not c.available:
            raise ValueError(f"counter {name!r}: executable {BINARIES[name].executable!r} not found on PATH")
        return c
    known = ", ".join([*BPCOUNT_METHODS, "approxmc", "approxmc-raw", "ganak", *BINARIES])
    raise ValueError(f"unknown counter {name!r}; known: {known}")
