"""Workers behind a small Backend protocol: where task calls run, and how their replies come back.

The loop (``_scheduler.py``) talks to a backend through three calls: :meth:`Backend.start` one
admitted task, :meth:`Backend.wait` for at least one completion, and :meth:`Backend.close`.

* :class:`LocalBackend`: long-lived, non-daemonic worker processes, one task at a time each, each
  with its own duplex pipe and sentinel, so a crash is pinned to exactly the task that worker was
  running and a replacement can start; plus a few worker threads that post completions to a deque
  and wake the loop through a pipe.  ``wait`` blocks in ``multiprocessing.connection.wait`` on the
  worker pipes, their sentinels and that wake-up pipe: no polling, no sleeping, no Manager.
* :class:`InlineBackend`: every call runs in the caller's thread when the loop asks for a
  completion, in a valid order, so pdb and profilers work; process calls still go through pickling
  (:func:`~parallelism._calls.call_pickled`) so their semantics are exactly a worker's.

Workers are started lazily, when a task needs one and none is idle, and only ever as many as the
slots allow.  Worker processes ignore SIGINT: Ctrl-C is the caller's to handle, and the caller
stops them.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.context import BaseContext
from typing import Any, NamedTuple, Protocol

import cloudpickle

from ._calls import Reply, call_live, call_pickled, pack_exception
from ._errors import WorkerCrashedError
from ._graph import Graph, TaskKind, TaskSpec
from ._log import LOGGER
from ._serialize import PROTOCOL, Value, apply_steps
from ._task import importable_name, resolve_function
from ._values import substitute

__all__ = ["Backend", "Completion", "InlineBackend", "LocalBackend"]

_STOP_GRACE = 2.0
"""Seconds a worker process gets to exit after being asked, before it is terminated."""
_TERMINATE_GRACE = 0.5
"""Seconds after SIGTERM before SIGKILL."""


class Completion(NamedTuple):
    """A finished call as the loop sees it: a live exception, the value as a :class:`Value`."""

    key: int
    ok: bool
    value: Value | None
    error: BaseException | None
    traceback: str | None
    started: float | None
    elapsed: float | None
    finished: float
    pid: int
    tid: int


class Backend(Protocol):
    """Where admitted tasks run."""

    def start(self, spec: TaskSpec, values: dict[int, Value]) -> None:
        """Start one admitted task; ``values`` holds the values of its dependencies by key."""

    def wait(self) -> list[Completion]:
        """Block until at least one started task has completed; return what completed."""

    def close(self, *, force: bool) -> None:
        """Stop every worker; ``force`` terminates running work instead of waiting for it."""


def _thread_completion(reply: Reply) -> Completion:
    if reply.ok:
        return Completion(
            reply.key,
            True,
            Value(obj=reply.data),
            None,
            None,
            reply.started,
            reply.elapsed,
            reply.finished,
            os.getpid(),
            reply.tid,
        )
    return Completion(
        reply.key,
        False,
        None,
        reply.data,
        reply.traceback,
        reply.started,
        reply.elapsed,
        reply.finished,
        os.getpid(),
        reply.tid,
    )


def _process_completion(reply: Reply, pid: int) -> Completion:
    if reply.ok:
        return Completion(
            reply.key,
            True,
            Value(data=reply.data),
            None,
            None,
            reply.started,
            reply.elapsed,
            reply.finished,
            pid,
            reply.tid,
        )
    error: BaseException = pickle.loads(reply.data)
    return Completion(
        reply.key,
        False,
        None,
        error,
        reply.traceback,
        reply.started,
        reply.elapsed,
        reply.finished,
        pid,
        reply.tid,
    )


def _failed_before_start(key: int, error: BaseException) -> Completion:
    """A task that could not even be handed to its worker (e.g. an unpicklable input value)."""
    import time

    _, text = pack_exception(error)
    now = time.time()
    return Completion(key, False, None, error, text, now, 0.0, now, os.getpid(), threading.get_ident())


def _thread_resolver(
    graph: Graph, spec: TaskSpec, values: dict[int, Value]
) -> Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]:
    assert spec.args is not None and spec.kwargs is not None
    args, kwargs = spec.args, spec.kwargs
    if not spec.deps:
        return lambda: (args, kwargs)
    name = spec.name

    def resolve() -> tuple[tuple[Any, ...], dict[str, Any]]:
        def value_of(deferred: Any) -> Any:
            source, steps = deferred._steps()
            return apply_steps(values[graph.key_of(source, name)].live(), steps)

        return substitute(args, value_of), substitute(kwargs, value_of)

    return resolve


# --- threads ----------------------------------------------------------------------------------


class _ThreadPool:
    """Worker threads fed from one queue; completions go to a deque and a byte to ``wake``."""

    def __init__(self, size: int, wake: int) -> None:
        self._size = size
        self._wake = wake
        self._queue: queue.SimpleQueue[tuple[int, Callable[[], Reply]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self.done: collections.deque[Completion] = collections.deque()

    def submit(self, key: int, call: Callable[[], Reply]) -> None:
        with self._lock:
            start_one = self._idle == 0 and len(self._threads) < self._size
            if not start_one:
                self._idle -= 1
        if start_one:
            worker = threading.Thread(
                target=self._work, name=f"parallelism-thread-{len(self._threads) + 1}", daemon=True
            )
            self._threads.append(worker)
            worker.start()
        self._queue.put((key, call))

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            _, call = item
            completion = _thread_completion(call())
            del item, call
            with self._lock:
                self._idle += 1
            self.done.append(completion)
            os.write(self._wake, b"\0")

    def close(self, *, wait: bool) -> None:
        """Stop the threads; with ``wait=False`` running calls are abandoned (daemon threads)."""
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for worker in self._threads:
                worker.join()
        self._threads.clear()


# --- processes --------------------------------------------------------------------------------


class _ForwardToParent(logging.Handler):
    """In a worker process: send ``parallelism`` log records to the caller, which handles them."""

    def __init__(self, send: Callable[[Any], None]) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = dict(record.__dict__)
            fields["msg"] = record.getMessage()
            fields["args"] = None
            if record.exc_info:
                fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
            fields["exc_info"] = None
            self._send(("log", fields))
        except Exception:  # logging must never break the task; report as logging does
            self.handleError(record)


def _load_function(blob: bytes) -> Callable[..., Any]:
    loaded = pickle.loads(blob)
    if type(loaded) is tuple:
        module, qualname = loaded
        from ._task import _lookup

        loaded = _lookup(module, qualname)
    return resolve_function(loaded)


def worker_main(conn: multiprocessing.connection.Connection, log_level: int) -> None:
    """The loop of a worker process: run one call at a time until told to stop (``None``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    send_lock = threading.Lock()

    def send(message: Any) -> None:
        with send_lock:
            conn.send(message)

    logger = logging.getLogger("parallelism")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.addHandler(_ForwardToParent(send))
    logger.setLevel(log_level)
    logger.propagate = False
    functions: dict[int, Callable[..., Any]] = {}
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        key, function_key, blob, payload, values, is_async = message
        if blob is not None:
            functions[function_key] = _load_function(blob)
        reply = call_pickled(key, functions[function_key], payload, values, is_async)
        del message, values
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        send(("done", tuple(reply)))


class _ProcessWorker:
    """One worker process and the caller's end of its pipe."""

    def __init__(self, context: BaseContext, log_level: int, number: int) -> None:
        ours, theirs = context.Pipe(duplex=True)
        self.process = context.Process(  # type: ignore[attr-defined]
            target=worker_main,
            args=(theirs, log_level),
            name=f"parallelism-worker-{number}",
            daemon=False,
        )
        self.process.start()
        theirs.close()
        self.conn: multiprocessing.connection.Connection = ours
        self.sentinel: int = self.process.sentinel
        self.pid: int = self.process.pid
        self.running: int | None = None
        self.functions: set[int] = set()

    def stop(self, *, force: bool) -> None:
        """Ask the worker to exit (or terminate it), then make sure it is gone and reaped."""
        process = self.process
        if not force and process.is_alive():
            with contextlib.suppress(OSError):
                self.conn.send(None)
            process.join(_STOP_GRACE)
        if process.is_alive():
            process.terminate()
            process.join(_TERMINATE_GRACE)
        if process.is_alive():
            process.kill()
            process.join()
        self.conn.close()
        process.close()


def _crash_message(exitcode: int | None) -> str:
    if exitcode is None:
        return "the worker process died"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the worker process was killed by {name} (exit code {exitcode})"
    return f"the worker process exited with code {exitcode}"


class LocalBackend:
    """Worker processes and threads on this machine (the default backend)."""

    def __init__(self, graph: Graph, processes: int, threads: int, start_method: str | None) -> None:
        self._graph = graph
        self._context = multiprocessing.get_context(start_method)
        self._max_processes = processes
        self._log_level = LOGGER.getEffectiveLevel()
        self._workers: list[_ProcessWorker] = []
        self._idle: list[_ProcessWorker] = []
        self._by_conn: dict[Any, _ProcessWorker] = {}
        self._by_sentinel: dict[int, _ProcessWorker] = {}
        self._blobs: dict[int, bytes] = {}
        self._started = 0
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._threads = _ThreadPool(max(1, threads), self._wake_write)
        self._done: list[Completion] = []

    # -- start ---------------------------------------------------------------------------------

    def start(self, spec: TaskSpec, values: dict[int, Value]) -> None:
        function = self._graph.functions[spec.function_key]
        if spec.kind is TaskKind.THREAD:
            resolve = _thread_resolver(self._graph, spec, values)
            key, is_async = spec.key, spec.is_async
            self._threads.submit(key, lambda: call_live(key, function, resolve, is_async))
            return
        try:
            pickled = {dep: value.pickled() for dep, value in values.items()}
        except Exception as error:
            self._done.append(_failed_before_start(spec.key, _unpicklable_input(spec, error)))
            return
        worker = self._idle.pop() if self._idle else self._new_worker()
        blob = None
        if spec.function_key not in worker.functions:
            blob = self._function_blob(spec.function_key, function)
            worker.functions.add(spec.function_key)
        worker.running = spec.key
        # If the worker died, sending fails; its sentinel then reports the crash of this task.
        with contextlib.suppress(OSError):
            worker.conn.send((spec.key, spec.function_key, blob, spec.payload, pickled, spec.is_async))

    def _new_worker(self) -> _ProcessWorker:
        self._started += 1
        worker = _ProcessWorker(self._context, self._log_level, self._started)
        self._workers.append(worker)
        self._by_conn[worker.conn] = worker
        self._by_sentinel[worker.sentinel] = worker
        return worker

    def _function_blob(self, function_key: int, function: Callable[..., Any]) -> bytes:
        blob = self._blobs.get(function_key)
        if blob is None:
            reference = importable_name(function)
            if reference is not None:
                blob = pickle.dumps(reference, PROTOCOL)
            else:
                blob = cloudpickle.dumps(function, PROTOCOL)
            self._blobs[function_key] = blob
        return blob

    # -- wait ----------------------------------------------------------------------------------

    def wait(self) -> list[Completion]:
        while not self._done and not self._threads.done:
            waitables: list[Any] = [self._wake_read]
            for worker in self._workers:
                waitables.append(worker.conn)
                waitables.append(worker.sentinel)
            for ready in multiprocessing.connection.wait(waitables):
                if ready == self._wake_read:
                    _drain(self._wake_read)
                elif ready in self._by_conn:
                    self._receive(self._by_conn[ready])
                elif ready in self._by_sentinel:
                    self._reap(self._by_sentinel[ready])
        done, self._done = self._done, []
        threads_done = self._threads.done
        while threads_done:
            done.append(threads_done.popleft())
        return done

    def _receive(self, worker: _ProcessWorker) -> None:
        if worker not in self._workers:
            return
        try:
            while worker.conn.poll():
                kind, body = worker.conn.recv()
                if kind == "log":
                    _handle_forwarded(body)
                    continue
                reply = Reply(*body)
                worker.running = None
                self._idle.append(worker)
                self._done.append(_process_completion(reply, worker.pid))
        except (EOFError, OSError):
            self._reap(worker)

    def _reap(self, worker: _ProcessWorker) -> None:
        """A worker's sentinel fired (or its pipe broke): fail its task, forget the worker."""
        if worker not in self._workers:
            return
        if worker.process.is_alive():
            # The pipe broke but the process lives on: it is unusable, stop it.
            worker.stop(force=True)
        else:
            worker.process.join()
        # Read what it sent before dying: a reply already on the pipe is still a reply.
        try:
            while worker.conn.poll():
                kind, body = worker.conn.recv()
                if kind == "log":
                    _handle_forwarded(body)
                else:
                    reply = Reply(*body)
                    worker.running = None
                    self._done.append(_process_completion(reply, worker.pid))
        except (EOFError, OSError):
            pass
        exitcode = worker.process.exitcode
        self._forget(worker)
        if worker.running is not None:
            import time

            now = time.time()
            error = WorkerCrashedError(
                f"{self._graph.specs[worker.running].name!r} failed: {_crash_message(exitcode)} "
                "while running it"
            )
            self._done.append(
                Completion(worker.running, False, None, error, None, None, None, now, worker.pid, 0)
            )
        worker.conn.close()
        worker.process.close()

    def _forget(self, worker: _ProcessWorker) -> None:
        self._workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        del self._by_conn[worker.conn]
        del self._by_sentinel[worker.sentinel]

    # -- close ---------------------------------------------------------------------------------

    def close(self, *, force: bool) -> None:
        self._threads.close(wait=not force)
        for worker in list(self._workers):
            self._forget(worker)
            worker.stop(force=force)
        os.close(self._wake_read)
        os.close(self._wake_write)


def _unpicklable_input(spec: TaskSpec, error: Exception) -> Exception:
    from ._errors import UnpicklableArgumentError

    return UnpicklableArgumentError(
        f"process task {spec.name!r}: the value of one of its dependencies cannot be pickled to "
        f"send it to a worker process ({type(error).__name__}: {error})"
    )


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except BlockingIOError:
        pass


def _handle_forwarded(fields: dict[str, Any]) -> None:
    record = logging.makeLogRecord(fields)
    logger = logging.getLogger(record.name)
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)


class InlineBackend:
    """Runs every call in the caller's thread, one at a time, when the loop waits for it."""

    def __init__(self, graph: Graph) -> None:
        self._graph = graph
        self._queue: collections.deque[tuple[TaskSpec, dict[int, Value]]] = collections.deque()

    def start(self, spec: TaskSpec, values: dict[int, Value]) -> None:
        self._queue.append((spec, values))

    def wait(self) -> list[Completion]:
        spec, values = self._queue.popleft()
        function = resolve_function(self._graph.functions[spec.function_key])
        if spec.kind is TaskKind.THREAD:
            resolve = _thread_resolver(self._graph, spec, values)
            return [_thread_completion(call_live(spec.key, function, resolve, spec.is_async))]
        try:
            pickled = {dep: value.pickled() for dep, value in values.items()}
        except Exception as error:
            return [_failed_before_start(spec.key, _unpicklable_input(spec, error))]
        assert spec.payload is not None
        reply = call_pickled(spec.key, function, spec.payload, pickled, spec.is_async)
        return [_process_completion(reply, os.getpid())]

    def close(self, *, force: bool) -> None:
        self._queue.clear()
