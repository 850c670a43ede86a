"""The dask backend: the same graphs, the same loop, with process tasks on a dask.distributed cluster.

Mapping::

    caller's process                                   dask cluster
    ----------------                                   ------------
    loop (_scheduler._Run): admission, state, result
      |- thread task  -> ThreadPool (threads=)         (never leaves the caller)
      '- process task -> client.submit(_run_remote) -> a worker thread runs call_pickled, exactly as
                                                        a local worker process does
    wait() <- wake-up pipe <- event handler / future watcher (in the client's event loop thread)

* **Admission stays ours.**  The loop applies its rule against ``processes`` = the cluster's worker
  threads (what we started, or what an existing cluster reports, or less if ``processes=`` says so):
  every task starts, for the loop, only once it is ready and fits, and a plain cluster needs no dask
  resources declared.
* **Plain process tasks go ahead** (:class:`_AheadPlan`).  Waiting for the loop before submitting
  a task would cost every task a round trip (worker -> scheduler -> caller -> scheduler ->
  worker) with its slot idle.  So a process task that needs one slot and no more, whose inputs are
  all process tasks, is submitted as soon as its inputs are: with their futures as arguments, so
  that dask starts it the moment they exist, as plain ``client.submit`` code runs.  Dask's threads
  are then what bounds how many run at once, which is the loop's rule only where ``processes`` is
  all of them, and only in a graph where no task reserves process slots: elsewhere every task waits
  for the loop.  The loop still starts each task in its own order; for one submitted ahead, that
  only hands over what the backend kept of it meanwhile (its outcome, its log records), so the
  loop sees outcomes, and the caller's logger the lines, in an order the graph allows.  When a
  task fails, the tasks submitted ahead downstream of it find a missing input and end without
  running (``_run_remote``), and the loop cancels them with ``DependencyError``, as locally.
* **Values stay on the cluster.**  A process task's dask result is its pickled value (frames: the
  pickle stream and its out-of-band buffers).  A process task that consumes it gets the dask
  *future* in its arguments, so dask moves the bytes worker to worker and the caller never sees
  them.  The value comes back only when a thread task or the caller needs it: a thread task's
  resolver fetches it (:class:`_RemoteValue`), and when the run ends every value still referenced
  (a live Deferred, ``continual=True``) is gathered in one round trip before the cluster is let go.
* **How the caller hears of a task.**  The worker sends the outcome's metadata (times, PID, TID, the
  pickled exception of a failure; never the value) as a dask *event* on the topic named after the
  client's id, which the scheduler truncates when that client goes away; log records of the
  ``parallelism`` logger travel the same way, before the outcome, so a task's own lines print
  before its ``ran`` line.  A watcher on each future reports what never reaches the worker's code:
  a worker that died (``KilledWorker`` -> :class:`~parallelism.WorkerCrashedError`), a task the
  cluster cancelled or could not even deserialise.  Both post to a deque and write one byte to a
  pipe; ``wait`` blocks on that pipe and the thread pool's: no polling.
* **The cluster we start** (no ``address=``/``client=``): a ``LocalCluster`` of ``processes``
  single-threaded, non-daemonic workers (tasks may open their own ``scheduler``), without memory
  limit (as local worker processes), ``allowed-failures`` 0 (a crash fails its task at once instead of
  running it on three more workers), started when the first process task starts and closed, with
  every process it started, when the run ends.  An existing cluster is left running; only our
  client is closed (``address=``) or nothing at all (``client=``).

What dask does differently from the local engine (docs/dask.md lists it): a worker that dies loses
the values it held, and dask recomputes them (their tasks run again) if something still needs them;
on a cluster whose workers have several threads, a crash fails every task that worker was running;
an existing cluster's own ``allowed-failures`` decides how often a crashing task is retried first.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import importlib
import itertools
import logging
import multiprocessing.connection
import os
import pickle
import signal
import sys
import threading
import time
import traceback
import uuid
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

from .._calls import Reply, call_live, call_pickled, pack_exception
from .._errors import (
    RunInterruptedError,
    UnpicklableArgumentError,
    UnpicklableExceptionError,
    WorkerCrashedError,
)
from .._graph import Graph, TaskKind, TaskSpec
from .._log import LOGGER, handle_forwarded, record_fields
from .._processes import function_blob, load_function
from .._serialize import PROTOCOL, Frames, Value, loads
from .._task import resolve_function
from .._threads import ThreadPool
from .._workers import (
    Completion,
    _drain,
    failed_completion,
    pickled_inputs,
    thread_completion,
    thread_resolver,
    timeout_error,
)

# dask and distributed ship their own types, but importing them for mypy would make the package's
# type check depend on this optional extra: they are used through ``Any`` here.
dask: Any = importlib.import_module("dask")
distributed: Any = importlib.import_module("distributed")

__all__ = ["CLUSTER_CONFIG", "DaskBackend", "cluster_options", "make_backend"]

_DONE_CALLBACK: Any = getattr(distributed.client, "done_callback", None)
"""distributed's coroutine that waits for a future and then calls a callback in the event loop."""

