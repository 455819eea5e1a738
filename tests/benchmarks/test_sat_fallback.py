"""benchmarks/sat_fallback.py: checks each residual three ways (Glucose, MiniSat, the pipeline's
order), builds satisfiable planted 3-CNFs, reads generated labels, and reports per group."""

from __future__ import annotations

from bpcount.generate import make_formula
from bpcount.simplify import exact_log_count, simplify
from tests.conftest import ganak_log_count


def test_planted_formulas_have_their_hidden_model(sat_fallback_script):
    for seed in range(5):
        f = sat_fallback_script.planted_3cnf(14, 4.8, seed)
        assert f.num_clauses == round(4.8 * 14)
        assert exact_log_count(f.num_vars, f.lits, f.clause_ptr) > float("-inf")


def test_report_on_generated_and_planted_formulas(tmp_path, monkeypatch, sat_fallback_script):
    rows = ["file,ln_count,status"]
    for i in range(2):
        f = make_formula("kcnf", 3, i, n=30, ratio=4.0)
        (tmp_path / f"f{i}.cnf").write_text(f.to_dimacs())
        rows.append(f"f{i}.cnf,{ganak_log_count(f.num_vars, f.clauses())!r},ok")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    # the simplifier would decide formulas this small: keep their residuals for the SAT stages
    monkeypatch.setattr(sat_fallback_script, "simplify", lambda f: simplify(f, exact_max_vars=0, exact_max_width=0))
    monkeypatch.setattr(sat_fallback_script, "PLANTED", [(40, 4.5)])
    out = tmp_path / "report.md"
    assert sat_fallback_script.main(["--files", str(tmp_path / "f0.cnf"), str(tmp_path / "f1.cnf"),
                                     "--planted", "2", "--out", str(out)]) == 0
    text = out.read_text()
    assert "4 formulas, 4 with a residual" in text
    # small formulas: every way answers every check, Glucose first, so the fallback never runs
    assert f"| {tmp_path.name} | 2 | 2 | 2 | 2 | 0 |" in text
    assert "| planted n=40 ratio=4.5 | 2 | 2 | 2 | 2 | 0 |" in text
    assert "differs from Glucose alone (0)" in text
