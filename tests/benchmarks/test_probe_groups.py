"""benchmarks/probe_groups.py: probes formulas with exactly-one groups with groups on and off, skips
those without, probes a file listed twice once, and reports per family against the labels it is
given."""

from __future__ import annotations

import math

from bpcount.cnf import read_dimacs
from bpcount.generate import make_formula
from bpcount.simplify import simplify
from tests.conftest import ganak_log_count


def test_report_on_generated_formulas(tmp_path, monkeypatch, probe_groups_script):
    rows = ["file,ln_count,status"]
    for i, (family, params) in enumerate([("coloring", {"nodes": 8, "degree": 3, "colors": 4}),
                                          ("kcnf", {"n": 20, "ratio": 3.0})]):
        f = make_formula(family, 3, i, **params)
        (tmp_path / f"f{i}.cnf").write_text(f.to_dimacs())
        rows.append(f"f{i}.cnf,{ganak_log_count(f.num_vars, f.clauses())!r},ok")
    rows.append("f9.cnf,,timeout")  # no label: not read
    rows.append(rows[1])  # a file listed twice is probed once
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    # the exact stages would decide formulas this small: no elimination, and probe their residuals anyway
    def residual_only(formula):
        return simplify(formula, exact_max_vars=0, exact_max_width=0)

    monkeypatch.setattr(probe_groups_script, "simplify", residual_only)
    monkeypatch.setattr(probe_groups_script, "left_for_probes", lambda p: residual_only(read_dimacs(p)).residual)
    out = tmp_path / "report.md"
    assert probe_groups_script.main(["--extra-labels", str(tmp_path / "labels.csv"), "--seeds", "0,1",
                                     "--min-probes", "1", "--out", str(out)]) == 0
    text = out.read_text()
    assert "2 labelled formulas: 1 without a group in their residual (not probed), 0 decided by the exact " \
           "stages, 1 probed; seeds 0,1" in text
    row = next(line for line in text.splitlines() if line.startswith(f"| {tmp_path.name} | 1 | 2 |"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert all(math.isfinite(float(c)) for c in cells[3:])
    assert text.count(f"| {tmp_path.name}/f0.cnf | ") == 2
