"""Ordered map over worker processes, for the per-formula CPU stages of counting (``--jobs``).

Counting a directory spends most of its CPU time before the engine, one formula at a time:
reading, simplification, the SAT check, model enumeration and the exact search (whose budget every
undecided formula spends in full). These stages are independent per formula, so
:func:`map_ordered` runs them in worker processes while the caller consumes results in input order
(and, in :func:`bpcount.estimate.iter_count`, runs the batched engine on what is ready).

* Workers are *spawned*, not forked: the parent may already hold torch's OpenMP and CUDA state,
  which a forked child must not inherit. Each imports the function's module once and then serves
  one item at a time over its own pipe, so the parent always knows which item each worker holds.
* At most ``workers × (1 + PREFETCH_PER_JOB)`` items are handed out ahead of the consumer, so a
  huge directory never holds more prepared formulas than that in memory.
* Items for which ``local(item)`` is true (standard input, which only this process can read) run
  here, in their place in the order.
* Failures cost only their own item, through ``on_error(item, exc)``: an exception raised by the
  function, an item or result that cannot be pickled, or a worker that dies while it holds the item
  (killed for memory, a crash in native code: :class:`WorkerDied`), which is then replaced.
* Workers ignore SIGINT: Ctrl-C interrupts this process, which then stops them all.
* Workers that cannot start (they die before their READY message: typically a script that calls
  this without the ``if __name__ == "__main__":`` guard that spawned processes need, so every
  worker re-runs the script) are reported by a :class:`WorkersUnavailable` warning, and the items
  run in this process.

The pool is a few dozen lines over ``multiprocessing`` pipes rather than
``concurrent.futures.ProcessPoolExecutor``: its broken-pool handling fails every item in flight when
one worker dies, and a first version built on it hung once in about twenty runs of this module's
tests (Python 3.11.7; CPython has fixed hangs of this kind since, e.g. gh-132969).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Items handed out per worker beyond the one it is running: enough to keep every worker busy while
#: the consumer runs a batch, few enough to bound memory.
PREFETCH_PER_JOB = 4

#: Seconds a worker gets to exit after the stop message before it is terminated.
STOP_GRACE_SECONDS = 2.0


#: A worker's first message: it started and imported ``fn``'s module.
READY = "ready"


class WorkersUnavailable(RuntimeWarning):
    """Worker processes could not start (see :func:`map_ordered`); the work ran in this process."""


class WorkerDied(RuntimeError):
    """The worker process holding an item exited before it sent a result back."""


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_jobs(jobs: int) -> int:
    """``jobs`` as a process count: 0 means one per available CPU; negative values are refused."""
    if jobs < 0:
        raise ValueError(f"jobs must be ≥ 0 (0: one per CPU), got {jobs}")
    return available_cpus() if jobs == 0 else jobs


def _serve(conn, fn) -> None:
    """Worker loop: say READY, then receive (index, item) and send back (index, True, fn(item)) or
    (index, False, exc) until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send(READY)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, item = message
        try:
            reply = (index, True, fn(item))
        except Exception as exc:  # noqa: BLE001 - reported to the parent as this item's failure
            reply = (index, False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - the result (or exception) does not pickle
            conn.send((index, False, RuntimeError(f"result could not be sent back: {exc!r}")))


class _Worker:
    """One spawned process serving :func:`_serve` over a duplex pipe; ``index``: the item it holds."""

    def __init__(self, context, fn) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, fn), daemon=True)
        self.process.start()
        child.close()
        self.index: int | None = None

    def started(self) -> bool:
        """Wait for the READY message; False when the process died first (it could not start)."""
        from multiprocessing import connection

        if self.conn in connection.wait([self.conn, self.process.sentinel]):
            try:
                return self.conn.recv() == READY
            except (EOFError, OSError):
                return False
        return False


