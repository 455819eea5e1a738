"""Reference counts, guarantee checks and summary tables for ``bpcount compare``.

**Reference.** For counter X on formula F: the answer of an exact counter other than X that finished
on F (pyganak first), else the labels CSV (bench/labels.csv format), else none. An exact counter is
thus checked against another exact counter or the labels, never against itself.

**Guarantees** (:func:`check`). Answers are judged against their counter's *own* promise:

* exact: |Δ ln| ≤ 1e-6 + 1e-9·|ln ref| (float tolerance of a log);
* approx (ApproxMC, ε): the ratio must lie in [1/(1+ε), 1+ε], i.e. |Δ ln| ≤ ln(1+ε);
* heuristic (bpcount): its estimate promises nothing (the MCC heuristic tolerance |Δ ln| ≤ 0.18 is
  reported as a share), but its proven bounds [ln_lower, ln_upper] do: the reference must lie
  within them, to the exact tolerance (:func:`within_bounds`); without bounds, no guarantee.

UNSAT: −inf vs −inf is a match (Δ = 0); −inf vs a finite value is outside every tolerance. Answers
outside their guarantee are listed one by one, never silently averaged in.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from bpcount.compare.counters import Answer

#: MCC heuristic tolerance on |Δ ln| (the stricter reading of "20%", mcc-format.md §5)
HEURISTIC_TOL = 0.18
EXACT_ABS_TOL = 1e-6
EXACT_REL_TOL = 1e-9


@dataclass
class FormulaRow:
    """One formula with every counter's answer and the label (if any)."""

    file: str
    family: str = ""
    n_vars: int | None = None
    n_clauses: int | None = None
    label_ln: float | None = None
    answers: dict[str, Answer] = field(default_factory=dict)

    def reference(self, exclude: str | None = None, exact_counters: Sequence[str] = ()) -> tuple[float | None, str]:
        """(ln, source) of the reference for a counter named ``exclude`` (see the module docstring)."""
        for name in exact_counters:
            a = self.answers.get(name)
            if name != exclude and a is not None and a.status == "ok" and a.kind == "exact":
                return a.ln_count, name
        if self.label_ln is not None:
            return self.label_ln, "labels"
        return None, ""


def delta(ln: float | None, ref: float | None) -> float | None:
    """ln − ref, with −inf − −inf = 0 and a one-sided −inf = ±inf; None if either is missing."""
    if ln is None or ref is None:
        return None
    if math.isinf(ln) and math.isinf(ref) and (ln < 0) == (ref < 0):
        return 0.0
    return ln - ref


def tolerance(kind: str, epsilon: float | None, ref: float | None) -> float | None:
    """Largest |Δ ln| the counter promises (None: no promise)."""
    if kind == "exact":
        return EXACT_ABS_TOL + EXACT_REL_TOL * (abs(ref) if ref is not None and math.isfinite(ref) else 0.0)
    if kind == "approx" and epsilon is not None:
        return math.log1p(epsilon) + 1e-12
    return None


def check(kind: str, epsilon: float | None, ln: float | None, ref: float | None) -> bool | None:
    """True inside the guarantee, False outside, None when there is no guarantee or no reference."""
    d = delta(ln, ref)
    tol = tolerance(kind, epsilon, ref)
    if d is None or tol is None:
        return None
    return abs(d) <= tol


def within_bounds(a: Answer, ref: float | None) -> bool | None:
    """Whether ``ref`` lies in the answer's proven bounds [ln_lower, ln_upper] (to the exact
    counters' rounding tolerance); None when the answer has no bounds or there is no reference."""
    if ref is None or (a.ln_lower is None and a.ln_upper is None):
        return None
    lo = -math.inf if a.ln_lower is None else a.ln_lower
    hi = math.inf if a.ln_upper is None else a.ln_upper
    if ref == -math.inf:
        return lo == -math.inf
    slack = EXACT_ABS_TOL + EXACT_REL_TOL * abs(ref)
    return lo - slack <= ref <= hi + slack


def answer_check(a: Answer, info: CounterInfo, ref: float | None) -> bool | None:
    """:func:`check` of the counter's own promise; for a heuristic counter with proven bounds
    (bpcount), whether the reference lies within them."""
    if info.kind in ("exact", "approx"):
        return check(a.kind, info.epsilon, a.ln_count, ref)
    return within_bounds(a, ref)


