"""The optional peers and NumPy, imported by name when a measurement needs them.

Going through :func:`importlib.import_module` keeps them out of the imports of every module here,
so the benchmarks import (and type-check under ``mypy --strict``) where only the test extra is
installed; what they return is typed ``Any``, as those libraries are mostly untyped.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["compute", "delayed", "distributed", "module"]


def module(name: str) -> Any:
    """``import name``, typed ``Any``."""
    return importlib.import_module(name)


def delayed(function: Callable[..., Any], **options: Any) -> Callable[..., Any]:
    """``dask.delayed(function, **options)``."""
    wrapped: Callable[..., Any] = module("dask").delayed(function, **options)
    return wrapped


def compute(*values: Any, **options: Any) -> tuple[Any, ...]:
    """``dask.compute(*values, **options)``."""
    return tuple(module("dask").compute(*values, **options))


def distributed() -> Any:
    """The ``distributed`` module (``LocalCluster``, ``Client``)."""
    return module("distributed")
