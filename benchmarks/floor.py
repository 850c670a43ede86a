"""The machine's floor, measured once per run: what any process scheduler has to pay at least.

* ``pipe_rtt_us``: one round trip of a few bytes between two processes over a
  ``multiprocessing`` pipe (what one task in flight per worker costs at the very least);
* ``pipe_rtt_pickled_us``: the same with a task-like tuple pickled each way (``Connection.send``);
* ``pickle_task_us``: pickling and unpickling that tuple and a reply once, without a pipe;
* ``thread_rtt_us``: one round trip between two threads over ``queue.SimpleQueue`` (the floor
  for thread tasks);
* with NumPy, for an array of the big-data size: ``pickle_array_s`` (dumps + loads, protocol 5),
  ``pipe_array_s`` (its bytes sent one way to another process) and ``copy_array_s`` (one copy).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import queue
import statistics
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from .optional import module

__all__ = ["measure_floor"]

_TASK: tuple[Any, ...] = (1234, 0, None, pickle.dumps(((1234,), {}), 5), {}, False)
_REPLY: tuple[Any, ...] = (
    "done",
    (1234, True, pickle.dumps(1522756, 5), None, 1.7e9, 1.2e-6, 1.7e9, 140000000000000),
)


def _context() -> Any:
    """fork where there is one (this process has no threads yet: it is cheap and safe here)."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _echo(conn: Connection, pickled: bool) -> None:
    """The other end of the round trips: send back whatever arrives, until ``b""``/``None``."""
    if pickled:
        while True:
            message = conn.recv()
            if message is None:
                return
            conn.send(_REPLY)
    else:
        while True:
            data = conn.recv_bytes()
            if not data:
                return
            conn.send_bytes(data)


def _sink(conn: Connection) -> None:
    """Receive byte messages and answer each with one byte, until ``b""``."""
    while True:
        data = conn.recv_bytes()
        conn.send_bytes(b"k")
        if not data:
            return


def _per_call_us(step: Callable[[], Any], calls: int, batches: int = 7) -> float:
    """Median over batches of the mean time of one ``step()``, in microseconds."""
    for _ in range(calls // 10):
        step()
    samples = []
    for _ in range(batches):
        begin = time.perf_counter()
        for _ in range(calls):
            step()
        samples.append((time.perf_counter() - begin) / calls * 1e6)
    return statistics.median(samples)


def _pipe_rtt(pickled: bool, calls: int) -> float:
    context = _context()
    ours, theirs = context.Pipe(duplex=True)
    worker = context.Process(target=_echo, args=(theirs, pickled), daemon=True)
    worker.start()
    theirs.close()
    try:
        if pickled:

            def step() -> None:
                ours.send(_TASK)
                ours.recv()

        else:

            def step() -> None:
                ours.send_bytes(b"12345678")
                ours.recv_bytes()

        return _per_call_us(step, calls)
    finally:
        ours.send(None) if pickled else ours.send_bytes(b"")
        worker.join()
        ours.close()


def _thread_rtt(calls: int) -> float:
    there: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    back: queue.SimpleQueue[int] = queue.SimpleQueue()

    def echo() -> None:
        while (item := there.get()) is not None:
            back.put(item)

    helper = threading.Thread(target=echo, daemon=True)
    helper.start()

    def step() -> None:
        there.put(1)
        back.get()

    try:
        return _per_call_us(step, calls)
    finally:
        there.put(None)
        helper.join()


def _pickle_task() -> None:
    pickle.loads(pickle.dumps(_TASK, 5))
    pickle.loads(pickle.dumps(_REPLY, 5))


def _array_floor(megabytes: int) -> dict[str, float]:
    numpy = module("numpy")
    array = numpy.full(megabytes * 131_072, 1.0)
    figures: dict[str, list[float]] = {"pickle_array_s": [], "pipe_array_s": [], "copy_array_s": []}
    context = _context()
    ours, theirs = context.Pipe(duplex=True)
    worker = context.Process(target=_sink, args=(theirs,), daemon=True)
    worker.start()
    theirs.close()
    try:
        for _ in range(3):
            begin = time.perf_counter()
            data = pickle.dumps(array, 5)
            pickle.loads(data)
            figures["pickle_array_s"].append(time.perf_counter() - begin)
            begin = time.perf_counter()
            ours.send_bytes(data)
            ours.recv_bytes()
            figures["pipe_array_s"].append(time.perf_counter() - begin)
            del data
            begin = time.perf_counter()
            array.copy()
            figures["copy_array_s"].append(time.perf_counter() - begin)
    finally:
        ours.send_bytes(b"")
        ours.recv_bytes()
        worker.join()
        ours.close()
    result = {key: statistics.median(values) for key, values in figures.items()}
    result["array_megabytes"] = float(megabytes)
    return result


def measure_floor(*, quick: bool, megabytes: int | None) -> dict[str, float]:
    """Every floor figure (see the module docstring); smaller samples with ``quick``."""
    calls = 300 if quick else 2000
    floor = {
        "pipe_rtt_us": _pipe_rtt(False, calls),
        "pipe_rtt_pickled_us": _pipe_rtt(True, calls),
        "pickle_task_us": _per_call_us(_pickle_task, calls * 5),
        "thread_rtt_us": _thread_rtt(calls),
    }
    if megabytes:
        with contextlib.suppress(ImportError):
            floor.update(_array_floor(megabytes))
    return floor
