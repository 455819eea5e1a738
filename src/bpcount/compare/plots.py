"""PNG plots for ``bpcount compare`` (matplotlib with the Agg backend, imported only here)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from bpcount.compare.summary import HEURISTIC_TOL, CounterInfo, FormulaRow, delta


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def cactus_plot(rows: Sequence[FormulaRow], infos: Sequence[CounterInfo], path: str | Path) -> Path:
    """Runtimes sorted per counter against the number of formulas solved (log time axis)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for info in infos:
        times = sorted(a.seconds for r in rows if (a := r.answers.get(info.name)) is not None
                       and a.status == "ok" and a.seconds is not None)
        if times:
            ax.plot(range(1, len(times) + 1), [max(t, 1e-5) for t in times], marker=".", label=info.name)
        if info.kind == "heuristic":
            bt = sorted(a.seconds_batched for r in rows if (a := r.answers.get(info.name)) is not None
                        and a.status == "ok" and a.seconds_batched is not None)
            if bt:
                ax.plot(range(1, len(bt) + 1), [max(t, 1e-5) for t in bt], marker=".", linestyle="--",
                        label=f"{info.name} (batched)")
    ax.set_yscale("log")
    ax.set_xlabel("formulas solved")
    ax.set_ylabel("seconds per formula")
    ax.set_title("Cactus plot")
    ax.grid(True, which="both", alpha=0.3)
    return _save(plt, fig, ax, path)


def _save(plt, fig, ax, path: str | Path) -> Path:
    """Legend, layout, write the PNG, free the figure."""
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def error_plot(rows: Sequence[FormulaRow], infos: Sequence[CounterInfo], exact_counters: Sequence[str],
               path: str | Path) -> Path:
    """Δ ln (estimate − reference) against the reference ln count, per counter (cf. BPNN Fig. 4)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    all_x: list[float] = []
    for info in infos:
        xs, ys = [], []
        for r in rows:
            a = r.answers.get(info.name)
            if a is None or a.status != "ok":
                continue
            ref, _ = r.reference(info.name, exact_counters)
            d = delta(a.ln_count, ref)
            if d is not None and math.isfinite(d) and ref is not None and math.isfinite(ref):
                xs.append(ref)
                ys.append(d)
        if xs:
            ax.scatter(xs, ys, s=12, alpha=0.7, label=info.name)
            all_x += xs
    ax.axhspan(-HEURISTIC_TOL, HEURISTIC_TOL, color="grey", alpha=0.15, label="|Δ ln| ≤ 0.18")
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xscale("symlog", linthresh=1.0)
    if all_x:
        ax.set_xlim(left=min(0.0, min(all_x)) - 0.1, right=max(all_x) * 1.5 + 1.0)
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xlabel("reference ln count")
    ax.set_ylabel("ln estimate − reference")
    ax.set_title("Error against the exact count")
    ax.grid(True, alpha=0.3)
    return _save(plt, fig, ax, path)
