"""benchmarks/probe_budget.py: the answers it reads off one long run are the answers the library gives
at the smaller budgets, with and without the extension; runs saved with --raw are scored again."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bpcount.cnf import Formula
from bpcount.probe import probe_log_count, relative_standard_error

SETTINGS = {"max_width": 0, "max_vars": 0, "wall_limit": math.inf, "min_probes": 4}


def _formula(seed: int) -> Formula:
    rng = np.random.default_rng(seed)
    clauses = [[int(v) * int(rng.choice([-1, 1])) for v in rng.choice(30, 3, replace=False) + 1] for _ in range(90)]
    return Formula.from_clauses(clauses, 30)


def _probe(f: Formula, **kw):
    return probe_log_count(f.num_vars, f.lits, f.clause_ptr, None, **SETTINGS, **kw)


@pytest.mark.parametrize("seed", [1, 2])
def test_extended_answer_is_what_the_library_answers(probe_budget_script, seed):
    f = _formula(seed)
    full = _probe(f, budget=1e6, max_probes=40, seed=seed)
    samples, work = list(full.ln_samples), list(full.sample_work)
    middle = float(np.median([relative_standard_error(samples[:k]) for k in range(4, 41)]))
    checked, extended = 0, 0
    for lo in range(1, 11):  # budgets between the ends of probes lo and lo + 1
        hi = lo + 1
        budget = (work[lo - 1] + work[hi - 1]) / 2
        for max_budget in (budget, (work[20] + work[21]) / 2, 1e5):
            for target in (None, 0.05, middle, 1.0):  # middle: met by some longer prefixes only
                ln, spent = probe_budget_script.extended_answer(samples, work, budget, max_budget, 4, target)
                # the same cap on probes as the long run (the script's runs stop at the library's cap too)
                res = _probe(f, budget=budget, max_budget=max_budget, target_rse=target, seed=seed,
                             max_probes=40)
                if ln is None:
                    assert res.ln_count is None
                else:
                    assert res.ln_count == pytest.approx(ln, abs=1e-12)
                    if spent not in (budget, max_budget):  # stopped as the last probe ended
                        assert spent == res.sample_work[-1] == res.work
                        extended += 1
                checked += ln is not None
    assert checked > 0 and extended > 0


def test_extend_few_goes_on_where_too_few_ended(probe_budget_script):
    samples, work = [1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0]
    assert probe_budget_script.extended_answer(samples, work, 2.5, 10.0, 4, None) == (None, 2.5)
    ln, spent = probe_budget_script.extended_answer(samples, work, 2.5, 10.0, 4, None, extend_few=True)
    assert spent == 4.0 and ln == pytest.approx(float(np.logaddexp.reduce(samples[:4]) - math.log(4)))


@pytest.mark.parametrize("seed", [1, 2])
def test_checked_answer_is_what_the_library_answers(probe_budget_script, seed):
    """Where too few probes end within the budget, the check's mean (the library's ``ln_check``) is what
    the script reads off one long run, and it overrules an engine far above it or below the probes'
    lower bound only."""
    from bpcount.probe import CHECK_MIN_GAP, check_lower_bound

    f = _formula(seed)
    full = _probe(f, budget=1e6, max_probes=40, seed=seed)
    samples, work = list(full.ln_samples), list(full.sample_work)
    cases = 0
    for lo in range(0, 3):  # fewer than 4 probes end within the budget
        budget = work[0] / 2 if lo == 0 else (work[lo - 1] + work[lo]) / 2
        for max_budget in ((work[2] + work[3]) / 2, (work[20] + work[21]) / 2):
            for target in (None, 0.05, 1.0):
                res = _probe(f, budget=budget, max_budget=max_budget, target_rse=target, seed=seed, max_probes=40,
                             check=True)
                assert res.ln_count is None and res.ln_check is not None
                low = check_lower_bound(res.ln_samples)
                for engine, fires in ((res.ln_check + 2 * CHECK_MIN_GAP, True), (res.ln_check + 1.0, False),
                                      (low - 0.1, True), (low + 0.1, False)):
                    ln, used = probe_budget_script.checked_answer(samples, work, engine, budget, max_budget, 4,
                                                                  target)
                    assert used is fires and ln == pytest.approx(res.ln_check if fires else engine, abs=1e-12)
                cases += 1
    assert cases == 18


def test_saved_runs_are_scored_together(tmp_path, probe_budget_script):
    rows = []
    for name, truth in (("a.cnf", 10.0), ("b.cnf", 20.0)):
        runs = [{"seed": 0, "samples": [truth - 1, truth + 0.5, truth, truth - 0.2, truth + 0.1],
                 "work": [0.5, 1.0, 1.5, 2.5, 3.0], "random_choices": 5}]
        rows.append({"name": name, "vars": 30, "truth": truth, "engine": truth + 3.0, "runs": runs})
    first, second = tmp_path / "s0.jsonl", tmp_path / "s1.jsonl"
    first.write_text("".join(json.dumps(x) + "\n" for x in rows))
    for x in rows:
        x["runs"][0]["seed"] = 1
    second.write_text("".join(json.dumps(x) + "\n" for x in rows))
    out = tmp_path / "report.md"
    assert probe_budget_script.main(["--from-raw", f"{first},{second}", "--budgets", "2,4", "--min-probes", "4",
                                     "--targets", "none,0.1", "--out", str(out)]) == 0
    text = out.read_text()
    assert "seeds 0,1" in text and "seed 1: RMSE" in text
    assert text.count("\n| 4 | none | ") == 2 and text.count("\n| 4 | 0.1 | ") == 2
    # at b = 2 three probes ended (the engine, +3, answers); at b = 4 all five: ln of their mean
    assert "| 2 | 3 (0/4) |" in text
    assert "The check (`--probe-check`" in text and "\n| 2 | 4 | 3 | 3 | 0 (0) |" in text
    rows[1]["name"] = "c.cnf"
    second.write_text("".join(json.dumps(x) + "\n" for x in rows))
    with pytest.raises(SystemExit):
        probe_budget_script.main(["--from-raw", f"{first},{second}", "--out", str(out)])