@dataclass(frozen=True)
class CounterInfo:
    name: str
    kind: str  # exact | approx | heuristic
    epsilon: float | None = None


@dataclass
class Stats:
    """Summary of one counter on a set of formulas."""

    counter: str
    n: int = 0
    solved: int = 0
    with_ref: int = 0
    rmse: float | None = None
    median_abs: float | None = None
    within_018: float | None = None
    median_seconds: float | None = None
    median_seconds_batched: float | None = None
    outside: int | None = None  # None: no guarantee (a heuristic counter without proven bounds)
    unsat_mismatch: int = 0


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def counter_stats(rows: Sequence[FormulaRow], info: CounterInfo, exact_counters: Sequence[str]) -> Stats:
    st = Stats(info.name, n=len(rows))
    sq, absd, within, times, btimes = [], [], [], [], []
    outside = bounded = 0
    for row in rows:
        a = row.answers.get(info.name)
        if a is None or a.status != "ok":
            continue
        st.solved += 1
        if a.seconds is not None:
            times.append(a.seconds)
        if a.seconds_batched is not None:
            btimes.append(a.seconds_batched)
        ref, _ = row.reference(info.name, exact_counters)
        d = delta(a.ln_count, ref)
        if d is None:
            continue
        st.with_ref += 1
        within.append(abs(d) <= HEURISTIC_TOL)
        if math.isfinite(d):
            if math.isfinite(ref):
                sq.append(d * d)
                absd.append(abs(d))
        else:
            st.unsat_mismatch += 1
        verdict = answer_check(a, info, ref)
        bounded += verdict is not None
        if verdict is False:
            outside += 1
    st.rmse = math.sqrt(sum(sq) / len(sq)) if sq else None
    st.median_abs = _median(absd)
    st.within_018 = sum(within) / len(within) if within else None
    st.median_seconds = _median(times)
    st.median_seconds_batched = _median(btimes)
    st.outside = outside if info.kind in ("exact", "approx") or bounded else None
    return st


def speedups(rows: Sequence[FormulaRow], fast: str, other: str, *, batched: bool = False) -> float | None:
    """Median over formulas both solved of t_other / t_fast (``batched``: fast's batched time)."""
    ratios = []
    for row in rows:
        a, b = row.answers.get(fast), row.answers.get(other)
        if a is None or b is None or a.status != "ok" or b.status != "ok":
            continue
        ta = a.seconds_batched if batched else a.seconds
        if ta and b.seconds is not None and ta > 0:
            ratios.append(b.seconds / ta)
    return _median(ratios)


def outside_list(rows: Sequence[FormulaRow], infos: Sequence[CounterInfo], exact_counters: Sequence[str]) -> list[dict]:
    """Every answer outside its counter's guarantee: file, counter, ln, ref, Δ, ratio, tolerance."""
    out = []
    for row in rows:
        for info in infos:
            a = row.answers.get(info.name)
            if a is None or a.status != "ok":
                continue
            ref, src = row.reference(info.name, exact_counters)
            if answer_check(a, info, ref) is False:
                d = delta(a.ln_count, ref)
                out.append({"file": row.file, "counter": info.name, "ln_count": a.ln_count, "ref": ref,
                            "ref_source": src, "delta": d,
                            "ratio": math.exp(d) if d is not None and abs(d) < 700 else None,
                            "tolerance": tolerance(a.kind, info.epsilon, ref),
                            "bounds": None if info.kind in ("exact", "approx") else (a.ln_lower, a.ln_upper)})
    return out


# ------------------------------------------------------------------------------------------ formatting
def _f(x: float | None, fmt: str = ".3f") -> str:
    if x is None:
        return "-"
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    return repr(float(x)) if fmt == "r" else format(x, fmt)


def _t(x: float | None) -> str:
    return "-" if x is None else (f"{x:.4f}" if x < 1 else f"{x:.2f}")


