"""Process tasks for the chain tests (importable by workers under every start method)."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from parallelism import process, thread

SHARED: list[int] = [0, 0, 0]
"""A module-level object a task returns by reference (each worker has its own copy)."""


@process
def step(previous: int, fate: str = "ok") -> int:
    """One link: the previous value plus one, or a failure of the kind asked for."""
    if fate == "raise":
        raise ValueError(f"link after {previous}")
    if fate == "crash":
        os._exit(7)
    if fate == "unpicklable":
        return threading.Lock()  # type: ignore[return-value]
    return previous + 1


@process
def where(previous: Any) -> tuple[int, Any]:
    """The worker's PID, with the value it was given."""
    return os.getpid(), previous


@process
def shared_list() -> list[int]:
    """Returns a module-level list that stays referenced in the worker after the call."""
    return SHARED


@process
def mutate_and_report(values: list[int]) -> list[int]:
    """Writes into its input, then reports what the module-level list holds in this worker."""
    values[0] = 99
    return list(SHARED)


@process
def fresh_array(size: int, fill: int) -> Any:
    """A NumPy array that nothing else refers to: its consumer may take its memory over."""
    import numpy

    return numpy.full(size, fill, dtype=numpy.int64)


@process
def double_in_place(array: Any) -> Any:
    """Writes into its input (it must be writable) and returns it."""
    array *= 2
    return array


@process
def total(array: Any) -> int:
    return int(array.sum())


@process
def hang(previous: int) -> int:
    """Never returns (its timeout stops it)."""
    threading.Event().wait()
    return previous


@process
def chatty_step(previous: int, signal_fifo: str | None = None) -> int:
    """Logs a record (forwarded to the caller) as it runs; then writes a byte to the FIFO, if any."""
    logging.getLogger("parallelism.user").info("link after %d", previous)
    if signal_fifo is not None:
        fd = os.open(signal_fifo, os.O_RDWR)  # never blocks; the test holds the FIFO open too
        os.write(fd, b"x")
        os.close(fd)
    return previous + 1


@process
def step_after_byte(previous: int, fifo: str) -> int:
    """Waits for a byte on the FIFO (the test writes it), then returns the previous value plus one."""
    fd = os.open(fifo, os.O_RDWR)
    try:
        os.read(fd, 1)
    finally:
        os.close(fd)
    return previous + 1


@process
def pair(first: int, second: Any) -> int:
    """Takes a value and anything else (the test makes the second unpicklable)."""
    return first


@thread
def lock_in_thread() -> Any:
    """A value that lives in the caller's threads and cannot be pickled."""
    return threading.Lock()


@thread
def holds(value: Any) -> bool:
    """Takes any value, by reference."""
    return value is not None
