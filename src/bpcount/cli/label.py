"""``bpcount label DIR... --out labels.csv``: exact ln counts with pyganak (resumable)."""

from __future__ import annotations

import sys

import click

from bpcount.cli.common import verbosity_options


@click.command("label", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Labels CSV; rows are appended as formulas finish, files already in it are skipped.")
@click.option("--timeout", type=click.FloatRange(min=0.0, min_open=True), default=60.0, show_default=True,
              help="Wall-clock seconds per formula; the child is killed and a 'timeout' row written.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Formulas counted at once (one child process each).")
@click.option("--mem-mb", type=click.IntRange(min=64), default=4096, show_default=True,
              help="Address-space limit of each child (RLIMIT_AS), MiB.")
@verbosity_options
def label_command(inputs, out, timeout, jobs, mem_mb, verbose, quiet):
    """Count each INPUT (files, or directories searched for *.cnf*) exactly with pyganak.

    \b
    Counts are unprojected (c ind / c p show ignored) over all declared variables, written as
    ln_count (-inf for UNSAT). Columns: file, family, n_vars, n_clauses, ln_count, status
    (ok|timeout|error), seconds, label_source, error.
    Output: one summary line on stdout; progress and per-file problems on stderr.
    Exit codes: 0 every new formula labelled; 1 some timeout or error (rows still written);
    2 usage error (or pyganak not installed).
    """
    from importlib.util import find_spec

    from bpcount.labels import iter_label

    if find_spec("pyganak") is None:
        raise click.UsageError("pyganak is not installed (pip install 'bpcount[exact]')")
    counts = {"ok": 0, "timeout": 0, "error": 0}
    for lab in iter_label(inputs, out=out, timeout=timeout, jobs=jobs, mem_mb=mem_mb, progress=not quiet):
        counts[lab.status] = counts.get(lab.status, 0) + 1
        if lab.status != "ok":
            click.echo(f"bpcount label: {lab.file}: {lab.status}: {lab.error}", err=True)
        elif verbose:
            click.echo(f"bpcount label: {lab.file}: ln_count {lab.ln_count} ({lab.seconds:.3f} s)", err=True)
    click.echo(f"labelled {counts['ok']} ok, {counts['timeout']} timeout, {counts['error']} error -> {out}")
    sys.exit(0 if counts["timeout"] == 0 and counts["error"] == 0 else 1)
