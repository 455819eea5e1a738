"""``bpcount ising``: KCN neighbourhood BP thermodynamics of an Ising model on a network.

Library calls: :func:`bpcount.ising.kcn_curve` (magnetisation, energy, heat capacity, entropy per
temperature, warm-started), :func:`bpcount.ising.critical_temperature` (spectral radius of the
linearised message map), and the baselines :func:`bpcount.ising.wolff_curve` (Wolff Monte Carlo,
zero-field ferromagnets) and :func:`bpcount.ising.exact_curve` (variable elimination, small
treewidth).

stdout: a ``# T_c(r=R) = ...`` comment line (when computed), then CSV with one row per temperature.
stderr: progress (tqdm) and timings. ``--out DIR`` also writes ``DIR/ising.csv`` and ``DIR/ising.png``.
Exit codes: 0 success, 2 usage error, 3 unreadable edge list.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from pathlib import Path

import click

COLUMNS = ["T", "m", "u", "c", "s", "lnz", "converged", "iterations"]
MC_COLUMNS = ["mc_abs_m", "mc_u", "mc_u_err", "mc_c"]
EXACT_COLUMNS = ["exact_u", "exact_c", "exact_s", "exact_lnz"]


def _plot(path: Path, rows: list[dict], radius: int, tc: float | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    T = [r["T"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(9, 7), sharex=True)
    panels = [("m", "mc_abs_m", None, "magnetisation"), ("u", "mc_u", "exact_u", "energy per node"),
              ("c", "mc_c", "exact_c", "heat capacity per node"), ("s", None, "exact_s", "entropy per node")]
    for ax, (key, mc, ex, title) in zip(axes.flat, panels, strict=True):
        ax.plot(T, [r[key] for r in rows], "-", label=f"KCN r={radius}")
        if mc and mc in rows[0]:
            ax.plot(T, [r[mc] for r in rows], "o", ms=3, label="Wolff MC" + (" (|m|)" if key == "m" else ""))
        if ex and ex in rows[0]:
            ax.plot(T, [r[ex] for r in rows], "--", label="exact (VE)")
        if tc:
            ax.axvline(tc, color="grey", ls=":", label=f"T_c = {tc:.4f}")
        ax.set_title(title)
        ax.set_xlabel("T")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@click.command("ising")
@click.argument("edgelist", type=click.Path(dir_okay=False))
@click.option("--fields", "fields_path", type=click.Path(dir_okay=False), default=None,
              help="File of 'node h' lines (default: zero field).")
@click.option("--radius", "-r", type=click.IntRange(0, 10), default=1, show_default=True,
              help="Neighbourhood radius: loops up to length r+2 are treated exactly.")
@click.option("--t-min", type=click.FloatRange(min=0, min_open=True), default=0.5, show_default=True)
@click.option("--t-max", type=click.FloatRange(min=0, min_open=True), default=4.0, show_default=True)
@click.option("--steps", type=click.IntRange(1), default=30, show_default=True, help="Temperatures in the grid.")
@click.option("--damping", type=click.FloatRange(0, 1, max_open=True), default=0.5, show_default=True)
@click.option("--max-iters", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--tol", type=float, default=1e-8, show_default=True, help="Convergence: max |Δq|.")
@click.option("--max-region-vars", type=click.IntRange(2, 26), default=20, show_default=True,
              help="Regions above this size are capped (lower radius) or sampled.")
@click.option("--tc/--no-tc", default=True, show_default=True,
              help="Critical temperature from the linearised message map (zero field only).")
@click.option("--mc/--no-mc", default=True, show_default=True,
              help="Wolff Monte Carlo baseline (zero-field ferromagnets only).")
@click.option("--mc-sweeps", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--mc-burn-in", type=click.IntRange(0), default=200, show_default=True)
@click.option("--exact", type=click.Choice(["auto", "yes", "no"]), default="auto", show_default=True,
              help="Exact values by variable elimination (auto: when the elimination width is small).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Directory for ising.csv and ising.png.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.pass_context
def ising_command(ctx, edgelist, fields_path, radius, t_min, t_max, steps, damping, max_iters, tol,
                  max_region_vars, tc, mc, mc_sweeps, mc_burn_in, exact, out_dir, seed):
    """Ising model on the network EDGELIST ('u v [J]' lines) by neighbourhood BP."""
    import numpy as np
    import torch
    from tqdm import tqdm

    from bpcount.ising import (
        critical_temperature,
        exact_curve,
        kcn_curve,
        read_edgelist,
        wolff_curve,
    )
    from bpcount.ising.exact import MAX_EXACT_WIDTH, elimination_order
    from bpcount.loopy.engine import KCNSolver, LoopyCapError

    # The local sums are many small tensor ops; extra intra-op threads only add contention.
    torch.set_num_threads(1)
    if t_max < t_min:
        raise click.BadParameter("--t-max must be >= --t-min")
    try:
        net = read_edgelist(edgelist, fields_path)
    except (OSError, ValueError) as err:
        click.echo(f"bpcount ising: error: {err}", err=True)
        ctx.exit(3)
    temps = np.linspace(t_min, t_max, steps)
    log = lambda msg: click.echo(f"c {msg}", err=True)  # noqa: E731
    log(f"network: {net.num_nodes} nodes, {net.num_edges} edges; radius {radius}")
    t0 = time.perf_counter()
    try:
        solver = KCNSolver(net.model(), radius, max_region_vars=max_region_vars, seed=seed)
    except LoopyCapError as err:
        click.echo(f"bpcount ising: error: {err}", err=True)
        ctx.exit(1)
    sizes = solver.nb.sizes
    log(f"neighbourhoods: mean |N_i| {sizes.mean():.3f}, max {int(sizes.max())}, {solver.num_messages} messages, "
        f"{solver.num_sampled_sums} sampled local sums, built in {time.perf_counter() - t0:.2f} s")
    tc_value = None
    if tc and net.zero_field:
        t1 = time.perf_counter()
        tc_value = critical_temperature(solver)
        log(f"T_c from rho(M) = 1: {tc_value:.6f} ({time.perf_counter() - t1:.2f} s)")
    elif tc:
        log("T_c skipped: the linearisation needs zero fields")
    with tqdm(total=steps, desc=f"KCN r={radius}", file=sys.stderr, leave=False) as bar:
        curve = kcn_curve(net, temps, radius, solver=solver, damping=damping, max_iters=max_iters, tol=tol,
                          progress=bar)
    log(f"KCN scan: {curve.seconds:.2f} s, {int((~curve.converged).sum())} of {steps} temperatures unconverged")
    rows = [{"T": float(T), "m": curve.magnetisation[k], "u": curve.energy[k], "c": curve.heat_capacity[k],
             "s": curve.entropy[k], "lnz": curve.log_z[k], "converged": bool(curve.converged[k]),
             "iterations": int(curve.iterations[k])} for k, T in enumerate(temps)]
    columns = list(COLUMNS)
    if mc:
        if net.zero_field and not np.any(net.couplings < 0):
            with tqdm(total=steps, desc="Wolff", file=sys.stderr, leave=False) as bar:
                points = wolff_curve(net, temps, sweeps=mc_sweeps, burn_in=mc_burn_in, seed=seed, progress=bar)
            for row, p in zip(rows, points, strict=True):
                row.update(mc_abs_m=p.abs_magnetisation, mc_u=p.energy, mc_u_err=p.energy_err, mc_c=p.heat_capacity)
            columns += MC_COLUMNS
            log(f"Wolff MC: {sum(p.seconds for p in points):.2f} s ({mc_sweeps} sweeps per temperature)")
        else:
            log("Wolff MC skipped: needs zero fields and J >= 0")
    if exact != "no":
        _, width = elimination_order(net)
        if width <= MAX_EXACT_WIDTH:
            t1 = time.perf_counter()
            for row, p in zip(rows, exact_curve(net, temps), strict=True):
                row.update(exact_u=p.energy, exact_c=p.heat_capacity, exact_s=p.entropy, exact_lnz=p.log_z)
            columns += EXACT_COLUMNS
            log(f"exact (VE, width {width}): {time.perf_counter() - t1:.2f} s")
        elif exact == "yes":
            click.echo(f"bpcount ising: error: elimination width {width} exceeds {MAX_EXACT_WIDTH}", err=True)
            ctx.exit(1)
        else:
            log(f"exact skipped: elimination width {width} > {MAX_EXACT_WIDTH}")
    buf = io.StringIO()
    if tc_value is not None:
        buf.write(f"# T_c(r={radius}) = {tc_value:.6f}\n")
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.8g}" if isinstance(v, float) else v) for k, v in row.items()})
    click.echo(buf.getvalue(), nl=False)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "ising.csv").write_text(buf.getvalue())
        _plot(out / "ising.png", rows, radius, tc_value)
        log(f"wrote {out / 'ising.csv'} and {out / 'ising.png'}")
