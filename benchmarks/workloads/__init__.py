"""One module per workload (or family of workloads); every module here is imported by the run.

To add one, create a module that builds a :class:`benchmarks.registry.Workload`, passes it to
:func:`benchmarks.registry.register`, and decorates one function per peer with
``@workload.implementation("peer", ...)``.  ``order`` places its table among the others.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["load_all"]


def load_all() -> None:
    """Import every module of this package (each registers its workloads)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
