"""``python -m bpcount`` is the ``bpcount`` command."""

from bpcount.cli import main

main()