Need = tuple[int, int]

CLUSTER_CONFIG: dict[str, Any] = {
    # Tasks may open their own scheduler(...), whose worker processes need a non-daemonic parent.
    # The nanny reads this in the caller's process each time it (re)starts a worker, so the setting
    # is held for the cluster's whole life.
    "distributed.worker.daemon": False,
    # A worker that dies fails the task it ran, as locally, instead of running it on three more.
    "distributed.scheduler.allowed-failures": 0,
}
"""The dask settings of the cluster ``backend="dask"`` starts (apply them to a cluster of your own
with ``dask.config.set(CLUSTER_CONFIG)`` around its creation and life)."""

_STOP_GRACE = 0.5
"""Seconds our cluster's worker processes get to exit when a run is stopped, before SIGKILL."""

_INLINE_LIMIT = 1 << 20
"""A value made in the caller (by a thread task) larger than this is scattered to the cluster
rather than embedded in the task, which dask warns about."""


def cluster_options(workers: int) -> dict[str, Any]:
    """``LocalCluster`` keywords of the cluster ``backend="dask"`` starts: ``workers`` processes.

    Single-threaded workers (one process slot each), no memory limit (a local worker process has
    none either), loopback only, and no dashboard (its fixed port would clash between clusters).
    """
    return {
        "n_workers": workers,
        "threads_per_worker": 1,
        "processes": True,
        "memory_limit": 0,
        "host": "127.0.0.1",
        "dashboard_address": None,
        "scheduler_kwargs": {"dashboard": False, "dashboard_address": "127.0.0.1:0"},
    }


def make_backend(
    graph: Graph, processes: int, threads: int, options: dict[str, Any]
) -> tuple[DaskBackend, Need]:
    """The dask engine and its capacity, for ``make_backend("dask", ...)`` in ``_scheduler``.

    ``options``: ``address`` or ``client`` of an existing cluster (neither: we start one), and
    ``processes_given`` (whether ``processes=`` was passed, capping an existing cluster's threads).
    """
    client = options.get("client")
    address = options.get("address")
    if client is None and address is None:
        return DaskBackend(graph, threads, workers=processes), (processes, threads)
    owns_client = client is None
    if client is None:
        client = distributed.Client(address, set_as_default=False)
    try:
        available = sum(client.nthreads().values())
        capacity = min(processes, available) if options.get("processes_given", True) else available
        # Tasks go to dask ahead of admission only where dask's threads are the loop's capacity.
        ahead = capacity == available
        backend = DaskBackend(graph, threads, client=client, owns_client=owns_client, ahead=ahead)
    except BaseException:
        if owns_client:
            client.close()
        raise
    return backend, (int(capacity), threads)


# --- the caller's side --------------------------------------------------------------------------


class _RemoteValue(Value):
    """A process task's value while it is on the cluster: a dask future, fetched when first needed.

    ``future`` is what a consuming process task is given (dask moves the bytes between workers);
    ``live()`` and ``pickled()`` fetch the frames once.  When the run ends the backend settles it:
    fetched (the caller needs it) or, after an interrupt, gone (``live()`` raises why).
    """

    __slots__ = ("__weakref__", "_future", "_gone")

    def __init__(self, future: Any) -> None:
        super().__init__()
        self._future: Any = future
        self._gone: tuple[type[BaseException], str] | None = None

    @property
    def future(self) -> Any:
        """The dask future holding the frames, until the run ends."""
        return self._future

    @property
    def unfetched(self) -> bool:
        """On the cluster only."""
        return self._data is None and self._future is not None

    def _frames(self) -> Frames:
        data = self._data
        if data is None:
            with self._guard():
                if self._data is None:
                    if self._future is None:
                        assert self._gone is not None
                        kind, message = self._gone
                        raise kind(message)
                    self._data = list(self._future.result())
                data = self._data
        return data

    def live(self) -> Any:
        self._frames()
        return super().live()

    def pickled(self) -> Frames:
        return self._frames()

    def fill(self, frames: Frames) -> None:
        """The frames, fetched by someone else (the future stays: process tasks still use it)."""
        with self._guard():
            if self._data is None:
                self._data = list(frames)

    def settle(self, frames: Frames | None, gone: tuple[type[BaseException], str]) -> None:
        """The run is over: keep ``frames`` (fetched), or remember why the value is gone."""
        with self._guard():
            if self._data is None:
                if frames is not None:
                    self._data = list(frames)
                else:
                    self._gone = gone
            self._future = None


