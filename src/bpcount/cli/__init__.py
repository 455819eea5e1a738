"""Command-line interface.

``bpcount [OPTIONS] INPUT...`` counts formulas (the ``count`` subcommand is the default). Other
subcommands live in their own modules and are imported only when invoked, so ``bpcount --help`` and
parse errors never pay for torch.

Exit codes (decided in :mod:`bpcount.report`, the same for every subcommand):

====  =======================================================================================
0     every input produced an estimate
1     at least one input produced no estimate (timeout, internal failure, non-convergence
      under ``--on-nonconvergence error``)
2     usage error (bad option or argument; printed by click)
3     at least one input could not be read or parsed (file:line and the reason on stderr)
====  =======================================================================================
"""

from __future__ import annotations

import importlib

import click

from bpcount import __version__

#: subcommand name -> "module:attribute" of its click command, imported on first use.
SUBCOMMANDS: dict[str, str] = {
    "count": "bpcount.cli.count:count_command",
    "train": "bpcount.cli.train:train_command",
    "label": "bpcount.cli.label:label_command",
    "generate": "bpcount.cli.generate:generate_command",
    "compare": "bpcount.cli.compare:compare_command",
    "ising": "bpcount.cli.ising:ising_command",
}
DEFAULT_SUBCOMMAND = "count"


class LazyDefaultGroup(click.Group):
    """A click group that imports subcommands lazily and falls back to ``count``.

    ``bpcount f.cnf`` is ``bpcount count f.cnf``; a file literally named like a subcommand can be
    counted with ``bpcount count train``.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in SUBCOMMANDS if self._available(name)]

    @staticmethod
    def _available(name: str) -> bool:
        module = SUBCOMMANDS[name].split(":")[0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(name)
        if target is None or not self._available(name):
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] in SUBCOMMANDS and self._available(args[0]):
            return super().resolve_command(ctx, args)
        return super().resolve_command(ctx, [DEFAULT_SUBCOMMAND, *args])

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # `bpcount` with no arguments reads stdin (MCC convention) unless stdin is a terminal.
        if not args:
            import sys

            if sys.stdin is not None and not sys.stdin.isatty():
                args = [DEFAULT_SUBCOMMAND, "-"]
        elif args[0] not in SUBCOMMANDS and args[0] not in ("--help", "-h", "--version"):
            args = [DEFAULT_SUBCOMMAND, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx, formatter):
        formatter.write_usage("bpcount", "[OPTIONS] INPUT...   |   bpcount COMMAND [ARGS]...")


@click.group(cls=LazyDefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bpcount")
def cli() -> None:
    """Approximate model counter for CNF formulas (belief propagation and learned BPNN).

    \b
    bpcount formula.cnf                 count one formula (same as `bpcount count formula.cnf`)
    bpcount dir/ --format jsonl         count every *.cnf* under dir/, one JSON object per line
    cat f.cnf | bpcount -               read DIMACS from stdin

    Exit codes: 0 all estimated, 1 some input had no estimate, 2 usage error, 3 unreadable input.
    See `bpcount count --help` for the counting options.
    """


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="bpcount")
