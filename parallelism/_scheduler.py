"""The scheduler: ``with scheduler(...)`` records a graph; on exit one loop runs it to the end.

Data flow::

    caller's thread                                   workers
    ---------------                                   -------
    with scheduler() as result:  -- Graph (specs) --.
        f(...) -> Deferred                          |
    __exit__ -> _Run.execute():                     v
        RunState (pure, _state.py) --admit--> Backend.start(spec, values) --> process / thread
        loop: Backend.wait() <-- Completion (value | exception, times, pid, tid) <--'
              _state.finish -> newly READY / CANCELLED downstream
        SchedulerResult (four dicts, by execution_time) + each Deferred's Outcome

State (owned by this loop alone, in the caller's thread; workers never touch it):

* ``RunState``: each task's lifecycle state, the per-need heaps of READY tasks, the free slots
  and the count of unfinished tasks (``_state.py``);
* ``_values``: the values a dependent still needs, by task key, with ``_consumers`` counting the
  dependents that have not started yet; a value is dropped when that count reaches zero, so it is
  kept only by a dependent that still needs it, by a live Deferred, or by ``continual=True``;
* ``_records``: per task, what the ``SchedulerResult`` reports.

Task selection policy: a task becomes READY when all its direct dependencies have succeeded.
Ready tasks are taken by (priority, recording order), lower priority first and tasks without one
after every prioritised task; a task starts as soon as its need fits the free slots, and a later
ready task that fits may start while an earlier, larger one waits.

Admission rule: with ``processes=P, threads=T``, a process task that reserved ``p`` processes and
``t`` threads needs ``1 + p`` process slots and ``t`` thread slots; a thread task ``p`` and ``1 + t``.
A task whose need exceeds ``(P, T)`` can never run: before anything starts it is cancelled with
``WorkerError`` (what it lacks), and its dependents with ``DependencyError``.

Failure policy: a task that raises (``BaseException`` included) is FAILED; everything downstream
is CANCELLED with ``DependencyError`` naming the failed or cancelled direct dependencies; other
branches run on.  A worker process that dies fails only the task it was running.  An interrupt
(``KeyboardInterrupt`` in the loop) stops every worker, cancels what has not finished, fills the
result, and propagates.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, NamedTuple

from . import events
from ._calls import timestamp_to_datetime
from ._deferred import Outcome
from ._errors import (
    DependencyError,
    InvalidOptionError,
    RunInterruptedError,
    WorkerError,
)
from ._graph import ACTIVE_GRAPH, Graph, TaskKind, TaskSpec
from ._log import (
    LOGGER,
    cancelled_for_dependencies,
    cancelled_for_lack,
    emit,
    fallback_handler,
    ran,
)
from ._result import RaiseException, SchedulerResult
from ._serialize import Value
from ._state import (
    Cancellation,
    Need,
    TaskState,
    abandon_running,
    admit,
    cancel_pending,
    cancel_unfittable,
    finish,
    new_run_state,
)
from ._workers import Backend, Completion, InlineBackend, LocalBackend

__all__ = ["BACKENDS", "default_start_method", "scheduler"]

BACKENDS = ("local", "inline")


def default_start_method() -> str:
    """forkserver where the platform has it, else spawn.

    fork is fastest to start but unsafe once the caller has threads (ours included: thread
    workers, and whatever the application runs); forkserver forks workers from a clean
    single-threaded server process, so a worker starts in milliseconds without that hazard.
    """
    import multiprocessing

    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _need(spec: TaskSpec) -> Need:
    if spec.kind is TaskKind.PROCESS:
        return (1 + spec.processes, spec.threads)
    if spec.kind is TaskKind.THREAD:
        return (spec.processes, 1 + spec.threads)
    return (0, 0)


class _Record(NamedTuple):
    """What the SchedulerResult says of one task, with the order it happened in."""

    execution_time: float
    sequence: int
    elapsed: float | None
    error: RaiseException | None
    value: Value | None


EventCallback = Callable[[events.Event], object]


class _Run:
    """One run of one graph: the loop, its state, and the records it leaves."""

    def __init__(
        self,
        graph: Graph,
        capacity: Need,
        backend: Backend,
        on_event: EventCallback | None = None,
    ) -> None:
        self._graph = graph
        self._capacity = capacity
        self._on_event = on_event
        self._specs = graph.specs
        self._backend = backend
        self._state = new_run_state(
            [spec.deps for spec in graph.specs],
            [_need(spec) for spec in graph.specs],
            [spec.priority for spec in graph.specs],
            capacity,
        )
        self._values: dict[int, Value] = {}
        self._consumers = [len(deps) for deps in self._state.dependents]
        self._records: dict[int, _Record] = {}
        self._sequence = 0
        self._dispatched_at: dict[int, float] = {}
        self._loop_ids = (os.getpid(), threading.get_ident())

    # -- the loop ------------------------------------------------------------------------------

    def execute(self) -> None:
        graph = self._graph
        graph.states = self._state.states
        graph.phase = "running"
        try:
            if self._on_event is not None:
                total = sum(1 for spec in self._specs if spec.kind is not TaskKind.EXTERNAL)
                self._notify(events.RunStarted(total, *self._capacity, time.time()))
            self._cancel_unfittable()
            state = self._state
            while True:
                started = admit(state)
                for key in started:
                    self._dispatch(key)
                if state.done:
                    break
                if not self._dispatched_at:
                    # Only external nodes settled (synchronously): admit what they made ready.
                    if started:
                        continue
                    raise AssertionError("the run stalled with nothing in flight (a bug)")
                for completion in self._backend.wait():
                    self._complete(completion)
        except BaseException:
            self._backend.close(force=True)
            self._cancel_after_interrupt()
            raise
        else:
            self._backend.close(force=False)
        finally:
            graph.phase = "finished"
            graph.states = None

    def _cancel_unfittable(self) -> None:
        for key, missing, downstream in cancel_unfittable(self._state):
            name = self._specs[key].name
            if LOGGER.isEnabledFor(logging.WARNING):
                self._log_from_loop(logging.WARNING, cancelled_for_lack(name, *missing))
            self._cancelled(key, WorkerError(f"{name!r} has been canceled", missing))
            for cancellation in downstream:
                self._cancel_dependent(cancellation)

    def _dispatch(self, key: int) -> None:
        spec = self._specs[key]
        if spec.kind is TaskKind.EXTERNAL:
            self._settle_external(key)
            return
        values = {dep: self._values[dep] for dep in spec.deps if dep in self._values}
        self._release_inputs(spec)
        now = self._dispatched_at[key] = time.time()
        if self._on_event is not None:
            self._notify(events.TaskStarted(spec.name, spec.kind.value, now))
        self._backend.start(spec, values)

    def _release_inputs(self, spec: TaskSpec) -> None:
        """The dependent has its inputs: values nobody else will consume can go."""
        consumers = self._consumers
        for dep in spec.deps:
            consumers[dep] -= 1
            if consumers[dep] == 0 and not self._specs[dep].continual:
                self._values.pop(dep, None)

    def _settle_external(self, key: int) -> None:
        """An earlier block's Deferred: it "completes" at once with the outcome it already has."""
        outcome = self._graph.externals[key]._outcome
        assert outcome is not None
        succeeded = outcome.state is TaskState.SUCCEEDED
        if succeeded and outcome.value is not None and self._consumers[key]:
            self._values[key] = outcome.value
        self._after_finish(key, succeeded)

    def _complete(self, completion: Completion) -> None:
        key = completion.key
        spec = self._specs[key]
        started = completion.started
        if started is None:  # a crash: the worker never reported; time it from the dispatch
            started = self._dispatched_at.get(key, completion.finished)
        elapsed = completion.elapsed
        if elapsed is None:
            elapsed = max(0.0, completion.finished - started)
        self._dispatched_at.pop(key, None)
        if completion.ok:
            value = completion.value
            if self._consumers[key]:
                assert value is not None
                self._values[key] = value
            self._record(key, started, elapsed, None, value if spec.continual else None)
            self._graph.set_outcome(key, Outcome(TaskState.SUCCEEDED, value))
            if LOGGER.isEnabledFor(logging.INFO):
                emit(
                    logging.INFO,
                    ran(spec.name, elapsed),
                    pid=completion.pid,
                    tid=completion.tid,
                    created=completion.finished,
                )
        else:
            error = completion.error
            assert error is not None
            self._record(key, started, elapsed, RaiseException(error, completion.traceback), None)
            self._graph.set_outcome(key, Outcome(TaskState.FAILED, None, error, completion.traceback))
            if LOGGER.isEnabledFor(logging.ERROR):
                emit(
                    logging.ERROR,
                    ran(spec.name, elapsed, error),
                    pid=completion.pid,
                    tid=completion.tid,
                    created=completion.finished,
                )
        if self._on_event is not None:
            state = TaskState.SUCCEEDED if completion.ok else TaskState.FAILED
            self._notify(
                events.TaskFinished(
                    spec.name,
                    spec.kind.value,
                    state,
                    completion.error,
                    started,
                    elapsed,
                    completion.pid,
                    completion.tid,
                    completion.finished,
                )
            )
        self._after_finish(key, completion.ok)

    def _after_finish(self, key: int, succeeded: bool) -> None:
        _, cancelled = finish(self._state, key, succeeded)
        for cancellation in cancelled:
            self._cancel_dependent(cancellation)

    def _cancel_dependent(self, cancellation: Cancellation) -> None:
        key = cancellation.key
        name = self._specs[key].name
        causes = tuple(self._specs[cause].name for cause in cancellation.causes)
        level = logging.WARNING if cancellation.at_start else logging.INFO
        if LOGGER.isEnabledFor(level):
            self._log_from_loop(level, cancelled_for_dependencies(name, causes))
        self._cancelled(key, DependencyError(f"{name!r} has been canceled", causes))
        self._release_inputs(self._specs[key])

    def _cancelled(self, key: int, error: BaseException) -> None:
        now = time.time()
        self._record(key, now, None, RaiseException(error, None), None)
        self._graph.set_outcome(key, Outcome(TaskState.CANCELLED, None, error))
        spec = self._specs[key]
        if self._on_event is not None and spec.kind is not TaskKind.EXTERNAL:
            self._notify(events.TaskCancelled(spec.name, spec.kind.value, error, now))

    def _notify(self, event: events.Event) -> None:
        """Call the user's callback; one that raises is logged once and not called again."""
        callback = self._on_event
        if callback is None:
            return
        try:
            callback(event)
        except Exception:
            self._on_event = None
            LOGGER.exception(
                "on_event callback %r raised on %s; it will not be called again in this run",
                callback,
                type(event).__name__,
            )

    def finished(self, result: SchedulerResult) -> None:
        """The run is over and its result filled: the last event."""
        self._notify(events.RunFinished(result, time.time()))

    def _record(
        self,
        key: int,
        started: float,
        elapsed: float | None,
        error: RaiseException | None,
        value: Value | None,
    ) -> None:
        if self._specs[key].kind is TaskKind.EXTERNAL:
            return
        self._sequence += 1
        self._records[key] = _Record(started, self._sequence, elapsed, error, value)

    def _log_from_loop(self, level: int, message: str) -> None:
        pid, tid = self._loop_ids
        emit(level, message, pid=pid, tid=tid)

    def _cancel_after_interrupt(self) -> None:
        """The run was interrupted: everything without an outcome is cancelled."""
        state = self._state
        for key in abandon_running(state) + cancel_pending(state):
            name = self._specs[key].name
            self._cancelled(key, RunInterruptedError(f"{name!r} has been canceled: the run was interrupted"))

    # -- the result ----------------------------------------------------------------------------

    def result(self) -> SchedulerResult:
        """The seed's four dicts, each ordered by ``execution_time``."""
        result = SchedulerResult._empty()
        execution_time, elapsed_time, raise_exception, return_value = result
        names = self._specs
        for key, record in sorted(
            self._records.items(), key=lambda item: (item[1].execution_time, item[1].sequence)
        ):
            name = names[key].name
            execution_time[name] = timestamp_to_datetime(record.execution_time)
            if record.elapsed is not None:
                elapsed_time[name] = record.elapsed
            if record.error is not None:
                raise_exception[name] = record.error
            elif record.value is not None:
                return_value[name] = record.value.live()
        return result


