"""``bpcount [count] INPUT...``: estimate ln(model count) of CNF formulas."""

from __future__ import annotations

import signal
import sys

import click

from bpcount.bounds import DEFAULT_BOUND_BUDGET
from bpcount.cli.common import verbosity_options
from bpcount.elimination import DEFAULT_MAX_WIDTH
from bpcount.probe import DEFAULT_PROBE_BUDGET, DEFAULT_PROBE_MAX_BUDGET, DEFAULT_PROBE_TARGET_RSE
from bpcount.sat import DEFAULT_ENUM_BUDGET, DEFAULT_ENUM_MODELS, DEFAULT_SAT_BUDGET
from bpcount.search import DEFAULT_SEARCH_BUDGET

DEFAULT_METHOD = "bpnn"


@click.command("count", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@click.option("--method", type=click.Choice(["bpnn", "bp", "loopy"]), default=DEFAULT_METHOD, show_default=True,
              help="bpnn: learned BPNN (default model unless --checkpoint); bp: plain damped BP (Bethe ln Z); "
                   "loopy: neighbourhood BP with --radius.")
@click.option("--format", "fmt", type=click.Choice(["text", "mcc", "jsonl", "csv"]), default="text",
              show_default=True, help="Output format on stdout.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--dtype", type=click.Choice(["float64", "float32"]), default=None,
              help="Message precision [default: float64 on CPU, float32 on CUDA].")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Formulas per batched engine call.")
@click.option("--max-iters", type=click.IntRange(min=1), default=500, show_default=True,
              help="Message-passing iterations (bp, loopy).")
@click.option("--damping", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.5, show_default=True,
              help="Weight of the old message in each update.")
@click.option("--tol", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Convergence tolerance on max |Δ log message| [default: 1e-10 float64, 1e-6 float32].")
@click.option("--timeout", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Seconds of message passing per batch; formulas unfinished then are reported as timeout.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random choices (search probes, Monte Carlo local sums).")
@click.option("--exact-max-vars", type=click.IntRange(0, 24), default=20, show_default=True,
              help="Components with at most this many variables are counted exactly (0 disables).")
@click.option("--exact-width", "exact_max_width", type=click.IntRange(0, 26), default=DEFAULT_MAX_WIDTH,
              show_default=True,
              help="Components whose min-degree elimination order is at most this wide are counted exactly "
                   "by variable elimination (0 disables).")
@click.option("--equivalences/--no-equivalences", default=None,
              help="Substitute equivalent literals while simplifying [default: on for bp and loopy; for bpnn, "
                   "as the checkpoint was trained].")
@click.option("--gates/--no-gates", default=True, show_default=True,
              help="bp: merge each Tseitin AND/OR gate and XOR triple into one factor (exact on tree "
                   "circuits); --no-gates runs BP on one factor per clause.")
@click.option("--condition", type=click.IntRange(0, 16), default=0, show_default=True,
              help="Sum the estimate over the 2^N assignments of up to N loop-cutset variables (each "
                   "branch simplified, then counted by the method); used only where every branch "
                   "converges. Costs up to 2^N times as much; 0 disables.")
@click.option("--ignore-projection", is_flag=True,
              help="Count all variables even when the file asks for projected counting (c t pmc, c p show).")
@click.option("--strict", is_flag=True, help="More clauses than the header declares is an error.")
@click.option("--sat-check/--no-sat-check", default=True, show_default=True,
              help="Prove the MCC 's' line with a short SAT-solver call.")
@click.option("--sat-budget", type=click.FloatRange(min=0.0), default=DEFAULT_SAT_BUDGET, show_default=True,
              help="Seconds for that SAT call, as work on a reference machine (solver propagations and "
                   "conflicts), so every machine gives the same answer; a wall-clock limit of 5x still applies.")
@click.option("--enum-models", type=click.IntRange(min=0), default=DEFAULT_ENUM_MODELS, show_default=True,
              help="After the SAT call's witness, enumerate up to N models (blocking each one found); if the "
                   "solver proves there are no more, the count is exact. 0 disables; off with --no-sat-check.")
@click.option("--enum-budget", type=click.FloatRange(min=0.0), default=DEFAULT_ENUM_BUDGET, show_default=True,
              help="Seconds for that enumeration (work on the reference machine, like --sat-budget).")
@click.option("--search-budget", type=click.FloatRange(min=0.0), default=DEFAULT_SEARCH_BUDGET, show_default=True,
              help="Seconds of exact search (branch, simplify, split into components, cache) on what the "
                   "earlier stages leave; exact if it finishes, else the method estimates. Counted as work "
                   "on a reference machine, so every machine decides the same formulas; a wall-clock limit of "
                   "5x the budget still applies. 0 disables.")
@click.option("--probe-budget", type=click.FloatRange(min=0.0), default=DEFAULT_PROBE_BUDGET, show_default=True,
              help="Seconds of search probes (random paths down the exact search's tree, SAT-guided, each an "
                   "unbiased estimate of the count) on what the exact stages leave; when at least 4 probes "
                   "finish, ln of their mean is the answer and the method's engine does not run for that "
                   "formula (jsonl/csv 'estimator' says which answered). Work on the reference machine, like "
                   "--search-budget, with --seed fixing the choices: the same answer everywhere. 0 disables.")
@click.option("--probe-max-budget", type=click.FloatRange(min=0.0), default=DEFAULT_PROBE_MAX_BUDGET,
              show_default=True,
              help="Where at least 4 probes finish within --probe-budget but the relative standard error of "
                   "their mean is above --probe-target-rse, probing goes on until it is within the target or "
                   "until this many seconds of work are spent (then all finished probes answer). Formulas with "
                   "fewer than 4 probes within --probe-budget are left to the engine (see --probe-check). At most "
                   "--probe-budget: no extension.")
@click.option("--probe-target-rse", type=click.FloatRange(min=0.0), default=DEFAULT_PROBE_TARGET_RSE,
              show_default=True,
              help="The relative standard error of the probes' mean (estimated from their spread) that ends "
                   "probing before --probe-max-budget; 0.2 is about +-0.18 nats. inf: no extension.")
@click.option("--probe-check/--no-probe-check", default=True, show_default=True,
              help="Where fewer than 4 probes finish within --probe-budget, probing goes on (as above) as a "
                   "check on the engine: the engine answers unless its estimate is far above the probes' mean "
                   "(by more than 5 nats and 10% of it) or below the lower bound their values give with 95% "
                   "confidence; then the probes' mean answers.")
@click.option("--bound-budget", type=click.FloatRange(min=0.0), default=DEFAULT_BOUND_BUDGET, show_default=True,
              help="Seconds (work on the reference machine, like --search-budget) for a proven upper bound "
                   "on what the method estimates, by weighted mini-bucket elimination. Estimates are kept "
                   "within [lower, upper] (lower: models found by enumeration, or what an unfinished search "
                   "counted) and the bounds are reported "
                   "(ln_lower, ln_upper). 0 disables (upper bound: every assignment a model).")
@click.option("--on-nonconvergence", type=click.Choice(["report", "error"]), default="report", show_default=True,
              help="report: print the last iterate's estimate with converged=false; error: no estimate (exit 1).")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="BPNN checkpoint [default: the shipped pretrained model].")
@click.option("--radius", type=click.IntRange(min=0), default=1, show_default=True,
              help="loopy: neighbourhood radius r (loops up to length r + 2).")
@click.option("--max-region-vars", type=click.IntRange(min=1), default=20, show_default=True,
              help="loopy: region pieces above this many variables are sampled (Monte Carlo) or their "
                   "radius is lowered.")
@click.option("--mc-samples", type=click.IntRange(min=10), default=10_000, show_default=True,
              help="loopy: samples per Monte Carlo local sum.")
@click.option("--estimator", type=click.Choice(["cvm", "ti"]), default="cvm", show_default=True,
              help="loopy: ln Z from the region (CVM) entropy, one solve; or thermodynamic integration "
                   "(48 solves; more accurate on dense formulas).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for torch [default: torch's choice]. Use 1 on a busy machine.")
@click.option("--jobs", type=click.IntRange(min=0), default=1, show_default=True,
              help="Worker processes for the per-formula CPU stages (reading, simplification, SAT check, "
                   "enumeration, exact search), which then run beside the engine. 0: one per CPU. Their "
                   "budgets are work, so answers do not depend on the number of jobs, unless jobs share "
                   "CPUs so much that a wall-clock limit (5x a budget) is reached.")
@click.option("--task", type=click.Choice(["mc", "wmc", "pmc", "pwmc"]), default=None,
              help="MCC wrapper option; pmc/pwmc are refused unless --ignore-projection.")
@click.option("--tmpdir", default=None, hidden=True, help="MCC wrapper option (accepted, unused).")
@click.option("--maxrss", default=None, hidden=True, help="MCC wrapper option (accepted, unused).")
@verbosity_options
def count_command(inputs, fmt, verbose, quiet, task, tmpdir, maxrss, **kw):
    """Estimate ln(number of models) of each INPUT (files, directories searched for *.cnf*, or - for stdin).

    \b
    Output: results on stdout (--format), diagnostics and progress on stderr.
    Exit codes: 0 every input estimated; 1 some input had no estimate (timeout, failure,
    non-convergence with --on-nonconvergence error); 2 usage error; 3 some input unreadable.
    """
    from bpcount.estimate import CountOptions, expand_inputs, iter_count
    from bpcount.report import Report

    if not inputs:
        raise click.UsageError("no INPUT given (use - to read stdin)")
    if task in ("pmc", "pwmc") and not kw["ignore_projection"]:
        raise click.UsageError(f"--task {task}: bpcount estimates unprojected counts; "
                               "pass --ignore-projection to count all variables anyway")
    if kw["device"] == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise click.UsageError("--device cuda: no CUDA device is available (torch.cuda.is_available() is False)")
    options = CountOptions(**kw)
    paths = expand_inputs(inputs)
    if not paths:
        raise click.UsageError("no *.cnf* files found in the given directories")
    opt_line = f" damping={options.damping}" if options.method != "bpnn" else ""
    if options.method == "bp":
        opt_line += f" gates={'on' if options.gates else 'off'}"
    if options.condition:
        opt_line += f" condition={options.condition}"
    opt_line += (f" exact_width={options.exact_max_width} search_budget={options.search_budget:g}"
                 f" probe_budget={options.probe_budget:g}"
                 f" probe_max_budget={options.probe_max_budget:g} probe_target_rse={options.probe_target_rse:g}"
                 f" probe_check={'on' if options.probe_check else 'off'}"
                 f" bound_budget={options.bound_budget:g}")
    report = Report(fmt=fmt, out=sys.stdout, err=sys.stderr, options_line=opt_line, verbose=verbose)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        for result in iter_count(paths, options=options, progress=not quiet and len(paths) > 1):
            report.add(result)
    except KeyboardInterrupt:
        click.echo("bpcount: interrupted", err=True)
        if fmt == "mcc":
            click.echo("s UNKNOWN")
        sys.exit(1)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(1)
    except ValueError as exc:  # option combinations the library rejects (e.g. --device cuda without CUDA)
        raise click.UsageError(str(exc)) from exc
    sys.exit(report.exit_code)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