class _Subscription:
    """A client's one subscription to its event topic, shared by the runs that use that client.

    The topic is the client's id: the scheduler truncates it when the client goes away, so events
    do not pile up on a long-lived cluster.  Messages are ``[run token, kind, ...]``; anything else
    on that topic (the scheduler's own notes about the client) is not ours and is ignored.  The
    last run using a client unsubscribes, so that the scheduler's note that the client is leaving
    is not sent to a client that is closing.
    """

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _by_client: ClassVar[weakref.WeakValueDictionary[str, _Subscription]] = weakref.WeakValueDictionary()

    def __init__(self) -> None:
        self.runs: dict[str, Callable[[tuple[Any, ...]], None]] = {}

    def __call__(self, event: Any) -> None:
        """Called by the client's event loop with ``(timestamp, message)``."""
        message = event[1]
        if type(message) in (list, tuple) and message:
            post = self.runs.get(message[0])
            if post is not None:
                post(("event", message))

    @classmethod
    def join(cls, client: Any, token: str, post: Callable[[tuple[Any, ...]], None]) -> _Subscription:
        with cls._lock:
            subscription = cls._by_client.get(client.id)
            if subscription is None:
                subscription = cls._by_client[client.id] = cls()
                # The subscription reaches the scheduler before any task we submit afterwards:
                # both go through the client's one ordered stream.
                client.subscribe_topic(client.id, subscription)
            subscription.runs[token] = post
        return subscription

    def leave(self, client: Any, token: str) -> None:
        """The run is over; the last run of a client unsubscribes (before the client is closed,
        so the scheduler sends nothing more to it on this topic)."""
        with self._lock:
            self.runs.pop(token, None)
            if self.runs or self._by_client.get(client.id) is not self:
                return
            del self._by_client[client.id]
        _quietly("unsubscribe from the run's dask events", client.unsubscribe_topic, client.id)


