"""Worker processes: the loop each one runs, and the caller's handle on one.

A worker is a long-lived, non-daemonic process (so a task may start processes of its own: a nested
``scheduler``) that runs one call at a time from its own duplex pipe.  Messages (``_wire``):

* caller -> worker: ``("run", key, function_key, blob, payload, dep_keys, dep_frame_counts,
  is_async, report_start, kept_deps, keep)`` then the dependencies' frames; ``("batch", [(run,
  frames), ...])``, several small calls in one write, run in order; ``None`` asks it to exit.
* worker -> caller: ``("started", key)`` (only when asked: tasks with a timeout), ``("log",
  fields)`` for each record of the ``parallelism`` loggers, ``("done", reply fields)`` then the frames
  of the value or of the exception (none for a kept value).

Chains: a call with ``keep`` leaves its value in the worker instead of sending it, for the one
dependent the caller chained right behind it, whose ``kept_deps`` name it.  If that value is not
there when the dependent comes up (the call failed), the dependent is skipped without a word:
the caller cancels it when it learns of the failure.

Robustness: a worker ignores SIGINT (Ctrl-C belongs to the caller, which stops its workers), and
a watchdog thread ends it at once if the caller dies (the read end of a pipe that only the caller
holds open reports EOF), so no worker outlives its caller even when the caller is SIGKILLed.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any, NamedTuple

import cloudpickle

from . import _wire
from ._calls import KeptValue, call_pickled
from ._log import record_fields
from ._serialize import PROTOCOL, Frames
from ._task import _lookup, importable_name, resolve_function

__all__ = [
    "ProcessWorker",
    "Queued",
    "crash_message",
    "function_blob",
    "load_function",
    "stop_workers",
    "worker_main",
]

TERMINATE_GRACE = 0.5
"""Seconds a worker gets to exit after SIGTERM before it is killed."""
STOP_GRACE = 2.0
"""Seconds a worker gets to exit after being asked politely (at the end of a run)."""


class _ForwardToCaller(logging.Handler):
    """In a worker process: send log records to the caller, whose handlers then handle them."""

    def __init__(self, send: Callable[[Any], None]) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._send(("log", record_fields(record)))
        except Exception:  # logging must never break the task; report it as logging does
            self.handleError(record)


def function_blob(function: Callable[..., Any]) -> bytes:
    """How a worker gets a task's function: its import path when it has one, else its code.

    Every backend ships functions this way; :func:`load_function` is the other end.
    """
    reference = importable_name(function)
    if reference is not None:
        return pickle.dumps(reference, PROTOCOL)
    return cloudpickle.dumps(function, PROTOCOL)


def load_function(blob: bytes) -> Callable[..., Any]:
    """The plain function a :func:`function_blob` stands for, in a worker."""
    loaded = pickle.loads(blob)
    if type(loaded) is tuple:
        loaded = _lookup(*loaded)
    return resolve_function(loaded)


def _watch_caller(alive: Connection) -> None:
    """Exit the whole worker process as soon as the caller is gone."""
    with contextlib.suppress(EOFError, OSError):
        alive.recv_bytes()
    os._exit(1)


def _forget_inherited_forkserver() -> None:
    """A forked worker inherits the caller's forkserver bookkeeping, but not the server as a child.

    A nested run in the worker would then try to reuse (and wait on) a process that is not its
    child.  Give the worker fresh bookkeeping, so a nested run starts its own server.
    """
    from multiprocessing import forkserver

    fresh = forkserver.ForkServer()
    forkserver._forkserver = fresh
    for name in ("ensure_running", "get_inherited_fds", "connect_to_new_process",
                 "set_forkserver_preload"):  # fmt: skip
        setattr(forkserver, name, getattr(fresh, name))


def _run_as_batch_work() -> None:
    """Tell the OS scheduler this process is batch work (Linux ``SCHED_BATCH``).

    A worker woken by a message from the caller would otherwise preempt the caller's loop on
    its core, in the middle of the loop's round, once per message written; as batch work it
    waits for the loop to block or for a free core.  Where there is no such policy, nothing.
    """
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is not None:
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, policy, os.sched_param(0))


def worker_main(conn: Connection, alive: Connection, log_level: int, forked: bool) -> None:
    """The loop of a worker process: run one call at a time until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _run_as_batch_work()
    # A forked worker inherits the caller's handler, which turns SIGTERM into an exception for
    # the caller's loop; here SIGTERM must end the worker (or a nested run's loop, which installs
    # that handler again for itself).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if forked:
        _forget_inherited_forkserver()
    threading.Thread(target=_watch_caller, args=(alive,), daemon=True).start()
    send_lock = threading.Lock()

    def send(message: Any, frames: Sequence[Any] = ()) -> None:
        with send_lock:
            _wire.send(conn, message, frames)

    logger = logging.getLogger("parallelism")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(_ForwardToCaller(send))
    logger.setLevel(log_level)
    logger.propagate = False
    functions: dict[int, Callable[..., Any]] = {}
    kept: dict[int, KeptValue] = {}
    """Values kept for the dependent chained behind the call that made them."""
    backlog: collections.deque[tuple[Any, Frames]] = collections.deque()
    while True:
        if backlog:
            message, frames = backlog.popleft()
        else:
            try:
                message, frames = _wire.receive(conn)
            except (EOFError, OSError):
                return
            if message is None:
                return
            if message[0] == "batch":  # several calls in one write: run them in order
                backlog.extend(message[1])
                continue
        _, key, function_key, blob, payload, dep_keys, counts, is_async, report_start, kept_deps, keep = (
            message
        )
        if blob is not None:
            functions[function_key] = load_function(blob)
        values: dict[int, Frames] = {}
        position = 0
        for dep, count in zip(dep_keys, counts, strict=True):
            values[dep] = frames[position : position + count]
            position += count
        del frames
        owned: list[int] = []
        if kept_deps:
            inputs = [kept.pop(dep, None) for dep in kept_deps]
            if None in inputs:
                continue  # an input failed: the caller cancels this call
            for dep, kept_value in zip(kept_deps, inputs, strict=True):
                assert kept_value is not None
                values[dep] = kept_value.frames
                if kept_value.sole_owner:
                    owned.append(dep)
            del inputs, kept_value
        if report_start:
            send(("started", key))
        reply = call_pickled(key, functions[function_key], payload, values, is_async, owned=owned, keep=keep)
        del values
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        data = reply.data
        if type(data) is KeptValue:
            kept[key] = data
            data = ()
        # A plain tuple (the Reply's fields, data left out): unpickling a namedtuple looks its
        # class up each time, which the caller would pay for every task.
        send(("done", (*reply[:2], None, *reply[3:])), data)
        del reply, data


