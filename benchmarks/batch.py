"""Batched counting of a directory of formulas: formulas per second per method and device, and how far
the CUDA answers (float32 messages by default) lie from the CPU ones (float64).

Writes generated formulas to a temporary directory and counts them with the library call that
``bpcount DIR`` makes (``bpcount.estimate.count``), two ways:

* *engine*: exact stages, proven bounds and the SAT check off (``exact_max_width=0, enum_models=0,
  search_budget=0, probe_budget=0, bound_budget=0, sat_check=False``), so the time is parsing, simplification and message passing:
  what a GPU can speed up;
* *default*: the default pipeline (SAT check, elimination, model enumeration, exact search, proven
  bounds, then the method), as ``bpcount DIR`` runs it.

Every configuration runs in one process, side by side; the first call of each device is a warm-up
(torch import, CUDA context, model load) and is not timed.

    python benchmarks/batch.py --out benchmarks/results/batch.md [--devices cpu,cuda] [--count 512]
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from bpcount import __version__
from bpcount.estimate import CountOptions, count
from bpcount.generate import generate

#: (label, family, parameters): families from `bpcount generate`, sized so that the exact stages
#: leave most formulas to the method.
SETS = [
    ("kcnf n=200 ratio 4.0", "kcnf", {"n": 200, "ratio": 4.0}),
    ("dqmr 120×120, 50 % observed", "dqmr", {"diseases": 120, "symptoms": 120, "observed": 0.5}),
    ("grid 20×20, determinism 0.8", "grid", {"rows": 20, "cols": 20, "determinism": 0.8, "evidence": 10}),
]
ENGINE_ONLY = {"exact_max_width": 0, "enum_models": 0, "search_budget": 0.0, "probe_budget": 0.0, "bound_budget": 0.0,
               "sat_check": False}
METHODS = [("bp-clauses", {"method": "bp", "gates": False}), ("bp", {"method": "bp"}),
           ("bpnn", {"method": "bpnn"})]


def timed(paths: list[str], opts: CountOptions) -> tuple[list, float]:
    if opts.device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    results = count(paths, options=opts)
    return results, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/batch.md"))
    ap.add_argument("--devices", default="cpu,cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--count", type=int, default=512, help="formulas per set")
    ap.add_argument("--batch-sizes", default="64,512", help="CountOptions.batch_size values (engine runs)")
    ap.add_argument("--sets", default=None, help="comma-separated set indices (default: all)")
    ap.add_argument("--default-count", type=int, default=32,
                    help="formulas per set for the default-pipeline runs (its exact search spends its whole "
                         "budget, 2 s by default, on every formula it does not decide); 0 skips them")
    args = ap.parse_args(argv)
    devices = args.devices.split(",")
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    sets = [SETS[int(i)] for i in args.sets.split(",")] if args.sets else SETS
    gpu = torch.cuda.get_device_name(0) if "cuda" in devices else "none"
    lines = [
        "# Batched counting: formulas per second by method and device",
        "",
        f"bpcount {__version__}; torch {torch.__version__}; Python {platform.python_version()}; "
        f"{platform.machine()}, {torch.get_num_threads()} CPU threads; GPU: {gpu}.",
        f"Command: `python benchmarks/batch.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
        "",
        "*engine*: exact stages and SAT check off; *default*: the default pipeline. CPU runs float64 "
        "messages, CUDA float32 (the library defaults). *max |Δ| vs CPU*: the largest difference in "
        "ln Z between this run and the CPU run of the same method and mode, over formulas both estimated. "
        "Times include parsing and simplification (CPU, per formula).",
        "",
        "| set | formulas | mode | method | device | batch | seconds | formulas/s | exact | max \\|Δ\\| vs CPU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for label, family, params in sets:
            written = generate(family, out=Path(tmp) / family, count=args.count, seed=7, **params)
            paths = [str(w.path) for w in written]
            for dev in devices:  # warm-up: imports, CUDA context, model load
                for _, m in METHODS:
                    count(paths[:4], options=CountOptions(device=dev, **m, **ENGINE_ONLY))
            runs = [("engine", b, ENGINE_ONLY, paths) for b in batch_sizes]
            if args.default_count:
                runs.append(("default", 64, {}, paths[:args.default_count]))
            for mode, batch, extra, todo in runs:
                for name, m in METHODS:
                    reference = None
                    for dev in devices:
                        opts = CountOptions(device=dev, batch_size=batch, **m, **extra)
                        results, secs = timed(todo, opts)
                        lns = [r.ln_count for r in results]
                        if dev == "cpu":
                            reference = lns
                        diffs = [abs(a - b) for a, b, r in zip(lns, reference or lns, results)
                                 if a is not None and b is not None and math.isfinite(a)
                                 and math.isfinite(b) and not r.exact]
                        worst = f"{max(diffs):.2g}" if reference is not None and dev != "cpu" and diffs else "—"
                        n_exact = sum(r.exact for r in results)
                        failed = sum(r.ln_count is None for r in results)
                        lines.append(f"| {label} | {len(todo)} | {mode} | {name} | {dev} | {batch} | {secs:.2f} | "
                                     f"{len(todo) / secs:.1f} | {n_exact} | {worst}"
                                     + (f" ({failed} failed)" if failed else "") + " |")
                        print(lines[-1], file=sys.stderr, flush=True)
                        args.out.parent.mkdir(parents=True, exist_ok=True)
                        args.out.write_text("\n".join(lines) + "\n")  # after every row: a killed run keeps them
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