class DaskBackend:
    """Process tasks on a dask.distributed cluster, thread tasks in threads of this process."""

    def __init__(
        self,
        graph: Graph,
        threads: int,
        *,
        client: Any = None,
        owns_client: bool = False,
        workers: int = 0,
        ahead: bool = True,
    ) -> None:
        self._graph = graph
        self._may_submit_ahead = ahead
        self._plan: _AheadPlan | None = None
        """Which process tasks go to dask ahead of their admission; made at the first process start."""
        self._ahead: dict[int, _Submitted] = {}
        """Process tasks on dask that the loop has not started yet, by key."""
        self._client: Any = client
        self._owns_client = owns_client
        self._workers = workers
        self._cluster: Any = None
        self._config: Any = None
        self._token = uuid.uuid4().hex
        self._attempts = itertools.count(1)
        self._log_level = LOGGER.getEffectiveLevel()
        self._blobs: dict[int, bytes] = {}
        self._threads: ThreadPool[Completion] = ThreadPool(max(1, threads))
        self._thread_deadlines: dict[int, float] = {}
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._inbox: collections.deque[tuple[Any, ...]] = collections.deque()
        self._signalled = False
        self._post_lock = threading.Lock()
        self._closed = False
        self._done: list[Completion] = []
        self._running: dict[int, _Submitted] = {}
        """Process tasks submitted and not completed, by key."""
        self._remote: weakref.WeakSet[_RemoteValue] = weakref.WeakSet()
        self._subscription: _Subscription | None = None
        self._topic = ""
        if client is not None:
            self._connect(client)

    # -- start ---------------------------------------------------------------------------------

    def start(self, spec: TaskSpec, values: dict[int, Value]) -> None:
        if spec.kind is TaskKind.THREAD:
            function = resolve_function(self._graph.functions[spec.function_key])
            resolve = thread_resolver(self._graph, spec, values)
            key, is_async = spec.key, spec.is_async
            remote = [v for v in values.values() if isinstance(v, _RemoteValue) and v.unfetched]
            client = self._client

            def run() -> Completion:
                if remote:  # fetched before the task's clock starts, all in one round trip
                    _prefetch(client, remote)
                return thread_completion(call_live(key, function, resolve, is_async), os.getpid())

            self._threads.submit(key, run)
            if spec.timeout is not None:
                self._thread_deadlines[key] = time.monotonic() + spec.timeout
            return
        submitted = self._ahead.pop(spec.key, None)
        if submitted is not None:  # on dask already: now it is the loop's too
            for record in submitted.records:  # its lines so far, after those of its inputs
                _forwarded_record(record)
            submitted.records = []
            if submitted.outcome is None:
                self._running[spec.key] = submitted
            else:
                self._done.append(submitted.outcome)
            return
        client = self._ensure_client()
        roots: list[int] = []
        if self._plan is None:  # the first process task: what may go ahead goes now, after it
            self._plan = _AheadPlan(self._graph.specs, enabled=self._may_submit_ahead)
            roots = self._plan.roots()
            if spec.key in roots:
                roots.remove(spec.key)
                self._submit_ahead([spec.key, *roots])
                self._running[spec.key] = self._ahead.pop(spec.key)
                return
        function = resolve_function(self._graph.functions[spec.function_key])
        # A value on the cluster goes in as its future: dask hands the frames to the worker.
        inputs: dict[int, Any] = {
            dep: value.future
            for dep, value in values.items()
            if isinstance(value, _RemoteValue) and value.future is not None
        }
        uploads: list[Any] = []
        try:
            local = pickled_inputs(spec, {d: v for d, v in values.items() if d not in inputs})
        except UnpicklableArgumentError as error:
            self._done.append(failed_completion(spec.key, error))
            return
        for dep, frames in local.items():
            if _size(frames) > _INLINE_LIMIT:
                inputs[dep] = client.scatter([[bytes(frame) for frame in frames]], hash=False)[0]
                uploads.append(inputs[dep])
            else:
                inputs[dep] = [bytes(frame) for frame in frames]
        self._running[spec.key] = submitted = self._submit(spec, function, inputs, uploads)
        self._submit_ahead(roots + self._plan.submitted(spec.key, submitted.future))

    def _submit_ahead(self, keys: list[int]) -> None:
        """Hand dask the tasks the plan says are ready to go, and those they in turn release."""
        plan = self._plan
        assert plan is not None
        specs = self._graph.specs
        functions = self._graph.functions
        while keys:
            released: list[int] = []
            for key in keys:
                spec = specs[key]
                function = resolve_function(functions[spec.function_key])
                submitted = self._submit(spec, function, plan.inputs(key), [])
                self._ahead[key] = submitted
                released += plan.submitted(key, submitted.future)
            keys = released

    def _submit(
        self, spec: TaskSpec, function: Callable[..., Any], inputs: dict[int, Any], uploads: list[Any]
    ) -> _Submitted:
        client = self._client
        attempt = next(self._attempts)
        plan = self._plan
        task = (
            spec.key,
            attempt,
            self._function_blob(spec.function_key, function),
            spec.payload,
            tuple(inputs),
            spec.is_async,
            (self._topic, self._token),
            self._log_level,
            spec.timeout is not None,
        )
        # The inputs go by position: dask finds a future there at once (in a container it would
        # walk and wrap it, which costs the client and the scheduler on every task).
        future = client.submit(
            _run_remote,
            task,
            *inputs.values(),
            key=f"{spec.name}-{self._token}-{attempt}",
            pure=False,
            priority=plan.priorities[spec.key] if plan is not None else 0,
        )
        callback = functools.partial(self._future_done, spec.key, attempt)
        if _DONE_CALLBACK is not None:  # called in the client's event loop, as the events are
            client.loop.add_callback(_DONE_CALLBACK, future, callback)
        else:  # pragma: no cover - a distributed without it: its public way, from a thread of its own
            future.add_done_callback(callback)
        return _Submitted(future, attempt, uploads)

    def _ensure_client(self) -> Any:
        """The client; for a run without ``address=``/``client=``, start our cluster now."""
        if self._client is None:
            self._config = dask.config.set(CLUSTER_CONFIG)
            try:
                self._cluster = distributed.LocalCluster(**cluster_options(self._workers))
                self._client = distributed.Client(self._cluster, set_as_default=False)
            except BaseException:
                self._close_owned()
                raise
            self._owns_client = True
            self._connect(self._client)
        return self._client

    def _connect(self, client: Any) -> None:
        self._subscription = _Subscription.join(client, self._token, self._post)
        self._topic = client.id

    def _function_blob(self, function_key: int, function: Callable[..., Any]) -> bytes:
        blob = self._blobs.get(function_key)
        if blob is None:
            blob = self._blobs[function_key] = function_blob(function)
        return blob

    # -- what the client's event loop thread hands over ----------------------------------------

    def _post(self, item: tuple[Any, ...]) -> None:
        """Queue an item for the loop and wake it (one byte until the loop has looked)."""
        with self._post_lock:
            if self._closed:
                return
            self._inbox.append(item)
            if not self._signalled:
                self._signalled = True
                os.write(self._wake_write, b"\0")

    def _future_done(self, key: int, attempt: int, future: Any) -> None:
        # A task's own outcome comes by event; here only what its code never saw: a dead worker,
        # a task dask could not run or that the cluster cancelled.
        if future.status in ("error", "cancelled"):
            self._post(("future", key, attempt, future))

    # -- wait ----------------------------------------------------------------------------------

    def wait(self, timeout: float | None) -> list[Completion]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            done = self._collect()
            now = time.monotonic()
            self._enforce_timeouts(now, done)
            if done or (deadline is not None and now >= deadline):
                if self._plan is not None:
                    for completion in done:
                        if not completion.ok:
                            self._forget_downstream(completion.key)
                return done
            limits = [*self._thread_deadlines.values()]
            limits += [s.deadline for s in self._running.values() if s.deadline is not None]
            if deadline is not None:
                limits.append(deadline)
            limit = min(limits) - now if limits else None
            multiprocessing.connection.wait(
                [self._wake_read, self._threads.wake_read], None if limit is None else max(0.0, limit)
            )

    def _collect(self) -> list[Completion]:
        done, self._done = self._done, []
        # Drain, then reset: an item posted after the reset writes a byte that stays in the pipe.
        # (Reset first, and a byte written in between would be drained while the flag stays set:
        # the next items would then wake nobody.)
        _drain(self._wake_read)
        self._signalled = False
        _drain(self._threads.wake_read)
        inbox = self._inbox
        while inbox:
            completion = self._receive(inbox.popleft())
            if completion is not None:
                done.append(completion)
        threads_done = self._threads.done
        while threads_done:
            completion, _ = threads_done.popleft()  # nothing is handed ahead to these threads
            self._thread_deadlines.pop(completion.key, None)
            done.append(completion)
        return done

    def _receive(self, item: tuple[Any, ...]) -> Completion | None:
        """An item the client's event loop posted: the completion it makes, if the loop may see it.

        What concerns a task submitted ahead of the loop is kept with it until the loop starts
        that task (``start``): its log records and its outcome reach the loop only then, after the
        outcomes of its dependencies, as locally.
        """
        if item[0] == "future":
            _, key, attempt, future = item
            submitted = self._running.get(key)
            if submitted is not None and submitted.attempt == attempt:
                del self._running[key]
                return self._lost(key, future)
            submitted = self._ahead.get(key)
            if submitted is not None and submitted.attempt == attempt and submitted.outcome is None:
                submitted.outcome = self._lost(key, future)
            return None
        message = item[1]
        kind = message[1]
        if kind == "log":
            submitted = self._ahead.get(message[3])
            if submitted is not None and submitted.attempt == message[4]:
                submitted.records.append(message[2])
            else:
                _forwarded_record(message[2])
            return None
        key = message[2]
        submitted = self._running.get(key)
        ahead = submitted is None
        if ahead:
            submitted = self._ahead.get(key)
        # Not the attempt running now: dask ran an earlier one again to recompute a lost value.
        if submitted is None or submitted.attempt != message[3]:
            return None
        if kind == "started":
            timeout = self._graph.specs[message[2]].timeout
            if timeout is not None:
                submitted.deadline = time.monotonic() + timeout
                submitted.worker = message[4]
            return None
        _, _, key, _, ok, error_frames, text, started, elapsed, finished, tid, pid = message
        if ok:
            value = _RemoteValue(submitted.future)
            self._remote.add(value)
            completion = Completion(key, True, value, None, None, started, elapsed, finished, pid, tid)
        else:
            error = _load_exception(error_frames)
            completion = Completion(key, False, None, error, text, started, elapsed, finished, pid, tid)
        if ahead:
            if submitted.outcome is None:
                submitted.outcome = completion
            return None
        del self._running[key]
        return completion

    def _forget_downstream(self, key: int) -> None:
        """A task failed: the loop cancels everything downstream, so the tasks submitted ahead
        there are let go (they do not run: an input of theirs is missing, see ``_run_remote``)."""
        plan = self._plan
        assert plan is not None
        for dependent in plan.failed(key):
            self._ahead.pop(dependent, None)

    def _lost(self, key: int, future: Any) -> Completion:
        """The future failed without the task's code reporting: a dead worker, or dask's own error."""
        name = self._graph.specs[key].name
        try:
            error: BaseException = future.exception()
        except (Exception, asyncio.CancelledError) as cancelled:
            return failed_completion(
                key,
                WorkerCrashedError(
                    f"{name!r} failed: the dask cluster cancelled it "
                    f"({type(cancelled).__name__}: {cancelled})"
                ),
            )
        if not isinstance(error, distributed.KilledWorker):
            return failed_completion(key, error)._replace(traceback=_format_remote(future))
        worker = error.last_worker
        pid = getattr(worker, "pid", 0) or 0
        crash = WorkerCrashedError(
            f"{name!r} failed: the dask worker process running it died while running it "
            f"(worker {getattr(worker, 'address', '?')}, pid {pid or '?'})"
        )
        return failed_completion(key, crash)._replace(pid=pid)

    def _enforce_timeouts(self, now: float, done: list[Completion]) -> None:
        """Fail every task past its deadline: abandon its thread, or kill its dask worker process."""
        for key, deadline in list(self._thread_deadlines.items()):
            if now >= deadline:
                del self._thread_deadlines[key]
                self._threads.abandon(key)
                spec = self._graph.specs[key]
                done.append(failed_completion(key, timeout_error(spec, "its thread was abandoned")))
        for key, submitted in list(self._running.items()):
            if submitted.deadline is None or now < submitted.deadline:
                continue
            del self._running[key]
            client = self._client
            _quietly("cancel a timed-out dask task", client.cancel, [submitted.future], force=True)
            _stop_worker(client, submitted.worker)
            spec = self._graph.specs[key]
            done.append(failed_completion(key, timeout_error(spec, "its dask worker process was killed")))

    # -- close ---------------------------------------------------------------------------------

    def close(self, *, force: bool) -> None:
        self._threads.close(wait=not force)
        try:
            if self._client is not None:
                if force and (self._running or self._ahead):
                    on_dask = itertools.chain(self._running.values(), self._ahead.values())
                    futures = [submitted.future for submitted in on_dask]
                    _quietly("cancel the run's dask futures", self._client.cancel, futures, force=True)
                if not force:
                    self._fetch_remaining()
        finally:
            gone = (
                (RunInterruptedError, "the value stayed on the dask cluster, which the stopped run let go")
                if force
                else (WorkerCrashedError, "the value was lost on the dask cluster before it could be fetched")
            )
            for value in list(self._remote):
                value.settle(None, gone)
            self._running.clear()
            self._ahead.clear()
            self._plan = None
            if self._subscription is not None:
                self._subscription.leave(self._client, self._token)
            self._close_owned(force=force)
            with self._post_lock:
                self._closed = True
                self._inbox.clear()
                os.close(self._wake_read)
                os.close(self._wake_write)

    def _fetch_remaining(self) -> None:
        """Bring back, in one round trip, every value something still refers to."""
        wanted = [value for value in list(self._remote) if value.unfetched]
        if not wanted:
            return
        gone = (WorkerCrashedError, "the value was lost on the dask cluster before it could be fetched")
        try:
            fetched = self._client.gather([value.future for value in wanted])
        except Exception:
            for value in wanted:  # find which ones are lost; keep the rest
                try:
                    value.settle(value.future.result(), gone)
                except Exception as error:
                    value.settle(None, (gone[0], f"{gone[1]} ({type(error).__name__}: {error})"))
            return
        for value, frames in zip(wanted, fetched, strict=True):
            value.settle(frames, gone)

    def _close_owned(self, *, force: bool = True) -> None:
        """Close what we opened: our client, our cluster (and its processes), our dask settings.

        ``force``: the worker processes get half a second to exit before they are killed (dask's
        own grace is 4 s, and a task that does not return would hold a Ctrl-C that long).
        """
        if self._owns_client and self._client is not None:
            _quietly("close the dask client", self._client.close)
        cluster = self._cluster
        if cluster is not None:
            if force:
                nannies = list(cluster.workers.values())
                _quietly("stop the dask workers", cluster.sync, _close_nannies, nannies, _STOP_GRACE)
            _quietly("close the dask cluster", cluster.close)
            self._cluster = None
        if self._config is not None:
            self._config.__exit__(None, None, None)
            self._config = None


