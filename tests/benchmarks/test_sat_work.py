"""benchmarks/sat_work.py: the fit recovers known linear costs; a small run writes its report."""

from __future__ import annotations

import numpy as np

from bpcount.sat import SatWorkModel, sat_work
from tests.benchmarks.conftest import kcnf_files


def test_fit_recovers_the_coefficients_of_exactly_linear_run_times(sat_work_script):
    truth = SatWorkModel(propagation=9e-8, conflict=2e-5, model_literal=4e-8)
    rng = np.random.default_rng(2)
    rows = []
    for _ in range(30):
        counts = {"propagations": int(rng.integers(10, 10**8)), "conflicts": int(rng.integers(0, 10**6)),
                  "model_literals": int(rng.integers(0, 10**8))}
        rows.append({"counts": counts, "seconds": sat_work(truth, **counts)})
    fitted = sat_work_script.fit(rows)
    for name in ("propagation", "conflict", "model_literal"):
        assert np.isclose(getattr(fitted, name), getattr(truth, name), rtol=1e-6), name


def test_small_run_reports_the_fit(tmp_path, sat_work_script):
    files = kcnf_files(tmp_path, 3, seed=4, n=60, ratio=3.0)
    out = tmp_path / "sw.md"
    assert sat_work_script.main(["--files", *files, "--random", "2", "--budget", "2", "--min-seconds", "0",
                                 "--out", str(out)]) == 0
    text = out.read_text()
    assert "5 formulas (2 random 3-CNFs)" in text and "| fitted |" in text and "| random3-" in text
