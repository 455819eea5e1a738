"""benchmarks/search_work.py: the work-model fit recovers known costs; a small run reports and
leaves the search unpatched."""

from __future__ import annotations

import dataclasses

import numpy as np

import bpcount.search as search
import bpcount.simplify as simplify_module


def test_fit_recovers_the_coefficients_of_exactly_linear_search_times(search_work_script):
    """Searches whose wall time is exactly the search's charge under known coefficients: the
    aggregate reproduces that charge and the fit finds the coefficients."""
    truth = search.WorkModel(node=3e-4, node_edge=5e-8, key=2e-5, key_edge=1e-8, order_edge=6e-7,
                             order_var=2e-6, elim_var=9e-6, elim_entry=3e-9)
    rng = np.random.default_rng(0)
    kinds = list(search.WORK_TERMS)
    features, seconds = [], []
    for _ in range(60):
        steps = [search_work_script.Step(kinds[int(rng.integers(len(kinds)))], 0.0, edges=int(rng.integers(10, 10**5)),
                                         variables=int(rng.integers(5, 10**4)), entries=int(rng.integers(0, 10**6)))
                 for _ in range(int(rng.integers(4, 30)))]
        agg = search_work_script.aggregate(steps)
        features.append(agg)
        # the search's own charges (search.step_cost) for these steps
        seconds.append(sum(search.step_cost(truth, st.kind, edges=st.edges, variables=st.variables,
                                            entries=st.entries) for st in steps))
        assert np.isclose(seconds[-1], sum(getattr(truth, name) * value for name, value in agg.items()))
    base = search.WorkModel(**{f.name: 1.0 for f in dataclasses.fields(search.WorkModel)})
    fitted = search_work_script.fit_work_model(features, seconds, base=base)
    for f in dataclasses.fields(search.WorkModel):
        assert np.isclose(getattr(fitted, f.name), getattr(truth, f.name), rtol=1e-6, atol=1e-15), f.name
    # a field no search exercised keeps the base value
    no_keys = [dict(a, key=0.0, key_edge=0.0) for a in features]
    kept = search_work_script.fit_work_model(no_keys, seconds, base=base)
    assert kept.key == kept.key_edge == 1.0


def test_small_run_reports_every_field_and_restores_the_search(tmp_path, search_work_script):
    rng = np.random.default_rng(3)
    files = []
    for i in range(3):
        n, m = 40, 150  # random 3-CNF the simplifier leaves to the search
        clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(n, 3, replace=False) + 1] for _ in range(m)]
        path = tmp_path / f"f{i}.cnf"
        path.write_text(f"p cnf {n} {m}\n" + "".join(" ".join(map(str, c)) + " 0\n" for c in clauses))
        files.append(str(path))
    originals = (simplify_module.simplify, search.greedy_order, search.stuck_variables, search.eliminate,
                 search._Component.key)
    out = tmp_path / "work.md"
    assert search_work_script.main(["--files", *files, "--budget", "5", "--out", str(out)]) == 0
    assert (simplify_module.simplify, search.greedy_order, search.stuck_variables, search.eliminate,
            search._Component.key) == originals
    text = out.read_text()
    for f in dataclasses.fields(search.WorkModel):
        assert f"| {f.name} | " in text
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith(("| profile", "| check"))}
    assert set(rows) == {"profile", "check"}
    assert "3 formulas, 3 with a residual" in text
    assert rows["profile"].split(" | ")[2] == "3"  # all three decided within 5 s