def _check_slots(name: str, value: int | None) -> int:
    if value is None:
        return os.cpu_count() or 1
    if type(value) is not int:
        raise InvalidOptionError(f"{name}= must be an int or None, not {type(value).__name__}")
    if value < 0:
        raise InvalidOptionError(f"{name}= must be 0 or more, not {value}")
    return value


def make_backend(
    name: str, graph: Graph, processes: int, threads: int, options: dict[str, Any]
) -> tuple[Backend, Need]:
    """The engine for ``backend=name`` and the capacity ``(processes, threads)`` it offers.

    A remote engine may report its own capacity (a cluster's worker threads), which is why the
    capacity comes back from here rather than being taken from the arguments alone.
    """
    if name == "inline":
        return InlineBackend(graph), (processes, threads)
    if name == "local":
        start_method = options.get("start_method") or default_start_method()
        return LocalBackend(graph, processes, threads, start_method), (processes, threads)
    raise InvalidOptionError(f"backend={name!r} is not known")


def run_graph(
    graph: Graph,
    *,
    processes: int,
    threads: int,
    backend: str = "local",
    on_event: EventCallback | None = None,
    **backend_options: Any,
) -> SchedulerResult:
    """Run a recorded graph to the end and return its result (the classic API calls this too)."""
    engine, capacity = make_backend(backend, graph, processes, threads, backend_options)
    run = _Run(graph, capacity, engine, on_event)
    with fallback_handler():
        try:
            run.execute()
        finally:
            graph.result = run.result()
        run.finished(graph.result)
    return graph.result


