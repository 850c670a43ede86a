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

Handing ahead (local backend): besides the tasks that fit, plain ready tasks are queued behind
busy workers whose last task was quick, up to a few each, so a worker starts its next task
without waiting for this loop; they take a slot only when they start.  Chains: when a process
task is dispatched whose only dependent is a plain process task waiting for nothing else, whose
Deferred nobody holds and that nobody retries, that dependent is queued right behind it in the
same worker (``_chain``): the value stays in the worker (handed over without a copy when nothing
else refers to it), and the dependent starts in the slot its input frees.  Neither is done while
a better-placed ready task or a larger waiting one has a claim on that slot
(``_state.can_chain``, ``hand_ahead``).

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

import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, NamedTuple

from . import events
from ._calls import timestamp_to_datetime
from ._errors import (
    DependencyError,
    InvalidOptionError,
    RunInterruptedError,
    TaskTimeoutError,
    WorkerError,
)
from ._graph import ACTIVE_GRAPH, Graph, TaskKind, TaskSpec
from ._log import (
    LOGGER,
    cancelled_for_dependencies,
    cancelled_for_lack,
    emit,
    fallback_handler,
    handle_forwarded,
    ran,
)
from ._result import RaiseException, SchedulerResult
from ._serialize import Value
from ._signals import sigterm_raises
from ._state import (
    PLAIN_PROCESS,
    PLAIN_THREAD,
    Cancellation,
    Need,
    TaskState,
    abandon_running,
    admit,
    can_chain,
    cancel_pending,
    cancel_unfittable,
    chain,
    finish,
    hand_ahead,
    new_run_state,
    requeue,
    retry,
    start_ahead,
    unchain,
)
from ._task import check_timeout
from ._threads import other_threads_exist
from ._workers import Backend, Completion, InlineBackend, LocalBackend
from .observe.collector import record_run
from .observe.progress import ProgressOption, check_progress, showing

__all__ = ["BACKENDS", "default_start_method", "scheduler"]

BACKENDS = ("local", "inline", "dask")


def default_start_method() -> str:
    """fork while this process has a single thread; otherwise forkserver (spawn without it).

    fork starts a worker in a millisecond or two, and is safe while the caller has no other
    thread (no lock can be held by a thread that the child would not have).  Once there is any
    other thread -- the application's, a native library's pool such as OpenBLAS's, or this
    scheduler's own thread workers -- forkserver forks workers from a clean single-threaded server
    instead (a one-time start of about a tenth of a second, then milliseconds per worker).  Threads
    are counted by the OS (``/proc/self/task``), so native threads count too.
    """
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and not other_threads_exist():
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


_PLAIN_NEEDS = {(TaskKind.PROCESS, 0, 0): PLAIN_PROCESS, (TaskKind.THREAD, 0, 0): PLAIN_THREAD}
"""The needs of tasks without reservations, looked up rather than computed (once per task)."""


def _need(spec: TaskSpec) -> Need:
    plain = _PLAIN_NEEDS.get((spec.kind, spec.processes, spec.threads))
    if plain is not None:
        return plain
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

