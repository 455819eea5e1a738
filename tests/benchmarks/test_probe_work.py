"""benchmarks/probe_work.py: the fit recovers known per-node, per-literal, per-call and per-variable costs; a
small run writes its report."""

from __future__ import annotations

import re

import numpy as np

from bpcount.probe import ProbeWorkModel
from tests.benchmarks.conftest import kcnf_files


def test_fit_recovers_the_terms_of_exactly_linear_run_times(probe_work_script):
    truth = ProbeWorkModel(node=8e-4, sat_call=1.5e-3, node_edge=3e-8, sat_call_var=2e-7)
    rng = np.random.default_rng(3)
    rows = []
    for _ in range(30):
        row = {"base": float(rng.uniform(0.01, 2.0)), "nodes": int(rng.integers(1, 3000)),
               "calls": int(rng.integers(0, 2000)), "node_edges": int(rng.integers(1000, 10**8)),
               "vars": int(rng.integers(10, 10**5))}
        row["seconds"] = probe_work_script.charge(truth, row)
        rows.append(row)
    fitted = probe_work_script.fit(rows)
    for field in ("node", "sat_call", "node_edge", "sat_call_var"):
        assert np.isclose(getattr(fitted, field), getattr(truth, field), rtol=1e-6), field


def test_small_run_reports_the_fit(tmp_path, probe_work_script):
    files = kcnf_files(tmp_path, 2, seed=5, n=90, ratio=3.0)
    out = tmp_path / "pw.md"
    assert probe_work_script.main(["--files", *files, "--budgets", "0.2", "--min-seconds", "0",
                                   "--out", str(out)]) == 0
    text = out.read_text()
    assert "2 formulas, 2 left undecided" in text and "| fitted |" in text
    assert re.search(r"\| k0\.cnf \| \d+ \| 0\.2 \|", text)
