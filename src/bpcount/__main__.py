"""``python -m bpcount`` is the ``bpcount`` command."""

from bpcount.cli import main

if __name__ == "__main__":  # spawned worker processes (--jobs) import this module without running it
    main()
