"""``bpcount compare INPUT...``: bpcount against exact and approximate peer counters."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bpcount.cli.common import verbosity_options


@click.command("compare", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--counters", default="bp,approxmc,ganak", show_default=True,
              help="Comma-separated: bp, bpnn, loopy (bpcount); approxmc, ganak (Python bindings; "
                   "approxmc-raw: pyapproxmc without bpcount's freed-variable workaround); "
                   "approxmc-bin, ganak-bin, d4, sharpsat-td, dsharp (binaries on PATH); 'all' = every "
                   "available one.")
@click.option("--timeout", type=click.FloatRange(min=0.0, min_open=True), default=60.0, show_default=True,
              help="Wall-clock seconds per formula and counter (bpcount: per batch of message passing).")
@click.option("--mem-mb", type=click.IntRange(min=64), default=4096, show_default=True,
              help="Address-space limit (RLIMIT_AS) of each child process, MiB.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for results.csv, summary.md, cactus.png and error.png.")
@click.option("--labels", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Labels CSV (bench/labels.csv format): reference where no exact counter finished.")
@click.option("--split", default=None, help="Only inputs whose --labels row has this split (e.g. val).")
@click.option("--family", default=None, help="Only inputs whose --labels row has this family.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N inputs.")
@click.option("--epsilon", type=click.FloatRange(min=0.0, min_open=True), default=0.8, show_default=True,
              help="ApproxMC tolerance ε.")
@click.option("--delta", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=0.2,
              show_default=True, help="ApproxMC confidence δ.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of ApproxMC / Ganak.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Device of bpcount's batched run (the sequential run is always CPU, batch size 1).")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="bpcount batched run: formulas per batch.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None, help="BPNN checkpoint.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Child processes at once (timings are cleaner with 1).")
@click.option("--plots/--no-plots", default=True, show_default=True, help="Write PNG plots to --out.")
@verbosity_options
def compare_command(inputs, counters, timeout, mem_mb, out, labels, split, family, limit, epsilon, delta, seed,
                    device, batch_size, checkpoint, jobs, plots, verbose, quiet):
    """Count every INPUT with several counters and compare each answer with the exact reference.

    \b
    All counters answer the same question: the unprojected count over every declared variable
    (c ind / c p show are ignored; free variables count). Reference: an exact counter that finished
    (pyganak first), else --labels. Answers outside their counter's own guarantee (exact: float
    tolerance; ApproxMC: ratio outside [1/(1+ε), 1+ε]; bpcount: reference outside its proven
    bounds) are counted and listed; bpcount's estimate itself has no guarantee, so the share with
    |Δ ln| ≤ 0.18 is reported.
    Output: the summary (markdown tables) on stdout; per-formula CSV and plots in --out; progress on
    stderr. Exit codes: 0 compared (timeouts and wrong answers are results, not failures);
    2 usage error (unknown or unavailable counter, --split without --labels); 3 no input found,
    an input missing, or an input unreadable (the others are still compared and written).
    """
    from bpcount.compare import CompareOptions, compare, write_outputs
    from bpcount.compare.counters import CounterSettings, available_counters

    names = [c.strip() for c in counters.split(",") if c.strip()]
    if names == ["all"]:
        names = available_counters()
    settings = CounterSettings(timeout=timeout, mem_mb=mem_mb, epsilon=epsilon, delta=delta, seed=seed,
                               device=device, batch_size=batch_size, checkpoint=checkpoint, jobs=jobs)
    options = CompareOptions(counters=tuple(names), settings=settings, labels=labels, split=split, family=family,
                             limit=limit)

    def log(msg):
        if not quiet:
            click.echo(msg, err=True)

    try:
        from bpcount.compare import select_inputs

        paths, _ = select_inputs(inputs, options)
        if not paths:
            click.echo("bpcount compare: no *.cnf* input found (after filters)", err=True)
            sys.exit(3)
        missing = [p for p in paths if not Path(p).is_file()]
        if missing:
            click.echo(f"bpcount compare: input not found: {', '.join(missing)}", err=True)
            sys.exit(3)
        result = compare(inputs, options=options, progress=not quiet, log=log)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(result.summary(), nl=False)
    if out:
        for p in write_outputs(result, out, plots=plots):
            log(f"bpcount compare: wrote {p}")
    for msg in result.unreadable:
        click.echo(f"bpcount compare: error: {msg}", err=True)
    sys.exit(3 if result.unreadable else 0)