_CHAIN_DEPTH = 8
"""Tasks chained one behind the other in one go; the next link waits for the chain's last value.

A bound keeps what one worker is committed to (and its pipe) small, at the cost of one round
trip through the loop per this many links.
"""


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
        self._attempts: dict[int, int] = {}
        """Failed attempts so far of tasks with ``retries``."""
        self._chaining = bool(getattr(backend, "can_chain", lambda: False)())
        self._loop_ids = (os.getpid(), threading.get_ident())
        self._began = self._ended = 0.0
        """When the run began and ended (``time.time()``), for ``parallelism.observe``."""

    # -- the loop ------------------------------------------------------------------------------

    def execute(self, timeout: float | None = None) -> None:
        """Run every task to its outcome; ``timeout`` bounds the whole run (then it raises)."""
        graph = self._graph
        graph.states = self._state.states
        graph.phase = "running"
        deadline = None if timeout is None else time.monotonic() + timeout
        self._began = time.time()
        try:
            if self._on_event is not None:
                total = sum(1 for spec in self._specs if spec.kind is not TaskKind.EXTERNAL)
                self._notify(events.RunStarted(total, *self._capacity, self._began))
            self._cancel_unfittable()
            state = self._state
            room_ahead: Callable[[], tuple[int, int]] | None = getattr(self._backend, "room_ahead", None)
            while True:
                started = admit(state)
                for key in started:
                    self._dispatch(key)
                if room_ahead is not None:
                    rooms = room_ahead()
                    for need, room in ((PLAIN_PROCESS, rooms[0]), (PLAIN_THREAD, rooms[1])):
                        for key in hand_ahead(state, need, room):
                            self._dispatch(key, ahead=True)
                if state.done:
                    break
                if not self._dispatched_at:
                    # Only external nodes settled (synchronously): admit what they made ready.
                    if started:
                        continue
                    raise AssertionError("the run stalled with nothing in flight (a bug)")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TaskTimeoutError(
                        f"the run exceeded its timeout of {timeout:g} s; "
                        "the tasks that had not finished were cancelled"
                    )
                for completion in self._backend.wait(remaining):
                    self._complete(completion)
                    self._started_ahead(completion)
                    for fields in completion.logs_after:
                        handle_forwarded(fields)
        except BaseException as reason:
            self._backend.close(force=True)
            self._cancel_after_interrupt(reason)
            raise
        else:
            self._backend.close(force=False)
        finally:
            self._ended = time.time()
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

    def _dispatch(self, key: int, *, ahead: bool = False) -> None:
        """Hand a task to the backend (``ahead``: queued behind a busy worker's current task).

        A plain process dependent waiting only for this task may be chained behind it
        (:meth:`_chain`).
        """
        spec = self._specs[key]
        if spec.kind is TaskKind.EXTERNAL:
            self._settle_external(key)
            return
        values: dict[int, Value] = {}
        if spec.deps:
            values = self._inputs(spec)
            # A task that may run again keeps its inputs until its last attempt; one handed
            # ahead, until it starts (its worker may die first, and then it runs elsewhere).
            if not spec.retries and not ahead:
                self._release_inputs(spec)
        now = self._dispatched_at[key] = time.time()
        if self._on_event is not None:
            # kind._value_ is kind.value without the property call (events are built per task)
            self._notify(events.TaskStarted(spec.name, spec.kind._value_, now))
        follower = None
        if self._chaining and spec.kind is TaskKind.PROCESS:
            follower = self._follower(spec)
        if follower is not None:
            self._backend.start(spec, values, ahead=ahead, keep=True)  # type: ignore[call-arg]
            self._chain(key, follower)
        elif ahead:
            self._backend.start(spec, values, ahead=True)  # type: ignore[call-arg]
        else:
            self._backend.start(spec, values)

    def _inputs(self, spec: TaskSpec) -> dict[int, Value]:
        """The values of ``spec``'s dependencies that this loop holds (a chained task's input
        stays in its worker, and is not among them)."""
        return {dep: self._values[dep] for dep in spec.deps if dep in self._values}

    def _follower(self, spec: TaskSpec) -> int | None:
        """The dependent to chain behind ``spec``, if its value need go nowhere else.

        That is a process task whose one dependent is a plain process task waiting for nothing
        else (``_state.can_chain``), with no live Deferred or ``continual`` wanting its value and
        no retry that could need it again.  The value then stays in the worker that makes it.
        """
        if spec.kind is not TaskKind.PROCESS or spec.retries or spec.continual:
            return None
        dependents = self._state.dependents[spec.key]
        if len(dependents) != 1:
            return None
        dependent = dependents[0]
        follower = self._specs[dependent]
        if follower.kind is not TaskKind.PROCESS or follower.retries:
            return None
        if self._graph.outcome_deferred(spec.key) is not None:
            return None
        return dependent if can_chain(self._state, spec.key, dependent) else None

    def _chain(self, key: int, follower: int | None) -> None:
        """Chain ``follower`` behind ``key`` in its worker, then its own follower, up to a depth.

        A chained task starts when its worker finishes the one before it, without a round trip
        through this loop; its start is reported then (``_started_ahead``).  Like a task handed
        ahead, it keeps its inputs here until it starts (its worker may die first).
        """
        depth = 0
        while follower is not None:
            chain(self._state, follower)
            spec = self._specs[follower]
            values = self._inputs(spec)
            depth += 1
            following = self._follower(spec) if depth < _CHAIN_DEPTH else None
            self._backend.start(  # type: ignore[call-arg]
                spec, values, keep=following is not None, after=key
            )
            key, follower = follower, following

    def _started_ahead(self, completion: Completion) -> None:
        """Bookkeeping for tasks handed ahead: one started after this completion, or must go back."""
        if completion.next_key is not None:
            key = completion.next_key
            was_chained = key in self._state.chained
            start_ahead(self._state, key)
            spec = self._specs[key]
            if was_chained:  # reported now, not when it was chained: its input had not finished
                now = self._dispatched_at[key] = time.time()
                if self._on_event is not None:
                    self._notify(events.TaskStarted(spec.name, spec.kind._value_, now))
            if spec.deps and not spec.retries:
                self._release_inputs(spec)
        for key in completion.requeue:
            requeue(self._state, key)
            self._dispatched_at.pop(key, None)
        for key in completion.unchain:
            unchain(self._state, key)

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
        if not completion.ok and self._attempts.get(key, 0) < spec.retries:
            self._retry(spec, completion, elapsed)
            return
        if spec.retries:
            self._release_inputs(spec)
        if completion.ok:
            value = completion.value  # None when its worker kept it for a chained dependent
            if value is not None and self._consumers[key]:
                self._values[key] = value
            self._record(key, started, elapsed, None, value if spec.continual else None)
            self._graph.set_outcome(key, TaskState.SUCCEEDED, value)
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
            self._graph.set_outcome(key, TaskState.FAILED, None, error, completion.traceback)
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
                    spec.kind._value_,
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

    def _retry(self, spec: TaskSpec, completion: Completion, elapsed: float) -> None:
        """A failed attempt with retries left: say so, and put the task back among the ready."""
        attempt = self._attempts[spec.key] = self._attempts.get(spec.key, 0) + 1
        error = completion.error
        assert error is not None
        if LOGGER.isEnabledFor(logging.WARNING):
            emit(
                logging.WARNING,
                f"{ran(spec.name, elapsed, error)}; retrying (attempt {attempt + 1} of {spec.retries + 1})",
                pid=completion.pid,
                tid=completion.tid,
                created=completion.finished,
            )
        if self._on_event is not None:
            self._notify(events.TaskRetried(spec.name, spec.kind.value, attempt + 1, error, time.time()))
        retry(self._state, spec.key)

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
        self._graph.set_outcome(key, TaskState.CANCELLED, None, error)
        spec = self._specs[key]
        if self._on_event is not None and spec.kind is not TaskKind.EXTERNAL:
            self._notify(events.TaskCancelled(spec.name, spec.kind._value_, error, now))

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

    def _cancel_after_interrupt(self, reason: BaseException) -> None:
        """The run was stopped: everything without an outcome is cancelled.

        Running tasks were stopped with their workers.  A run timeout cancels them with
        ``TaskTimeoutError``; anything else (Ctrl-C, SIGTERM, an error in the loop) with
        ``RunInterruptedError``.
        """
        state = self._state
        try:
            for key in abandon_running(state) + cancel_pending(state):
                name = self._specs[key].name
                error: BaseException
                if isinstance(reason, TaskTimeoutError):
                    error = TaskTimeoutError(f"{name!r} has been canceled: {reason}")
                else:
                    error = RunInterruptedError(
                        f"{name!r} has been canceled: the run was interrupted ({type(reason).__name__})"
                    )
                self._cancelled(key, error)
        except Exception:  # never mask the reason the run stopped
            LOGGER.exception("could not record the cancellations of an interrupted run")

    # -- the result ----------------------------------------------------------------------------

    def result(self) -> SchedulerResult:
        """The seed's four dicts, each ordered by ``execution_time``."""
        result = SchedulerResult._empty()
        execution_time, elapsed_time, raise_exception, return_value = result
        names = self._specs
        # Records compare by (execution_time, sequence), and sequences are unique.
        for record, key in sorted(zip(self._records.values(), self._records.keys(), strict=True)):
            name = names[key].name
            execution_time[name] = timestamp_to_datetime(record.execution_time)
            if record.elapsed is not None:
                elapsed_time[name] = record.elapsed
            if record.error is not None:
                raise_exception[name] = record.error
            elif record.value is not None:
                return_value[name] = record.value.live()
        result._run = record_run(
            began=self._began,
            ended=self._ended,
            processes=self._capacity[0],
            threads=self._capacity[1],
            graph=self._graph,
            records=self._records,
        )
        return result


