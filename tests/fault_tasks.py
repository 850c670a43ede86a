"""Tasks for the fault-tolerance tests (module level, so worker processes import them)."""

from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from parallelism import process, scheduler, thread


@process
def exit_with(code: int) -> int:
    os._exit(code)


@process
def kill_self(signum: int) -> int:
    os.kill(os.getpid(), signum)
    raise AssertionError("unreachable: the signal kills the process")


@process
def segfault() -> int:
    faulthandler.disable()  # a forked worker inherits pytest's handler: keep the output quiet
    ctypes.string_at(0)  # reads address 0: SIGSEGV
    raise AssertionError("unreachable")


@process
def value(x: int) -> int:
    return x


@process
def my_pid() -> int:
    return os.getpid()


@process
def pid_after(previous: int) -> int:
    return os.getpid()


@thread
def kill_and_wait(pid: int) -> int:
    """SIGKILL an (idle) worker and return once it is gone, without sleeping: a pidfd says so."""
    descriptor = os.pidfd_open(pid)
    try:
        os.kill(pid, signal.SIGKILL)
        import select

        ready, _, _ = select.select([descriptor], [], [], 30)
        assert ready, "the killed worker did not exit"
    finally:
        os.close(descriptor)
    return pid


@process
def block_forever() -> int:
    threading.Event().wait()
    return 0


@process
def busy_for(seconds: float) -> float:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return seconds


@process
def flaky(counter: str, failures: int, how: str) -> int:
    """Fail (raise, crash or hang) the first ``failures`` attempts, counted in a file."""
    path = Path(counter)
    with path.open("a") as file:
        file.write("x")
    attempt = len(path.read_text())
    if attempt <= failures:
        if how == "raise":
            raise RuntimeError(f"attempt {attempt}")
        if how == "crash":
            os._exit(3)
        threading.Event().wait()  # hang: the timeout stops it
    return attempt


@process(processes=2)
def nested_sum(n: int) -> int:
    """Open a run inside a task that reserved two process slots for it."""
    with scheduler(processes=2, threads=1):
        squares = [value(i * i) for i in range(n)]
    return sum(s.result() for s in squares)


@process
def report_pid_and_block(fifo: str, after: int = 0) -> int:
    """Tell the test our PID through a FIFO, then block until killed."""
    with open(fifo, "w") as pipe:
        pipe.write(f"{os.getpid()}\n")
    threading.Event().wait()
    return 0


@process(processes=2)
def nested_blocking(fifo: str, after: int = 0) -> int:
    with open(fifo, "w") as pipe:
        pipe.write(f"{os.getpid()}\n")
    with scheduler(processes=2, threads=1):
        report_pid_and_block(fifo)
        report_pid_and_block(fifo)
    return 0


@process
def grow(previous: bytes | None, i: int, size: int) -> bytes:
    """A fresh ``size``-byte value (every page written), having looked at the previous one."""
    assert previous is None or previous[0] == (i - 1) % 256
    return bytes([i % 256]) * size


def _chaos(i: int, inputs: list[int], fate: str) -> int:
    if fate == "raise":
        raise ValueError(f"node {i}")
    if fate == "crash":
        os._exit(9)
    if fate == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    return i + sum(inputs)


chaos_process = process(_chaos)
chaos_thread = thread(_chaos)


@process
def big_array(size: int) -> Any:
    """A large NumPy array: protocol 5 pickles its memory out of band, so it is never copied."""
    import numpy

    return numpy.full(size, 7, dtype=numpy.uint8)


@process
def first_byte(data: bytes) -> int:
    """Consumes a large value cheaply."""
    return data[0]


@process
def scheduling_policy() -> int:
    """The OS scheduling policy of the worker process running this."""
    return os.sched_getscheduler(0)


@process
def wait_for_bytes(fifo: str, count: int) -> int:
    """Blocks until ``count`` bytes have come through the FIFO; returns this worker's PID."""
    fd = os.open(fifo, os.O_RDWR)  # never blocks, and never reads EOF while waiting
    try:
        got = 0
        while got < count:
            got += len(os.read(fd, count - got))
    finally:
        os.close(fd)
    return os.getpid()


@process
def write_byte(fifo: str) -> int:
    """Writes one byte to the FIFO (waiting for its reader to open it); returns this worker's PID."""
    fd = os.open(fifo, os.O_WRONLY)
    try:
        os.write(fd, b"\0")
    finally:
        os.close(fd)
    return os.getpid()