class Queued(NamedTuple):
    """A task handed to a busy worker, to run after the ones before it."""

    key: int
    message: Any
    frames: Frames
    sent: bool
    """Written into the pipe already (small ones are; a large one waits for its turn)."""
    after: int | None
    """The task it is chained behind, whose kept value it takes (``None``: not chained)."""


class ProcessWorker:
    """One worker process, and the caller's ends of its pipes."""

    def __init__(self, context: BaseContext, log_level: int, number: int) -> None:
        ours, theirs = context.Pipe(duplex=True)
        alive_theirs, alive_ours = context.Pipe(duplex=False)
        self.process = context.Process(  # type: ignore[attr-defined]
            target=worker_main,
            args=(theirs, alive_theirs, log_level, context.get_start_method() == "fork"),
            name=f"parallelism-worker-{number}",
            daemon=False,
        )
        self.process.start()
        theirs.close()
        alive_theirs.close()
        self.conn: Connection = ours
        self.reader = _wire.Reader(ours.fileno())
        """Reads what the worker sends, several messages at a time (``_wire.Reader``)."""
        self._alive: Connection = alive_ours
        self.sentinel: int = self.process.sentinel
        self.pid: int = self.process.pid
        self.running: int | None = None
        """Key of the task this worker is running, if any."""
        self.queued: collections.deque[Queued] = collections.deque()
        """Tasks handed ahead, to run after the current one, in order."""
        self.started_at: float | None = None
        """``time.monotonic()`` when the running task reported its start (tasks with a timeout)."""
        self.last_elapsed: float | None = None
        """How long its last task ran, once one has: how many tasks may be queued behind it."""
        self.functions: set[int] = set()

    def is_alive(self) -> bool:
        """Whether the process still runs: its sentinel becomes readable when it exits.

        (``Process.is_alive`` builds a selector for the same answer: several times the cost of
        a tiny task, and this is asked before every dispatch to an idle worker.)
        """
        return not select.select([self.sentinel], [], [], 0)[0]

    def send_stop(self) -> None:
        """Ask the worker to exit once its current call (if any) has returned."""
        with contextlib.suppress(OSError):  # it is gone already
            _wire.send(self.conn, None)

    def terminate(self) -> None:
        """SIGTERM: a nested run inside the worker cleans up its own workers, then it exits."""
        if self.process.is_alive():
            self.process.terminate()

    def kill(self) -> None:
        """SIGKILL, at once."""
        if self.process.is_alive():
            self.process.kill()

    def join(self, deadline: float) -> bool:
        """Wait until ``time.monotonic()`` reaches ``deadline``; whether the process has exited."""
        self.process.join(max(0.0, deadline - time.monotonic()))
        return not self.process.is_alive()

    def release(self) -> None:
        """Reap the exited process and close every descriptor we hold for it."""
        self.process.join()
        self.conn.close()
        self._alive.close()
        self.process.close()


def stop_workers(workers: list[ProcessWorker], *, force: bool) -> None:
    """Stop every worker and leave none behind: politely, or by SIGTERM when ``force``.

    Either way a worker that is still there after its grace period is killed, and every worker
    is reaped and its descriptors closed.
    """
    if force:
        for worker in workers:
            worker.terminate()
        deadline = time.monotonic() + TERMINATE_GRACE
    else:
        for worker in workers:
            worker.send_stop()
        deadline = time.monotonic() + STOP_GRACE
    for worker in workers:
        if not worker.join(deadline):
            worker.terminate() if not force else worker.kill()
    kill_deadline = time.monotonic() + TERMINATE_GRACE
    for worker in workers:
        if not worker.join(kill_deadline):
            worker.kill()
        worker.release()


def crash_message(exitcode: int | None) -> str:
    """``the worker process was killed by SIGKILL (exit code -9)``, or the exit code it chose."""
    if exitcode is None:
        return "the worker process died"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the worker process was killed by {name} (exit code {exitcode})"
    return f"the worker process exited with code {exitcode}"
