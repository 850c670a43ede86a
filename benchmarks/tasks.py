"""The functions every peer runs: module-level, so worker processes import them by reference.

Each is a plain function; the ``*_task`` names are the same functions made ``parallelism`` tasks,
so every peer calls exactly the same code.  NumPy is imported inside the functions that need it:
the workloads without it run where only the test extra is installed.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from parallelism import process, thread

from .optional import module

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "burn",
    "checksum",
    "combine",
    "dag_parents",
    "increment",
    "make_array",
    "noop",
    "pair_sum",
    "square",
]


def noop() -> None:
    """A warm-up call: starts a worker, does nothing."""


def square(i: int) -> int:
    """The tiny task: ``i * i``."""
    return i * i


def increment(x: int) -> int:
    """One hop of a chain."""
    return x + 1


def combine(a: int, b: int, c: int) -> int:
    """A node of the layered DAG: three inputs from the layer before."""
    return (a + b + c) % 1_000_003


def pair_sum(a: int, b: int) -> int:
    """The thread stage of the mixed pipeline: joins two process-task values."""
    return a + b


def burn(iterations: int) -> int:
    """Pure-Python CPU work, about ``iterations`` loop turns (calibrated to ~0.25 s)."""
    total = 0
    for i in range(iterations):
        total = (total + i * i) % 1_000_003
    return total


def make_array(i: int, megabytes: int) -> Any:
    """A NumPy array of ``megabytes`` MB (float64), every element ``i``."""
    numpy = module("numpy")
    return numpy.full(megabytes * 131_072, float(i))


def checksum(array: Any) -> float:
    """Consumes a big array cheaply (every 4096th element), so moving it is what is timed."""
    return float(array[::4096].sum())


def dag_parents(layers: int, width: int) -> list[list[tuple[int, int, int]]]:
    """For layers 1.., the three distinct parents in the layer before of each task (seeded)."""
    chooser = random.Random(20240611)
    return [
        [tuple(chooser.sample(range(width), 3)) for _ in range(width)]  # type: ignore[misc]
        for _ in range(1, layers)
    ]


def dag_reference(layers: int, width: int) -> int:
    """The layered DAG computed serially: the sum of the last layer."""
    values = [square(j) for j in range(width)]
    for parents in dag_parents(layers, width):
        values = [combine(values[a], values[b], values[c]) for a, b, c in parents]
    return sum(values)


def sum_values(values: Sequence[int]) -> int:
    return sum(values)


noop_task = process(noop)
square_task = process(square)
increment_task = process(increment)
combine_task = process(combine)
burn_task = process(burn)
make_array_task = process(make_array)
checksum_task = process(checksum)
square_thread = thread(square)
pair_sum_thread = thread(pair_sum)
noop_thread = thread(noop)
