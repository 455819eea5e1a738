"""Options shared by several subcommands."""

from __future__ import annotations

import functools

import click


def verbosity_options(f):
    """Adds ``-v/--verbose`` (repeatable) and ``-q/--quiet`` (no progress bars, errors only)."""

    @click.option("-v", "--verbose", count=True, help="More diagnostics on stderr (repeatable).")
    @click.option("-q", "--quiet", is_flag=True, help="No progress bar; only errors on stderr.")
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    return wrapper
