"""bpcount: approximate model counting for CNF formulas with belief propagation.

The library entry point is :func:`bpcount.estimate.count`; the command line is :mod:`bpcount.cli`.
Heavy modules (torch) are imported lazily so that ``import bpcount`` and ``bpcount --help`` stay fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