class scheduler:  # noqa: N801 - used as a function: `with scheduler(...) as result`
    """Record task calls in a ``with`` block; run them all when the block exits.

    ``with scheduler(processes=2, threads=2) as result:`` binds a ``SchedulerResult`` that is
    empty inside the block and filled when it exits.  At most ``processes`` process slots and
    ``threads`` thread slots are in use at once (default: the CPU count for each).

    ``on_event`` is called with each :mod:`parallelism.events` event, in the caller's thread.

    ``backend="inline"`` runs every task in the caller's thread, one at a time, with the same
    semantics (for pdb and profilers).  ``start_method`` chooses how worker processes start
    (default: :func:`default_start_method`).

    An exception raised in the block's body runs nothing and propagates unchanged.
    """

    def __init__(
        self,
        processes: int | None = None,
        threads: int | None = None,
        *,
        backend: str = "local",
        start_method: str | None = None,
        on_event: EventCallback | None = None,
    ) -> None:
        self._processes = _check_slots("processes", processes)
        self._threads = _check_slots("threads", threads)
        if backend not in BACKENDS:
            raise InvalidOptionError(
                f"backend={backend!r} is not known; choose one of {', '.join(map(repr, BACKENDS))}"
            )
        if start_method is not None:
            import multiprocessing

            methods = multiprocessing.get_all_start_methods()
            if start_method not in methods:
                raise InvalidOptionError(
                    f"start_method={start_method!r} is not available here; choose one of "
                    f"{', '.join(map(repr, methods))}"
                )
        if on_event is not None and not callable(on_event):
            raise InvalidOptionError(f"on_event= must be callable, not {type(on_event).__name__}")
        self._backend = backend
        self._start_method = start_method
        self._on_event = on_event
        self._graph: Graph | None = None
        self._token: Any = None
        self._result = SchedulerResult._empty()

    def __enter__(self) -> SchedulerResult:
        if self._graph is not None:
            raise RuntimeError("a scheduler(...) block can be entered only once; make a new one")
        self._graph = Graph()
        self._token = ACTIVE_GRAPH.set(self._graph)
        return self._result

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        graph = self._graph
        assert graph is not None
        ACTIVE_GRAPH.reset(self._token)
        if exc_type is not None:
            graph.phase = "abandoned"
            return
        try:
            run_graph(
                graph,
                processes=self._processes,
                threads=self._threads,
                backend=self._backend,
                on_event=self._on_event,
                start_method=self._start_method,
            )
        finally:
            if graph.result is not None:
                self._result._fill(graph.result)