def check_backend_options(
    backend: str, address: str | None, client: Any, processes: int | None
) -> dict[str, Any]:
    """Check ``backend=`` and its options (``scheduler`` and ``task_scheduler`` alike).

    Returns what :func:`run_graph` needs of them (the dask options; nothing for the others).
    """
    if backend not in BACKENDS:
        raise InvalidOptionError(
            f"backend={backend!r} is not known; choose one of {', '.join(map(repr, BACKENDS))}"
        )
    if backend == "dask":
        from .backends import dask_options

        return dask_options(address, client, processes)
    if address is not None or client is not None:
        raise InvalidOptionError('address= and client= are options of backend="dask"')
    return {}


def check_slots(name: str, value: int | None) -> int:
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
    if name == "dask":
        from .backends.dask import make_backend as make_dask_backend

        return make_dask_backend(graph, processes, threads, options)
    raise InvalidOptionError(f"backend={name!r} is not known")


def run_graph(
    graph: Graph,
    *,
    processes: int,
    threads: int,
    backend: str = "local",
    on_event: EventCallback | None = None,
    timeout: float | None = None,
    **backend_options: Any,
) -> SchedulerResult:
    """Run a recorded graph to the end and return its result (the classic API calls this too).

    ``timeout`` bounds the whole run: past it, running tasks are stopped, the rest cancelled, and
    ``TaskTimeoutError`` raised (the result is filled all the same).
    """
    with fallback_handler(), sigterm_raises():
        # Inside the fallback handler: workers take the logger's level for the run from here.
        engine, capacity = make_backend(backend, graph, processes, threads, backend_options)
        run = _Run(graph, capacity, engine, on_event)
        try:
            run.execute(timeout)
        finally:
            graph.result = run.result()
        run.finished(graph.result)
    return graph.result


