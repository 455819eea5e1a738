"""Run a command in its own process group with a wall-clock limit and an address-space limit.

Every third-party counter (pyganak, pyapproxmc, external binaries) runs through :func:`run_process`:
none of them has a reliable internal time limit (peers.md §4), pyganak prints on stdout, and a crash
or an out-of-memory kill must be recorded per formula, never take bpcount down.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

#: Default address-space limit (RLIMIT_AS) of a child, in MiB. Address space, not RSS: allocators
#: reserve more than they touch, so this is deliberately generous.
DEFAULT_MEM_MB = 4096

#: Environment for children: one BLAS thread (numpy is imported by the workers, and OpenBLAS reserves
#: large per-thread buffers that count against RLIMIT_AS); no user site-packages surprises.
CHILD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class ProcResult:
    """Outcome of one child process."""

    returncode: int | None  # None when killed on timeout
    stdout: str
    stderr: str
    seconds: float  # wall-clock time
    timed_out: bool


def _limit_memory(mem_mb: int | None):
    if mem_mb is None:
        return None

    def preexec():  # runs in the child after fork, before exec
        limit = int(mem_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return preexec


def run_process(
    argv: list[str],
    *,
    timeout: float | None,
    mem_mb: int | None = DEFAULT_MEM_MB,
    stdin_text: str | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
) -> ProcResult:
    """Run ``argv`` in a new session (its own process group); on timeout SIGKILL the whole group.

    Never raises for the child's failure: a missing binary gives returncode 127 and the reason in
    ``stderr``. The memory limit is set by a ``preexec_fn`` (between fork and exec); CPython documents
    that as unsafe with threads that hold locks, which ``--jobs N`` worker threads do not (they only
    wait on their children), but prefer ``--jobs 1`` for timings anyway.
    """
    full_env = {**os.environ, **CHILD_ENV, **(env or {})}
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=_limit_memory(mem_mb),
            env=full_env,
            cwd=cwd,
        )
    except OSError as exc:
        return ProcResult(127, "", f"{type(exc).__name__}: {exc}", time.perf_counter() - t0, False)
    try:
        out, err = proc.communicate(input=stdin_text, timeout=timeout)
        return ProcResult(proc.returncode, out, err, time.perf_counter() - t0, False)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a child that ignores SIGKILL
            out, err = "", ""
        return ProcResult(None, out or "", err or "", time.perf_counter() - t0, True)
    except BaseException:  # KeyboardInterrupt: take the children down with us
        _kill_group(proc)
        raise


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def python_worker_argv(*args: str) -> list[str]:
    """argv running :mod:`bpcount.compare.worker` with this interpreter."""
    return [sys.executable, "-m", "bpcount.compare.worker", *args]
