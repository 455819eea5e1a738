"""Ising benchmarks for KCN neighbourhood BP (results in benchmarks/ising.md).

1. T_c(r), r = 0..4, on the 494-bus power grid (../shared/data/power494.txt) from ρ(𝓜) = 1, with
   neighbourhood sizes and timings; KCN − exact (variable elimination) errors on the grid.
2. A clique-projection network (n individuals in groups of size D, fraction p of edges removed,
   largest component): r = 0/1/2 curves against Wolff Monte Carlo, with wall-clock timings.

Usage:  .venv/bin/python benchmarks/ising.py [--n 2000] [--group-size 3] [--p-remove 0.1]
        [--steps 12] [--sweeps 1000] [--seed 1]          (prints a markdown report on stdout)
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from bpcount.ising import (
    clique_projection_network,
    critical_temperature,
    exact_curve,
    kcn_curve,
    read_edgelist,
    wolff_curve,
)
from bpcount.loopy.engine import KCNSolver

POWER = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "power494.txt"
REFERENCE_TC = [2.2142, 1.9348, 1.7519, 1.6613, 1.6317]


def power_grid_section(max_iters: int) -> None:
    if not POWER.exists():
        print(f"(skipped: {POWER} not found)\n")
        return
    net = read_edgelist(POWER)
    print(f"### 494-bus power grid ({net.num_nodes} nodes, {net.num_edges} edges), J = 1, h = 0\n")
    print("| r | mean / max \\|N_i\\| | messages | T_c (measured) | T_c (reference) | build s | T_c s |")
    print("|---|---|---|---|---|---|---|")
    solvers = {}
    for r in range(5):
        t0 = time.perf_counter()
        solver = KCNSolver(net.model(), r)
        t1 = time.perf_counter()
        tc = critical_temperature(solver)
        t2 = time.perf_counter()
        solvers[r] = solver
        sizes = solver.nb.sizes
        print(f"| {r} | {sizes.mean():.2f} / {sizes.max()} | {solver.num_messages} | {tc:.4f} | "
              f"{REFERENCE_TC[r]:.4f} | {t1 - t0:.2f} | {t2 - t1:.2f} |")
    temps = np.array([1.0, 1.5, 2.0, 2.5, 3.0])
    t0 = time.perf_counter()
    exact = exact_curve(net, temps)
    t_exact = time.perf_counter() - t0
    print(f"\nKCN − exact per node on the grid (Δu / Δs_CVM / Δln Z); exact by variable elimination in "
          f"{t_exact:.2f} s for {len(temps)} temperatures (5 ln Z evaluations each).\n")
    print("| T | exact u, s | " + " | ".join(f"r = {r}" for r in range(5)) + " |")
    print("|---|---|" + "---|" * 5)
    curves = {}
    timing = {}
    for r in range(5):
        curves[r] = kcn_curve(net, temps, r, solver=solvers[r], max_iters=max_iters)
        timing[r] = curves[r].seconds
    for k, e in enumerate(exact):
        cells = []
        for r in range(5):
            c = curves[r]
            mark = "" if c.converged[k] else " ✱"
            cells.append(f"{c.energy[k] - e.energy:+.4f} / {c.entropy[k] - e.entropy:+.4f} / "
                         f"{c.log_z[k] - e.log_z:+.4f}{mark}")
        print(f"| {e.temperature:.2f} | {e.energy:.4f}, {e.entropy:.4f} | " + " | ".join(cells) + " |")
    print(f"\n✱ not converged within {max_iters} iterations. KCN scan times (5 temperatures): "
          + ", ".join(f"r = {r}: {timing[r]:.1f} s" for r in range(5)) + ".\n")


def clique_section(n: int, group_size: int, p_remove: float, steps: int, sweeps: int, seed: int,
                   max_iters: int) -> None:
    net = clique_projection_network(n, group_size, p_remove, seed=seed)
    print(f"### Clique-projection network: n = {n}, groups of {group_size}, p = {p_remove}, seed {seed} → "
          f"{net.num_nodes} nodes, {net.num_edges} edges\n")
    solvers, tcs = {}, {}
    for r in (0, 1, 2):
        t0 = time.perf_counter()
        solvers[r] = KCNSolver(net.model(), r)
        tcs[r] = (critical_temperature(solvers[r]), time.perf_counter() - t0)
    t_hi = 1.5 * tcs[0][0]
    temps = np.linspace(0.5 * tcs[2][0], t_hi, steps)
    curves = {r: kcn_curve(net, temps, r, solver=solvers[r], max_iters=max_iters) for r in (0, 1, 2)}
    t0 = time.perf_counter()
    mc = wolff_curve(net, temps, sweeps=sweeps, burn_in=max(50, sweeps // 5), seed=seed)
    t_mc = time.perf_counter() - t0
    print("| r | T_c (ρ(𝓜) = 1) | build + T_c s | scan s | unconverged | max \\|Δu\\| | max \\|Δc\\| | "
          "max \\|m − ⟨\\|m\\|⟩\\| (T < 0.9 T_c) |")
    print("|---|---|---|---|---|---|---|---|")
    mc_u = np.array([p.energy for p in mc])
    mc_c = np.array([p.heat_capacity for p in mc])
    mc_m = np.array([p.abs_magnetisation for p in mc])
    for r, c in curves.items():
        low = temps < 0.9 * tcs[r][0]
        dm = np.abs(c.magnetisation[low] - mc_m[low]).max() if low.any() else float("nan")
        print(f"| {r} | {tcs[r][0]:.4f} | {tcs[r][1]:.2f} | {c.seconds:.1f} | {int((~c.converged).sum())} | "
              f"{np.abs(c.energy - mc_u).max():.4f} | {np.abs(c.heat_capacity - mc_c).max():.4f} | {dm:.4f} |")
    print(f"\nWolff Monte Carlo: {sweeps} sweeps (+ burn-in) per temperature, {t_mc:.1f} s for {steps} "
          f"temperatures; energy standard error ≤ {max(p.energy_err for p in mc):.4f}.\n")
    print("| T | " + " | ".join(f"u r={r}" for r in curves) + " | u MC | "
          + " | ".join(f"c r={r}" for r in curves) + " | c MC | " + " | ".join(f"m r={r}" for r in curves)
          + " | ⟨\\|m\\|⟩ MC |")
    print("|---" * (3 * len(curves) + 4) + "|")
    for k, T in enumerate(temps):
        print(f"| {T:.3f} | " + " | ".join(f"{curves[r].energy[k]:.4f}" for r in curves) + f" | {mc_u[k]:.4f} | "
              + " | ".join(f"{curves[r].heat_capacity[k]:.3f}" for r in curves) + f" | {mc_c[k]:.3f} | "
              + " | ".join(f"{curves[r].magnetisation[k]:.3f}" for r in curves) + f" | {mc_m[k]:.3f} |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--group-size", type=int, default=3)
    ap.add_argument("--p-remove", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--sweeps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-iters", type=int, default=500)
    args = ap.parse_args()
    torch.set_num_threads(1)  # many small tensor ops: extra threads only add contention
    print(f"Machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread, "
          f"torch {torch.__version__}, numpy {np.__version__}\n")
    t0 = time.perf_counter()
    power_grid_section(args.max_iters)
    clique_section(args.n, args.group_size, args.p_remove, args.steps, args.sweeps, args.seed, args.max_iters)
    print(f"Total benchmark time: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
