"""``bpcount generate FAMILY --out DIR -n COUNT``: synthetic CNF formulas (deterministic per seed)."""

from __future__ import annotations

import sys

import click

from bpcount.cli.common import verbosity_options


def _families_help() -> str:
    from bpcount.generate import DEFAULTS

    return "\n".join(
        f"  {fam:9s} " + " ".join(f"{k}={v}" for k, v in params.items()) for fam, params in DEFAULTS.items()
    )


FAMILY_NAMES = ("kcnf", "dqmr", "grid", "coloring", "domset", "tseitin", "kxor")


@click.command("generate", context_settings={"help_option_names": ["-h", "--help"]},
               epilog="Run `bpcount generate --list` for every family's parameters and defaults.")
@click.argument("family", type=click.Choice(FAMILY_NAMES), required=False)
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (created).")
@click.option("-n", "--count", type=click.IntRange(min=1), default=10, show_default=True,
              help="Number of formulas.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Formula i depends only on (seed, i).")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Family parameter, repeatable (e.g. -p n=50 -p ratio=3.5).")
@click.option("--label", "do_label", is_flag=True,
              help="Also count the formulas exactly (pyganak) into OUT/labels.csv.")
@click.option("--timeout", type=click.FloatRange(min=0.0, min_open=True), default=60.0, show_default=True,
              help="With --label: seconds per formula.")
@click.option("--list", "list_families", is_flag=True, help="List families and parameters, then exit.")
@verbosity_options
def generate_command(family, out, count, seed, params, do_label, timeout, list_families, verbose, quiet):
    """Write COUNT formulas of FAMILY to OUT as DIMACS (free variables kept in the header).

    \b
    Families: kcnf (random k-CNF), dqmr (noisy-or disease/symptom networks with evidence),
    grid (grid Bayesian networks with zero CPT entries and evidence), coloring, domset,
    tseitin, kxor (cnfgen). Files: OUT/<family>_s<seed>_<index>.cnf.
    Output: written paths on stdout. Exit codes: 0 ok; 1 some --label failure; 2 usage error.
    """
    if list_families:
        click.echo(_families_help())
        return
    if family is None or out is None:
        raise click.UsageError("FAMILY and --out are required (or use --list)")
    from bpcount.generate import coerce_params, family_of_path, generate

    kv = {}
    for item in params:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--param")
        key, value = item.split("=", 1)
        kv[key.strip()] = value.strip()
    try:
        resolved = coerce_params(family, kv)
        written = generate(family, out=out, count=count, seed=seed, **resolved)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    for g in written:
        click.echo(str(g.path))
    if verbose:
        click.echo(f"bpcount generate: {len(written)} {family} formulas, "
                   + " ".join(f"{k}={v}" for k, v in resolved.items()), err=True)
    if do_label:
        from pathlib import Path

        from bpcount.labels import iter_label

        bad = 0
        for lab in iter_label([str(g.path) for g in written], out=Path(out) / "labels.csv", timeout=timeout,
                              family_of=family_of_path, progress=not quiet):
            if lab.status != "ok":
                bad += 1
                click.echo(f"bpcount generate: label {lab.file}: {lab.status}: {lab.error}", err=True)
        sys.exit(1 if bad else 0)