class _Submitted:
    """A process task handed to dask: its future, which attempt it is, and its timeout's clock."""

    __slots__ = ("attempt", "deadline", "future", "outcome", "records", "uploads", "worker")

    def __init__(self, future: Any, attempt: int, uploads: list[Any]) -> None:
        self.future = future
        self.attempt = attempt
        self.uploads = uploads
        """Inputs scattered for it, held until it completes."""
        self.deadline: float | None = None
        """``time.monotonic()`` past which it times out (set when the worker says it started)."""
        self.worker: str | None = None
        self.outcome: Completion | None = None
        """Submitted ahead: its outcome, kept until the loop starts it."""
        self.records: list[bytes] = []
        """Submitted ahead: its log records, kept until the loop starts it."""


class _AheadPlan:
    """Which process tasks are handed to dask before the loop admits them, so that dask starts
    each one the moment its inputs exist (the way plain ``client.submit`` code runs), rather than
    a round trip through the caller later.

    A task goes ahead when it is a process task that needs exactly one process slot (no
    reservations) and no timeout, and each of its dependencies is a process task without retries
    or timeout that is on dask already (ahead or started by the loop); it is submitted with its
    dependencies' futures as inputs.  The loop still admits every task by its own rule; one that is
    on dask already is then only taken over (``DaskBackend.start``).  Dask's threads bound how many
    run at once, so this holds admission only where the loop's capacity is all of the cluster's
    threads (``enabled``), and never in a graph where a task reserves process slots: a reservation
    must see its slots idle.  Dependencies with retries or a timeout may end differently from
    dask's view of them (run again, or failed while dask finishes them), so what follows them
    waits for the loop.

    When a task fails, the loop cancels everything downstream of it; the plan forgets it all
    (``failed``).  Dask priorities follow ours (lower first, none last).
    """

    __slots__ = (
        "_dead",
        "_dependents",
        "_deps",
        "_eligible",
        "_futures",
        "_on_dask",
        "_uses",
        "_waiting",
        "priorities",
    )

    def __init__(self, specs: list[TaskSpec], *, enabled: bool) -> None:
        ranked = [spec.priority for spec in specs if spec.priority is not None]
        last = max(ranked, default=0) + 1
        self.priorities: list[float] = [-(last if spec.priority is None else spec.priority) for spec in specs]
        if not ranked:
            self.priorities = [0] * len(specs)
        self._deps = [spec.deps for spec in specs]
        self._dependents: list[list[int]] = [[] for _ in specs]
        for spec in specs:
            for dep in spec.deps:
                self._dependents[dep].append(spec.key)
        if enabled:
            enabled = not any(spec.processes for spec in specs)
        self._eligible = [enabled and _may_go_ahead(spec, specs) for spec in specs]
        self._waiting = [len(spec.deps) for spec in specs]
        """Per task, its dependencies not yet on dask."""
        self._uses = [sum(1 for d in self._dependents[key] if self._eligible[d]) for key in range(len(specs))]
        """Per task, its eligible dependents not yet submitted: its future is kept for them."""
        self._futures: dict[int, Any] = {}
        self._dead: set[int] = set()
        self._on_dask = [False] * len(specs)

    def roots(self) -> list[int]:
        """The eligible tasks without dependencies: they can all go at once."""
        return [key for key, deps in enumerate(self._deps) if not deps and self._eligible[key]]

    def inputs(self, key: int) -> dict[int, Any]:
        """A task going ahead: its dependencies' futures, by key.

        Each future is dropped here once no other dependent will ask for it, so the plan keeps a
        value on the cluster no longer than the loop and dask themselves keep it.
        """
        futures = self._futures
        given = {dep: futures[dep] for dep in self._deps[key]}
        for dep in given:
            self._release(dep)
        return given

    def submitted(self, key: int, future: Any) -> list[int]:
        """``key`` is on dask (its first attempt): the eligible dependents that may go now
        (the caller submits each with ``inputs``)."""
        if self._on_dask[key]:  # an attempt after a failure: its dependents do not go ahead
            return []
        self._on_dask[key] = True
        if self._uses[key]:
            self._futures[key] = future
        ready: list[int] = []
        waiting, eligible, dead = self._waiting, self._eligible, self._dead
        for dependent in self._dependents[key]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0 and eligible[dependent] and dependent not in dead:
                ready.append(dependent)
        return ready

    def failed(self, key: int) -> list[int]:
        """``key`` failed: everything downstream is cancelled by the loop, and never goes ahead.

        Returns those downstream tasks (the caller drops any it had submitted ahead).
        """
        self._futures.pop(key, None)
        self._uses[key] = 0
        found: list[int] = []
        stack = list(self._dependents[key])
        dead = self._dead
        while stack:
            dependent = stack.pop()
            if dependent in dead:
                continue
            dead.add(dependent)
            found.append(dependent)
            if self._eligible[dependent] and self._waiting[dependent] > 0:  # never submitted
                for dep in self._deps[dependent]:
                    self._release(dep)
            stack += self._dependents[dependent]
        return found

    def _release(self, dep: int) -> None:
        uses = self._uses
        if uses[dep] > 0:
            uses[dep] -= 1
            if uses[dep] == 0:
                self._futures.pop(dep, None)


