"""Reference choice, guarantee flags (ApproxMC ε, exact tolerance, none for bpcount) and tables."""

from __future__ import annotations

import math

import pytest

from bpcount.compare.counters import Answer
from bpcount.compare.summary import (
    CounterInfo,
    FormulaRow,
    check,
    counter_stats,
    csv_rows,
    delta,
    outside_list,
    summary_markdown,
)

INFOS = [CounterInfo("bp", "heuristic"), CounterInfo("approxmc", "approx", 0.8), CounterInfo("ganak", "exact")]
EXACT = ["ganak"]
S444 = math.log(12_818_432)  # BIRD s444_7_4: pyapproxmc 4.4.0 answered 50 * 2**12 (62x off)


def row(file, ref, bp, amc, ganak="same", label=None, family="s"):
    ans = {"bp": Answer("bp", file, "ok", bp, "heuristic", 0.01, seconds_batched=0.001),
           "approxmc": Answer("approxmc", file, "ok", amc, "approx", 1.0)}
    if ganak is not None:
        ans["ganak"] = Answer("ganak", file, "ok", ref if ganak == "same" else ganak, "exact", 2.0)
    return FormulaRow(file, family=family, label_ln=label, answers=ans)


def test_check_rules():
    assert check("approx", 0.8, math.log(1.79), 0.0) is True
    assert check("approx", 0.8, math.log(1.81), 0.0) is False
    assert check("approx", 0.8, -math.log(1.79), 0.0) is True
    assert check("approx", 0.8, -math.log(1.81), 0.0) is False
    assert check("exact", None, 100.0 + 1e-8, 100.0) is True
    assert check("exact", None, 100.0 + 1e-3, 100.0) is False
    assert check("heuristic", None, 5.0, 0.0) is None
    assert check("exact", None, -math.inf, -math.inf) is True
    assert check("approx", 0.8, -math.inf, 3.0) is False
    assert delta(1.0, None) is None and delta(-math.inf, -math.inf) == 0.0


def test_out_of_guarantee_answer_is_flagged_not_averaged():
    rows = [row("s444.cnf", S444, S444 + 0.1, math.log(50) + 12 * math.log(2)),
            row("ok.cnf", 10.0, 10.5, 10.2)]
    st = counter_stats(rows, INFOS[1], EXACT)
    assert st.outside == 1 and st.solved == 2
    flagged = outside_list(rows, INFOS, EXACT)
    assert [(f["file"], f["counter"]) for f in flagged] == [("s444.cnf", "approxmc")]
    assert flagged[0]["ratio"] == pytest.approx(50 * 2**12 / 12_818_432)
    bp = counter_stats(rows, INFOS[0], EXACT)
    assert bp.outside is None and bp.within_018 == 0.5
    assert bp.rmse == pytest.approx(math.sqrt((0.1**2 + 0.5**2) / 2))
    text = summary_markdown(rows, INFOS, EXACT)
    assert "Answers outside their counter's guarantee" in text and "s444.cnf" in text
    assert "| approxmc | ε=0.8 | 2/2 | 2 |" in text


def test_exact_counter_checked_against_labels_not_itself():
    rows = [row("a.cnf", 5.0, 5.0, 5.0, ganak=5.5, label=5.0), row("b.cnf", 3.0, 3.0, 3.0, label=None)]
    st = counter_stats(rows, INFOS[2], EXACT)
    assert st.with_ref == 1 and st.outside == 1  # a.cnf: ganak disagrees with the label
    # the other counters use ganak's answer as the reference
    assert rows[0].reference("bp", EXACT) == (5.5, "ganak")
    assert rows[0].reference("ganak", EXACT) == (5.0, "labels")


def test_unsat_mismatch_and_labels_fallback():
    rows = [row("u.cnf", -math.inf, 2.0, -math.inf, ganak=None, label=-math.inf)]
    bp = counter_stats(rows, INFOS[0], EXACT)
    assert bp.with_ref == 1 and bp.unsat_mismatch == 1 and bp.within_018 == 0.0 and bp.rmse is None
    amc = counter_stats(rows, INFOS[1], EXACT)
    assert amc.outside == 0 and amc.within_018 == 1.0
    fields, recs = csv_rows(rows, INFOS, EXACT)
    assert recs[0]["ref_source"] == "labels" and recs[0]["bp_delta"] == "inf"
    assert "bp_seconds_batched" in fields and recs[0]["approxmc_in_guarantee"] == 1


def test_proven_bounds_are_bpcounts_guarantee():
    """With bounds, a bpcount answer is in its guarantee when the reference lies inside them; one
    outside is counted and listed with its bounds; without bounds there is no guarantee."""
    from dataclasses import replace

    from bpcount.compare.summary import within_bounds

    rows = [row("in.cnf", 10.0, 12.0, 10.0), row("out.cnf", 20.0, 26.0, 20.0), row("none.cnf", 5.0, 5.5, 5.0)]
    rows[0].answers["bp"] = replace(rows[0].answers["bp"], ln_lower=8.0, ln_upper=12.5)
    rows[1].answers["bp"] = replace(rows[1].answers["bp"], ln_lower=21.0, ln_upper=30.0)  # wrong lower bound
    st = counter_stats(rows, INFOS[0], EXACT)
    assert st.outside == 1 and st.solved == 3
    flagged = outside_list(rows, INFOS, EXACT)
    assert [(f["file"], f["counter"], f["bounds"]) for f in flagged] == [("out.cnf", "bp", (21.0, 30.0))]
    text = summary_markdown(rows, INFOS, EXACT)
    assert "| bp | proven bounds | 3/3 |" in text and "bounds [21.0000, 30.0000]" in text
    _, recs = csv_rows(rows, INFOS, EXACT)
    assert [r["bp_in_guarantee"] for r in recs] == [1, 0, ""]
    # the exact tolerance, and UNSAT references
    a = replace(rows[0].answers["bp"], ln_lower=10.0 + 5e-7, ln_upper=11.0)
    assert within_bounds(a, 10.0) is True and within_bounds(a, 9.99) is False
    assert within_bounds(replace(a, ln_lower=None), -math.inf) is True and within_bounds(a, -math.inf) is False
    assert within_bounds(rows[2].answers["bp"], 5.0) is None and within_bounds(a, None) is None
