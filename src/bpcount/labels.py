"""Exact labels (ln model counts) with pyganak, one child process per formula.

:func:`label` / :func:`iter_label` count every input exactly with pyganak in its own subprocess (a wall-clock limit kills
the whole process group; pyganak has no timeout of its own and prints on stdout on UNSAT), over **all**
declared variables (``new_vars(n)``) and ignoring ``c ind`` / ``c p show`` lines (unprojected, the
bench/labels.csv convention). Rows are appended to a CSV as they finish, so an interrupted run resumes:
files already present in the CSV are skipped. Timeouts and errors are rows, never exceptions.

CSV columns (:data:`LABEL_FIELDS`): ``file`` (relative to the CSV's folder when below it, else
absolute), ``family`` (when known), ``n_vars``, ``n_clauses``, ``ln_count`` (``-inf`` for UNSAT, empty
without an answer), ``status`` (ok | timeout | error), ``seconds`` (reading + counting inside the child;
wall-clock time for timeouts), ``label_source`` (``pyganak-<version>``), ``error``.

The count is an arbitrary-size int inside the child; only its natural log (``math.log(int)``) leaves it.
Weights (``c p weight``) are ignored: labels are plain model counts.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

from bpcount.compare.runner import DEFAULT_MEM_MB, python_worker_argv, run_process

LABEL_FIELDS = ("file", "family", "n_vars", "n_clauses", "ln_count", "status", "seconds", "label_source",
                "error")


@dataclass(frozen=True)
class Label:
    """One formula's exact label (see the module docstring for the fields)."""

    file: str
    n_vars: int | None
    n_clauses: int | None
    ln_count: float | None
    status: str  # ok | timeout | error
    seconds: float
    label_source: str
    family: str = ""
    error: str = ""

    def to_row(self) -> dict:
        row = asdict(self)
        row["ln_count"] = format_ln(self.ln_count)
        row["seconds"] = f"{self.seconds:.3f}"
        row["n_vars"] = "" if self.n_vars is None else self.n_vars
        row["n_clauses"] = "" if self.n_clauses is None else self.n_clauses
        return row


def format_ln(x: float | None) -> str:
    if x is None:
        return ""
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    return repr(float(x))


def parse_ln(text: str | None) -> float | None:
    """Inverse of :func:`format_ln` (empty -> None; accepts ``-inf``)."""
    text = (text or "").strip()
    return float(text) if text else None


def label_source() -> str:
    from bpcount.compare.worker import package_version

    return f"pyganak-{package_version('pyganak')}"


def label_file(path: str | Path, *, timeout: float | None = None, mem_mb: int | None = DEFAULT_MEM_MB,
               name: str | None = None, family: str = "") -> Label:
    """Exact ln count of one DIMACS file in a child process (``name`` is what goes in ``file``)."""
    from bpcount.compare.worker import parse_worker_output

    name = str(path) if name is None else name
    proc = run_process(python_worker_argv("ganak", str(path)), timeout=timeout, mem_mb=mem_mb)
    res = parse_worker_output(proc.stdout)
    source = label_source()
    if res is not None and proc.returncode == 0:
        return Label(name, res["n_vars"], res["n_clauses"], float(res["ln_count"]), "ok",
                     res["read_seconds"] + res["count_seconds"], source, family)
    n_vars, n_clauses = _header_counts(path)
    if proc.timed_out:
        return Label(name, n_vars, n_clauses, None, "timeout", proc.seconds, source, family,
                     f"timeout after {timeout:g} s")
    return Label(name, n_vars, n_clauses, None, "error", proc.seconds, source, family,
                 _last_error_line(proc.stderr, proc.returncode))


def _header_counts(path) -> tuple[int | None, int | None]:
    from bpcount.cnf import DimacsError, read_dimacs

    try:
        f = read_dimacs(path)
    except (DimacsError, OSError, MemoryError):
        return None, None
    return f.num_vars, f.num_clauses


def _last_error_line(stderr: str, returncode: int | None) -> str:
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    tail = lines[-1] if lines else "no output"
    if returncode is not None and returncode < 0:
        return f"killed by signal {-returncode} (memory limit?): {tail}"
    return f"exit code {returncode}: {tail}"


def csv_name(path: str | Path, csv_dir: Path) -> str:
    """``path`` relative to ``csv_dir`` when below it (bench/labels.csv convention), else absolute."""
    p = Path(path).resolve()
    try:
        return p.relative_to(csv_dir.resolve()).as_posix()
    except ValueError:
        return str(p)


def read_labels(csv_path: str | Path) -> dict[str, dict]:
    """Rows of a labels CSV keyed by the resolved absolute path of ``file`` (relative to the CSV's
    folder). Works for bench/labels.csv and for files written by :func:`label`; ``ln_count`` is
    parsed to float (None when empty)."""
    csv_path = Path(csv_path)
    base = csv_path.resolve().parent
    out: dict[str, dict] = {}
    with open(csv_path, newline="") as fh:
        for row in csv.DictReader(fh):
            if not row.get("file"):
                continue
            p = Path(row["file"])
            key = str(p if p.is_absolute() else (base / p).resolve())
            row = dict(row)
            row["ln_count"] = parse_ln(row.get("ln_count"))
            out[key] = row
    return out


def label(inputs: Iterable[str | Path], **kwargs) -> list[Label]:
    """Label every input and return the new labels (see :func:`iter_label` for the options)."""
    return list(iter_label(inputs, **kwargs))


def iter_label(
    inputs: Iterable[str | Path],
    *,
    out: str | Path,
    timeout: float | None = None,
    jobs: int = 1,
    mem_mb: int | None = DEFAULT_MEM_MB,
    family_of: Callable[[str], str] | None = None,
    progress: bool = False,
) -> Iterator[Label]:
    """Label every input file (directories are searched for ``*.cnf*``), appending rows to ``out``.

    Files already listed in ``out`` are skipped (resume). Yields each new :class:`Label` as it is
    written. ``jobs`` children run at once (each its own process; threads only wait on them).
    """
    from bpcount.estimate import expand_inputs

    out = Path(out)
    csv_dir = out.resolve().parent
    done = set(read_labels(out)) if out.exists() and out.stat().st_size else set()
    todo = [p for p in expand_inputs(inputs) if p != "-" and str(Path(p).resolve()) not in done]
    out.parent.mkdir(parents=True, exist_ok=True)
    new_file = not out.exists() or out.stat().st_size == 0
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="formula", desc="label (pyganak)", leave=False)
    with open(out, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LABEL_FIELDS, extrasaction="ignore", lineterminator="\n")
        if new_file:
            writer.writeheader()
            fh.flush()

        def one(p: str) -> Label:
            fam = family_of(p) if family_of else ""
            return label_file(p, timeout=timeout, mem_mb=mem_mb, name=csv_name(p, csv_dir), family=fam)

        with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
            futures = [pool.submit(one, p) for p in todo]
            try:
                for fut in as_completed(futures):
                    lab = fut.result()
                    writer.writerow(lab.to_row())
                    fh.flush()
                    os.fsync(fh.fileno())
                    if bar is not None:
                        bar.update(1)
                    yield lab
            finally:
                for fut in futures:
                    fut.cancel()
                if bar is not None:
                    bar.close()