def _may_go_ahead(spec: TaskSpec, specs: list[TaskSpec]) -> bool:
    """Whether ``spec`` may be handed to dask before the loop admits it (``_AheadPlan``)."""
    if spec.kind is not TaskKind.PROCESS or spec.processes or spec.threads or spec.timeout is not None:
        return False
    for dep in spec.deps:
        other = specs[dep]
        if other.kind is not TaskKind.PROCESS or other.retries or other.timeout is not None:
            return False
    return True


def _stop_worker(client: Any, address: str | None) -> None:
    """Dask cannot stop a running call: end the worker process running it, which its nanny replaces.

    The nanny kills it (so the scheduler gets its answer); a worker without a nanny ends itself.
    """
    try:
        client.run(_kill_worker_process, workers=[address], nanny=True)
    except Exception:
        _quietly("stop a dask worker", client.run, _exit_worker, workers=[address], wait=False)


async def _close_nannies(nannies: list[Any], grace: float) -> None:
    await asyncio.gather(*(nanny.close(timeout=grace) for nanny in nannies))


def _prefetch(client: Any, values: list[_RemoteValue]) -> None:
    """Fetch the frames of several values in one round trip (a thread task's inputs)."""
    wanted = [value for value in values if value.unfetched]
    try:
        fetched = client.gather([value.future for value in wanted])
    except Exception:  # each value reports its own problem to the task that uses it
        return
    for value, frames in zip(wanted, fetched, strict=True):
        value.fill(frames)


