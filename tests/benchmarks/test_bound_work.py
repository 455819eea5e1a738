"""benchmarks/bound_work.py: the fit recovers known linear costs; a small run writes its report."""

from __future__ import annotations

import numpy as np

from bpcount.bounds import BoundWorkModel, bound_work
from bpcount.generate import make_formula


def test_fit_recovers_the_coefficients_of_exactly_linear_run_times(bound_work_script):
    truth = BoundWorkModel(step=3e-5, scan=2e-7, pair=5e-6, entry=2e-9)
    rng = np.random.default_rng(1)
    counts = [{"steps": int(rng.integers(10, 10**5)), "scanned": int(rng.integers(10, 10**7)),
               "pairs": int(rng.integers(10, 10**6)), "entries": int(rng.integers(10, 10**9))} for _ in range(40)]
    seconds = [bound_work(truth, **c) for c in counts]
    fitted = bound_work_script.fit_bound_model(counts, seconds, base=BoundWorkModel(1.0, 1.0, 1.0, 1.0))
    for name in ("step", "scan", "pair", "entry"):
        assert np.isclose(getattr(fitted, name), getattr(truth, name), rtol=1e-6), name


def test_small_run_reports_the_fit_and_finds_no_violated_bound(tmp_path, bound_work_script):
    import csv
    import math

    from tests.conftest import ganak_log_count

    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "family", "split", "ln_count"])
        for i in range(3):
            f = make_formula("kcnf", seed=3, index=i, n=60, ratio=3.5)
            (tmp_path / f"k{i}.cnf").write_text(f.to_dimacs())
            w.writerow([f"k{i}.cnf", "kcnf", "train", repr(ganak_log_count(f.num_vars, f.clauses()))])
    out = tmp_path / "bw.md"
    assert bound_work_script.main(["--labels", str(labels), "--splits", "train", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| fitted |" in text and "violations (bound below ln Z − 1e-6): 0." in text
    assert not math.isnan(float(text.split("bound − ln Z median ")[1].split()[0]))
