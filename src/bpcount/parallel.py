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

The pool is a few dozen lines over ``multiprocessing`` pipes rather than
``concurrent.futures.ProcessPoolExecutor``, whose broken-pool handling fails every item in flight
when one worker dies, and which hung in this project's tests on Python 3.11 (CPython gh-132969).
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
    """Worker loop: receive (index, item), send back (index, True, fn(item)) or (index, False, exc)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(STOP_GRACE_SECONDS)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self.conn.close()


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
    workers = [_Worker(context, fn) for _ in range(min(jobs, remote))]
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
                workers[workers.index(w)] = _Worker(context, fn)

    try:
        while next_out < len(items):
            feed()
            if next_out in results:
                yield results.pop(next_out)
                next_out += 1
            elif is_local[next_out]:
                results[next_out] = fn(items[next_out])
            else:
                collect()  # next_out is with a worker: wait for it (or any other) to report
    finally:
        for w in workers:
            w.stop()


__all__ = ["PREFETCH_PER_JOB", "WorkerDied", "available_cpus", "map_ordered", "resolve_jobs"]