def _quietly(what: str, action: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Teardown goes on when one step fails; the failure is logged, not raised over the run's outcome."""
    try:
        action(*args, **kwargs)
    except Exception as error:
        LOGGER.warning("could not %s: %s: %s", what, type(error).__name__, error)


def _size(frames: Frames) -> int:
    return sum(memoryview(frame).nbytes for frame in frames)


def _load_exception(frames: list[bytes]) -> BaseException:
    try:
        error = loads(frames)
    except Exception as problem:  # its class cannot be imported here, for one
        message = f"the task's exception cannot be loaded here: {problem}"
        return UnpicklableExceptionError(type(problem).__name__, message)
    assert isinstance(error, BaseException)
    return error


def _format_remote(future: Any) -> str | None:
    try:
        error = future.exception()
        return "".join(traceback.format_exception(type(error), error, future.traceback()))
    except Exception:
        return None


def _forwarded_record(data: bytes) -> None:
    try:
        fields = pickle.loads(data)
    except Exception as error:
        LOGGER.warning("a log record of a dask worker could not be loaded here: %s", error)
        return
    handle_forwarded(fields)


# --- the worker's side --------------------------------------------------------------------------


_Destination = tuple[Any, tuple[str, str], int, int]
"""Where a task's log records go: the worker, the run's (topic, token), the task's key and attempt."""


class _Route(threading.local):
    """Where the ``parallelism`` records of the task running in this thread go."""

    current: _Destination | None = None


_ROUTE = _Route()
_LAST_ROUTE: list[_Destination] = []
"""The last task's route in this process, for records from threads a task started itself."""
_FUNCTIONS: dict[bytes, Callable[..., Any]] = {}
_FUNCTIONS_KEPT = 256


class _ForwardToRun(logging.Handler):
    """In a dask worker: send ``parallelism`` log records to the run whose task is running."""

    def emit(self, record: logging.LogRecord) -> None:
        route = _ROUTE.current or (_LAST_ROUTE[0] if _LAST_ROUTE else None)
        if route is None:
            return
        worker, (topic, token), key, attempt = route
        try:
            fields = pickle.dumps(record_fields(record), PROTOCOL)
            worker.log_event(topic, [token, "log", fields, key, attempt])
        except Exception:  # logging must never break the task; report as logging does
            self.handleError(record)


_INSTALL_LOCK = threading.Lock()


def _forward_logs(level: int) -> None:
    logger = logging.getLogger("parallelism")
    if not any(isinstance(handler, _ForwardToRun) for handler in logger.handlers):
        with _INSTALL_LOCK:
            if not any(isinstance(handler, _ForwardToRun) for handler in logger.handlers):
                logger.addHandler(_ForwardToRun())
                logger.propagate = False
    if logger.level != level:
        logger.setLevel(level)


def _function(blob: bytes) -> Callable[..., Any]:
    function = _FUNCTIONS.get(blob)
    if function is None:
        function = load_function(blob)
        if len(_FUNCTIONS) >= _FUNCTIONS_KEPT:
            _FUNCTIONS.clear()
        _FUNCTIONS[blob] = function
    return function


_RemoteTask = tuple[int, int, bytes, bytes, tuple[int, ...], bool, tuple[str, str], int, bool]
"""What a dask worker needs of a process task besides its inputs: key, attempt, function blob,
pickled call, the keys of the inputs (in the order they are given), whether it is a coroutine
function, the run's (topic, token), the log level, and whether to report its start."""


def _run_remote(task: _RemoteTask, *values: Frames | None) -> Frames | None:
    """What a dask worker runs for a process task: the same call a local worker process makes.

    ``values``: the frames of each input, one argument each (dask fetches those of other tasks).
    Returns the value's frames (they stay in the worker's memory until something needs them), or
    ``None`` after a failure; the outcome itself is reported by an event on the run's topic.  An
    input that is ``None`` is a dependency that failed (or did not run for that reason): the task
    was submitted ahead of the loop, which cancels it, so it does not run and reports nothing.
    """
    key, attempt, blob, payload, deps, is_async, route, log_level, report_start = task
    inputs: dict[int, Frames] = {}
    for dep, given in zip(deps, values, strict=True):
        if given is None:
            return None
        inputs[dep] = given
    worker = distributed.get_worker()
    topic, token = route
    if report_start:  # the task has a timeout, whose clock starts now
        worker.log_event(topic, [token, "started", key, attempt, worker.address])
    _forward_logs(log_level)
    destination = (worker, route, key, attempt)
    _ROUTE.current = destination
    _LAST_ROUTE[:] = [destination]
    try:
        try:
            function = _function(blob)
        except BaseException as error:  # the task's function cannot be loaded here: its failure
            now = time.time()
            data, text = pack_exception(error)
            reply = Reply(key, False, data, text, now, 0.0, now, threading.get_ident())
        else:
            reply = call_pickled(key, function, payload, inputs, is_async)
    finally:
        _ROUTE.current = None
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    failure = None if reply.ok else [bytes(frame) for frame in reply.data]
    outcome = [reply.ok, failure, reply.traceback, reply.started, reply.elapsed, reply.finished, reply.tid]
    worker.log_event(topic, [token, "done", key, attempt, *outcome, os.getpid()])
    if not reply.ok:
        return None
    frames: Frames = reply.data
    return frames


def _kill_worker_process(dask_worker: Any) -> None:
    """Run on the nanny of a worker whose task timed out: kill the worker process (it starts a new one)."""
    pid = dask_worker.pid
    if pid:
        os.kill(pid, signal.SIGKILL)


async def _exit_worker() -> None:
    """Run on a dask worker whose task timed out: end its process (its nanny starts a new one).

    A coroutine, so that ``client.run(..., wait=False)`` sends it without waiting for an answer
    that the process will never give.
    """
    os._exit(1)