class scheduler:  # noqa: N801 - used as a function: `with scheduler(...) as result`
    """Record task calls in a ``with`` block; run them all when the block exits.

    ``with scheduler(processes=2, threads=2) as result:`` binds a ``SchedulerResult`` that is
    empty inside the block and filled when it exits.  At most ``processes`` process slots and
    ``threads`` thread slots are in use at once (default: the CPU count for each).

    ``timeout`` bounds the whole run in seconds: past it, running tasks are stopped, the rest are
    cancelled, and the block raises ``TaskTimeoutError`` (the result is filled all the same).

    ``on_event`` is called with each :mod:`parallelism.events` event, in the caller's thread.
    ``progress=True`` shows a live bar on stderr when it is a terminal; ``progress="log"`` also
    writes one line per 10% of the tasks when it is not (:mod:`parallelism.observe.progress`).

    ``backend="inline"`` runs every task in the caller's thread, one at a time, with the same
    semantics (for pdb and profilers).  ``start_method`` chooses how worker processes start
    (default: :func:`default_start_method`).

    ``backend="dask"`` runs process tasks on a dask.distributed cluster (``pip install
    "parallelism[dask]"``): a ``LocalCluster`` of ``processes`` workers started for the run, or an
    existing cluster at ``address=`` or behind ``client=``, which is left running (docs/dask.md).

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
        progress: ProgressOption = False,
        timeout: float | None = None,
        address: str | None = None,
        client: Any = None,
    ) -> None:
        self._processes = check_slots("processes", processes)
        self._threads = check_slots("threads", threads)
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
        check_timeout(timeout)
        self._dask_options = check_backend_options(backend, address, client, processes)
        self._backend = backend
        self._start_method = start_method
        self._on_event = on_event
        self._progress = check_progress(progress)
        self._timeout = timeout
        self._graph: Graph | None = None
        self._token: Any = None
        self._paused_gc = False
        self._result = SchedulerResult._empty()

    def __enter__(self) -> SchedulerResult:
        if self._graph is not None:
            raise RuntimeError("a scheduler(...) block can be entered only once; make a new one")
        self._graph = Graph()
        self._token = ACTIVE_GRAPH.set(self._graph)
        # Recording makes a few long-lived objects per call; the cyclic collector, triggered by
        # them, would rescan the whole heap now and then (a 10,000-call chain: 4.7 us per call,
        # 7.8 when a full collection lands in the block).  It is paused while the block records
        # and resumed when the block exits, if it was running; for the run, what the heap held
        # then is frozen (``gc.freeze``), so the collections the run triggers scan only what it
        # makes (1,500 tasks: 1.5-2 ms of collections instead of 2.5-4, and no full collection
        # of the recorded graph), unless the application froze objects itself.
        self._paused_gc = gc.isenabled()
        if self._paused_gc:
            gc.disable()
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
        frozen = False  # gc.unfreeze() would also thaw what the application froze: only ours
        if self._paused_gc:
            frozen = exc_type is None and gc.get_freeze_count() == 0
            if frozen:
                gc.freeze()
            gc.enable()
        if exc_type is not None:
            graph.phase = "abandoned"
            return
        try:
            with showing(self._progress, graph):
                run_graph(
                    graph,
                    processes=self._processes,
                    threads=self._threads,
                    backend=self._backend,
                    on_event=self._on_event,
                    timeout=self._timeout,
                    start_method=self._start_method,
                    **self._dask_options,
                )
        finally:
            if frozen:
                gc.unfreeze()
            if graph.result is not None:
                self._result._fill(graph.result)
