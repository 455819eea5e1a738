"""bpcount.parallel: ordered map over spawned worker processes (count --jobs)."""

from __future__ import annotations

import os

import pytest

from bpcount.parallel import PREFETCH_PER_JOB, available_cpus, map_ordered, resolve_jobs


def _square_or_fail(x: int) -> tuple[int, int]:
    if x == 3:
        raise ValueError("three")
    if x == -1:
        os._exit(7)  # a worker killed mid-item (as by the OOM killer)
    return x * x, os.getpid()


def _error(x: int, exc: BaseException) -> tuple[str, str]:
    return "error", type(exc).__name__


def test_results_come_back_in_input_order_from_worker_processes():
    items = list(range(20))
    items.remove(3)
    out = list(map_ordered(_square_or_fail, items, 2, on_error=_error))
    assert [v for v, _ in out] == [x * x for x in items]
    assert {pid for _, pid in out} - {os.getpid()}  # computed elsewhere
    assert os.getpid() not in {pid for _, pid in out}


def test_one_item_failing_in_a_worker_gets_its_error_result_and_the_others_are_kept():
    out = list(map_ordered(_square_or_fail, [1, 2, 3, 4], 2, on_error=_error))
    assert [v for v, _ in out] == [1, 4, "error", 16]
    assert out[2] == ("error", "ValueError")


def test_a_dying_worker_costs_only_the_item_that_killed_it():
    """A worker killed mid-item (as by the OOM killer): that item is reported, a new worker takes
    over, and every other item, in flight or later, is computed."""
    items = [1, -1] + list(range(4, 4 + 3 * 2 * (1 + PREFETCH_PER_JOB))) + [-1, 2]
    out = list(map_ordered(_square_or_fail, items, 2, on_error=_error))
    assert out[1] == out[-2] == ("error", "WorkerDied")
    assert [v for v, _ in out[:1] + out[2:-2] + out[-1:]] == [x * x for x in items[:1] + items[2:-2] + items[-1:]]


def test_local_items_run_in_this_process_in_their_place():
    out = list(map_ordered(_square_or_fail, [5, 6, 7, 8], 2, on_error=_error, local=lambda x: x == 7))
    assert [v for v, _ in out] == [25, 36, 49, 64]
    assert out[2][1] == os.getpid() and out[0][1] != os.getpid()


def test_one_job_runs_in_this_process_and_raises_as_the_function_does():
    assert [pid for _, pid in map_ordered(_square_or_fail, [1, 2], 1, on_error=_error)] == [os.getpid()] * 2
    with pytest.raises(ValueError):
        list(map_ordered(_square_or_fail, [3], 1, on_error=_error))


def test_zero_jobs_means_one_per_cpu_and_negative_is_refused():
    assert resolve_jobs(0) == available_cpus() >= 1
    assert resolve_jobs(3) == 3
    with pytest.raises(ValueError):
        resolve_jobs(-1)


def test_items_that_do_not_pickle_fail_alone():
    out = list(map_ordered(_square_or_fail, [2, lambda: 0, 4], 2, on_error=_error))
    assert out[0][0] == 4 and out[2][0] == 16
    assert out[1][0] == "error"


def test_a_script_without_the_main_guard_still_gets_its_results_in_this_process(tmp_path):
    """Spawned workers re-run an unguarded script and die before they are ready: the map then warns
    (WorkersUnavailable) and runs everything in the calling process instead of failing every item."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "import math, warnings\n"
        "from bpcount.parallel import map_ordered\n"
        "warnings.simplefilter('always')\n"
        "print(list(map_ordered(math.sqrt, [1.0, 4.0, 9.0], 2, on_error=lambda x, e: -1.0)))\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[1.0, 2.0, 3.0]"
    assert "WorkersUnavailable" in out.stderr and "__main__" in out.stderr