def _stop(workers: list[_Worker]) -> None:
    """Ask every worker to exit, give them STOP_GRACE_SECONDS together, terminate the rest (a worker
    in the middle of an item only reads the stop message after it)."""
    import time

    for w in workers:
        try:
            w.conn.send(None)
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for w in workers:
        w.process.join(max(0.0, deadline - time.monotonic()))
        if w.process.is_alive():
            w.process.terminate()
            w.process.join()
        w.conn.close()


def map_ordered(fn: Callable[[T], R], items: Iterable[T], jobs: int, *,
                on_error: Callable[[T, BaseException], R],
                local: Callable[[T], bool] = lambda item: False) -> Iterator[R]:
    """``fn(item)`` for every item, yielded in input order.

    Args:
        fn: a module-level function (it is pickled by reference into spawned workers).
        items: the inputs; each must pickle.
        jobs: worker processes; ≤ 1 runs everything in this process, with no workers.
        on_error: the result for an item whose run in a worker failed (see the module docstring).
        local: items to run in this process instead of a worker.
    """
    from multiprocessing import connection, get_context

    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        for item in items:
            yield fn(item)
        return
    context = get_context("spawn")
    is_local = [bool(local(item)) for item in items]
    remote = len(is_local) - sum(is_local)
    workers = _start(context, fn, min(jobs, remote))
    if workers is None:  # no worker could start: everything runs here
        for item in items:
            yield fn(item)
        return
    ahead = len(workers) * (1 + PREFETCH_PER_JOB)
    results: dict[int, R] = {}
    next_out = next_in = 0

    def feed() -> None:
        nonlocal next_in
        for w in workers:
            while w.index is None and next_in < len(items) and next_in < next_out + ahead:
                i, next_in = next_in, next_in + 1
                if is_local[i]:
                    continue  # run here when its turn comes
                try:
                    w.conn.send((i, items[i]))
                    w.index = i
                except Exception as exc:  # noqa: BLE001 - the item does not pickle (or the pipe broke)
                    results[i] = on_error(items[i], exc)

    def collect() -> None:
        busy = [w for w in workers if w.index is not None]
        ready = set(connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
        for w in busy:
            if w.conn in ready:
                try:
                    index, ok, value = w.conn.recv()
                except (EOFError, OSError):
                    pass  # died while sending: handled below
                else:
                    results[index] = value if ok else on_error(items[index], value)
                    w.index = None
                    continue
            if w.conn in ready or w.process.sentinel in ready:
                w.process.join()
                results[w.index] = on_error(items[w.index], WorkerDied(
                    f"worker process exited with code {w.process.exitcode} while counting this input"))
                w.conn.close()
                fresh = _start(context, fn, 1)
                if fresh is None:
                    workers.remove(w)  # the others go on; with none left, the rest runs here
                else:
                    workers[workers.index(w)] = fresh[0]

    try:
        while next_out < len(items):
            feed()
            if next_out in results:
                yield results.pop(next_out)
                next_out += 1
            elif is_local[next_out] or not workers:
                results[next_out] = fn(items[next_out])
            else:
                collect()  # next_out is with a worker: wait for it (or any other) to report
    finally:
        _stop(workers)


def _start(context, fn, count: int) -> list[_Worker] | None:
    """``count`` started workers, or None (with a :class:`WorkersUnavailable` warning) when one of
    them dies before it is ready: typically a script that runs its work at import time, without the
    ``if __name__ == "__main__":`` guard that spawned processes need, so each worker re-runs it."""
    workers = [_Worker(context, fn) for _ in range(count)]
    if all([w.started() for w in workers]):
        return workers
    _stop(workers)
    import warnings

    warnings.warn("bpcount: worker processes could not start (a script that calls bpcount with jobs > 1 "
                  "needs the `if __name__ == \"__main__\":` guard); running in this process instead",
                  WorkersUnavailable, stacklevel=3)
    return None


__all__ = ["PREFETCH_PER_JOB", "READY", "WorkerDied", "WorkersUnavailable", "available_cpus", "map_ordered", "resolve_jobs"]
