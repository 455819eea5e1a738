"""BP throughput (edge-iterations per second) next to a memory-bandwidth reference, per-formula time
on the shipped examples, and process start-up times. Run with `make bench`.

Everything is measured in one run, side by side, so the ratios are meaningful on a noisy machine.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bpcount.bp import bp_step, damp, run_bp
from bpcount.cnf import Formula
from bpcount.gatebp import run_gate_bp
from bpcount.gategraph import build_gate_graph
from bpcount.graph import build_batch
from bpcount.simplify import simplify

REPO = Path(__file__).resolve().parents[1]
ITERS = 30  # timed BP iterations per size
#: bytes touched per edge per iteration by the BP step (float64): read λ, sign, var/clause index
#: (int64) in both half-steps, write u, cav, ℓ, clause gather, λ_new, damping: ≈ 14 words.
BYTES_PER_EDGE_ITER = 14 * 8


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def random_3cnf(m: int, ratio: float, seed: int) -> Formula:
    rng = np.random.default_rng(seed)
    n = max(3, int(m / ratio))
    # three distinct variables per clause
    v = np.stack([rng.choice(n, 3, replace=False) for _ in range(min(m, 2000))]) if m <= 2000 else None
    if v is None:
        v = rng.integers(0, n, size=(m, 3))
        bad = (v[:, 0] == v[:, 1]) | (v[:, 1] == v[:, 2]) | (v[:, 0] == v[:, 2])
        v[bad] = np.array([0, 1, 2])
    lits = (v + 1) * rng.choice([-1, 1], size=v.shape)
    ptr = np.arange(0, 3 * m + 1, 3, dtype=np.int64)
    return Formula(num_vars=n, lits=lits.ravel().astype(np.int64), clause_ptr=ptr)


def bandwidth(device, dtype, nbytes=1 << 28) -> float:
    """GB/s of a large tensor copy (read + write counted)."""
    x = torch.empty(nbytes // 8, dtype=torch.float64, device=device).uniform_()
    y = torch.empty_like(x)
    y.copy_(x)
    sync(device)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        y.copy_(x)
        sync(device)
        times.append(time.perf_counter() - t0)
    return 2 * nbytes / min(times) / 1e9


def bp_rate(formula: Formula, device, dtype) -> tuple[int, float, float]:
    """(edges, kernel edge-it/s of damped bp_step, end-to-end edge-it/s of run_bp incl. checks)."""
    s = simplify(formula, exact_max_vars=0, exact_max_width=0)
    g = build_batch([s.residual], device=device, dtype=dtype)
    lam = torch.zeros(g.num_edges, dtype=dtype, device=device)
    for _ in range(3):  # warm-up
        lam = damp(bp_step(g, lam), lam, 0.5)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(ITERS):
        lam = damp(bp_step(g, lam), lam, 0.5)
    sync(device)
    kernel = g.num_edges * ITERS / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    r = run_bp(g, max_iters=ITERS, check_every=10, tol=1e-300)
    sync(device)
    full = g.num_edges * int(r.iterations.max()) / (time.perf_counter() - t0)
    return g.num_edges, kernel, full


def gate_rate(formula: Formula, device, dtype) -> tuple[float, float]:
    """(seconds to build the gate graph, end-to-end run_gate_bp rate in *clause-graph* edge-it/s, so
    that it compares with run_bp on the same formula)."""
    s = simplify(formula, exact_max_vars=0, exact_max_width=0)
    g = build_batch([s.residual], device=device, dtype=dtype)
    sync(device)
    t0 = time.perf_counter()
    gg = build_gate_graph(g)
    sync(device)
    build = time.perf_counter() - t0
    run_gate_bp(gg, max_iters=3, tol=1e-300)  # warm-up
    sync(device)
    t0 = time.perf_counter()
    r = run_gate_bp(gg, max_iters=ITERS, check_every=10, tol=1e-300)
    sync(device)
    return build, g.num_edges * int(r.iterations.max()) / (time.perf_counter() - t0)


def wall(cmd: list[str], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=False, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "throughput.md")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    args = ap.parse_args()
    device = torch.device(args.device)
    lines = [f"# BP throughput ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
             f"torch {torch.__version__}, device {device})", ""]
    bw = bandwidth(device, torch.float64)
    lines += [f"Memory-bandwidth reference (torch copy of 256 MiB, read + write): **{bw:.1f} GB/s**. "
              f"Bound for BP at ~{BYTES_PER_EDGE_ITER} bytes per edge-iteration: "
              f"{bw * 1e9 / BYTES_PER_EDGE_ITER / 1e6:.0f} M edge-it/s.", ""]
    lines += ["Random 3-CNF at clause/variable ratio 3. *kernel*: the damped update alone; *run_bp*: the "
              "library loop with per-formula freezing and a convergence check every 10 iterations "
              f"({ITERS} iterations timed after a warm-up).", "",
              "*gate BP*: the default `bp` (run_gate_bp on the gate factor graph, which on random 3-CNF "
              "merges clause clusters into tables), in clause-graph edge-it/s so it compares with run_bp; "
              "*build*: seconds to build the gate graph.", "",
              "| clauses | edges | dtype | threads | kernel edge-it/s | run_bp edge-it/s | kernel / bandwidth bound "
              "| gate BP edge-it/s | gate build s |",
              "|---|---|---|---|---|---|---|---|---|"]
    thread_options = sorted({1, torch.get_num_threads()}) if device.type == "cpu" else [torch.get_num_threads()]
    for m in [int(x) for x in args.sizes.split(",")]:
        f = random_3cnf(m, 3.0, seed=m)
        for dtype in (torch.float64, torch.float32):
            for threads in thread_options:
                torch.set_num_threads(threads)
                e, kernel, full = bp_rate(f, device, dtype)
                word = 8 if dtype == torch.float64 else 6  # float32 halves the float traffic, not the int64 indices
                bound = bw * 1e9 / (14 * word)
                build, gate = gate_rate(f, device, dtype)
                lines.append(f"| {m:,} | {e:,} | {str(dtype).split('.')[-1]} | {threads} | {kernel / 1e6:.1f} M | "
                             f"{full / 1e6:.1f} M | {kernel / bound:.0%} | {gate / 1e6:.1f} M | {build:.2f} |")
                print(lines[-1], file=sys.stderr)
    torch.set_num_threads(max(thread_options))
    lines += ["", "## Shipped examples (`bpcount --method bp`, in-process, median of 5)", "",
              "| file | vars | clauses | seconds |", "|---|---|---|---|"]
    from bpcount.estimate import CountOptions, count

    for path in sorted((REPO / "examples").glob("*.cnf*")):
        ts = []
        for _ in range(5):
            (r,) = count([path], options=CountOptions(method="bp"))
            ts.append(r.seconds)
        lines.append(f"| {path.name} | {r.n_vars} | {r.n_clauses} | {statistics.median(ts):.4f} |")
    bpcount = str(Path(sys.executable).parent / "bpcount")
    example = str(REPO / "examples" / "example.cnf")
    t_torch = wall([sys.executable, "-c", "import torch"])
    t_help = wall([bpcount, "--help"])
    t_bad = wall([bpcount, "/nonexistent.cnf"])
    t_bp = wall([bpcount, "--method", "bp", example])
    t_default = wall([bpcount, example])
    lines += ["", "## Whole-process wall time (median of 3)", "", "| command | seconds |", "|---|---|",
              f"| `python -c \"import torch\"` | {t_torch:.2f} |",
              f"| `bpcount --help` | {t_help:.2f} |",
              f"| `bpcount /nonexistent.cnf` (error path) | {t_bad:.2f} |",
              f"| `bpcount --method bp examples/example.cnf` | {t_bp:.2f} |",
              f"| `bpcount examples/example.cnf` (default method) | {t_default:.2f} |"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