def _md(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


def summary_markdown(rows: Sequence[FormulaRow], infos: Sequence[CounterInfo], exact_counters: Sequence[str]) -> str:
    """Markdown: per counter, per family × counter, speedups of bpcount, answers outside guarantee."""
    parts = []
    header = ["counter", "guarantee", "solved", "with ref", "RMSE ln", "median abs Δln", "share abs Δln ≤ 0.18",
              "median s", "median s batched", "outside guarantee"]

    def stat_row(label: list[str], st: Stats, info: CounterInfo) -> list[str]:
        guar = {"exact": "exact", "approx": f"ε={info.epsilon}"}.get(
            info.kind, "none" if st.outside is None else "proven bounds")
        outside = "-" if st.outside is None else str(st.outside)
        if st.unsat_mismatch:
            outside += f" ({st.unsat_mismatch} SAT/UNSAT mismatch)"
        return [*label, guar, f"{st.solved}/{st.n}", str(st.with_ref), _f(st.rmse), _f(st.median_abs),
                _f(st.within_018, ".2f"), _t(st.median_seconds), _t(st.median_seconds_batched), outside]

    body = [stat_row([i.name], counter_stats(rows, i, exact_counters), i) for i in infos]
    parts.append("Per counter (Δln = ln count − reference; reference = another exact counter, else labels)\n\n"
                 + _md(header, body))
    families = sorted({r.family or "-" for r in rows})
    if len(families) > 1:
        fbody = []
        for fam in families:
            sub = [r for r in rows if (r.family or "-") == fam]
            for i in infos:
                fbody.append(stat_row([fam, i.name], counter_stats(sub, i, exact_counters), i))
        parts.append("Per family\n\n" + _md(["family", *header], fbody))
    fast = [i.name for i in infos if i.kind == "heuristic"]
    others = [i.name for i in infos if i.kind != "heuristic"]
    if fast and others:
        sbody = []
        for f in fast:
            sbody.append([f"{f} (sequential CPU, batch 1)"] + [_f(speedups(rows, f, o), ".1f") for o in others])
            sbody.append([f"{f} (batched)"] + [_f(speedups(rows, f, o, batched=True), ".1f") for o in others])
        parts.append("Median speedup of bpcount over each counter (t_counter / t_bpcount, formulas both solved)\n\n"
                     + _md(["bpcount", *others], sbody))
    flagged = outside_list(rows, infos, exact_counters)
    if flagged:
        fl = [[r["file"], r["counter"], _f(r["ln_count"], ".4f"), _f(r["ref"], ".4f"), r["ref_source"],
               _f(r["delta"], "+.4f"), _f(r["ratio"], ".4g"),
               _f(r["tolerance"], ".3g") if r["bounds"] is None else
               f"bounds [{_f(r['bounds'][0], '.4f')}, {_f(r['bounds'][1], '.4f')}]"] for r in flagged]
        parts.append("Answers outside their counter's guarantee\n\n"
                     + _md(["file", "counter", "ln", "ref ln", "ref", "Δln", "ratio", "allowed abs Δln / bounds"], fl))
    else:
        parts.append("Answers outside their counter's guarantee: none")
    return "\n\n".join(parts) + "\n"


def csv_rows(rows: Sequence[FormulaRow], infos: Sequence[CounterInfo], exact_counters: Sequence[str]) -> tuple[list[str], list[dict]]:
    """Wide per-formula table: one row per formula, a group of columns per counter."""
    fields = ["file", "family", "n_vars", "n_clauses", "ref_ln", "ref_source", "label_ln"]
    for i in infos:
        fields += [f"{i.name}_status", f"{i.name}_ln", f"{i.name}_seconds", f"{i.name}_delta",
                   f"{i.name}_in_guarantee"]
        if i.kind == "heuristic":
            fields.append(f"{i.name}_seconds_batched")
        fields.append(f"{i.name}_detail")
    out = []
    for row in rows:
        ref, src = row.reference(None, exact_counters)
        rec = {"file": row.file, "family": row.family, "n_vars": row.n_vars, "n_clauses": row.n_clauses,
               "ref_ln": _f(ref, "r"), "ref_source": src, "label_ln": _f(row.label_ln, "r")}
        for i in infos:
            a = row.answers.get(i.name)
            if a is None:
                continue
            r_i, _ = row.reference(i.name, exact_counters)
            ok = answer_check(a, i, r_i) if a.status == "ok" else None
            rec.update({
                f"{i.name}_status": a.status, f"{i.name}_ln": _f(a.ln_count, "r"),
                f"{i.name}_seconds": _f(a.seconds, ".6f"),
                f"{i.name}_delta": _f(delta(a.ln_count, r_i) if a.status == "ok" else None, "r"),
                f"{i.name}_in_guarantee": "" if ok is None else int(ok),
                f"{i.name}_detail": a.detail or a.error,
            })
            if i.kind == "heuristic":
                rec[f"{i.name}_seconds_batched"] = _f(a.seconds_batched, ".6f")
        out.append(rec)
    return fields, out
