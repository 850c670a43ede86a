"""What a run did, task by task: the record the trace, the HTML page and the summary are drawn from.

A :class:`RunRecord` holds one :class:`TaskRecord` per task of the run (in ``execution_time``
order, as the ``SchedulerResult`` dicts are) plus when the run began and ended and its capacity.
Two things make one:

* :func:`record_run`, which the scheduler calls once when a run ends, from the records its loop
  keeps anyway for the four dicts.  It copies three small lists out of the graph and keeps a
  reference to the loop's records; the :class:`TaskRecord` objects are made only when somebody
  asks (``result.summary()``, ``result.to_chrome_trace(...)``...).  So observing costs a run
  nothing per task: building the same record from events in every run would cost a few
  microseconds a task, 5 to 10% of a run of tiny thread tasks (``benchmarks/progress_overhead.py``).
* :class:`Collector`, an ``on_event`` listener that builds the same record from the events of
  :mod:`parallelism.events` (with the worker's PID and TID, which the loop's records lack).  It is
  how your own monitoring can get what the built-in outputs get, for example to write a trace of
  a run of the classic API or to draw a part of a run that is still going.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .. import events
from .._state import TaskState

if TYPE_CHECKING:
    from .._graph import Graph
    from .graph import TaskGraph

__all__ = ["Collector", "RunRecord", "TaskRecord", "record_run"]


@dataclass(frozen=True)
class TaskRecord:
    """One task's outcome and times.

    ``state`` is SUCCEEDED, FAILED or CANCELLED.  ``started`` is the wall-clock time
    (``time.time()``) at which the target was about to be called in its worker, or at which the task
    was cancelled; ``elapsed`` is the seconds around the call, ``None`` for a task that never ran.
    ``error`` is the exception it raised or the one that cancelled it.  ``pid`` and ``tid`` name the
    worker when known (records made by a :class:`Collector`).
    """

    name: str
    kind: str
    state: TaskState
    started: float
    elapsed: float | None
    error: BaseException | None
    pid: int | None = None
    tid: int | None = None

    @property
    def ran(self) -> bool:
        """The task was called (it succeeded or failed); a cancelled task never ran."""
        return self.elapsed is not None


class RunRecord:
    """One run: its tasks (``tasks``, by execution time), its times and its capacity.

    ``began`` and ``ended`` are wall-clock times; ``graph`` is the recorded graph when known
    (records made by a :class:`Collector` have none, since events do not carry dependencies).
    """

    __slots__ = ("_graph", "_load", "_load_graph", "_tasks", "began", "ended", "processes", "threads")

    def __init__(
        self,
        *,
        began: float,
        ended: float,
        processes: int,
        threads: int,
        tasks: Sequence[TaskRecord] | Callable[[], list[TaskRecord]],
        graph: TaskGraph | Callable[[RunRecord], TaskGraph] | None = None,
    ) -> None:
        self.began = began
        self.ended = ended
        self.processes = processes
        self.threads = threads
        self._tasks: tuple[TaskRecord, ...] | None = None
        self._load: Callable[[], list[TaskRecord]] | None = None
        if callable(tasks):
            self._load = tasks
        else:
            self._tasks = tuple(tasks)
        self._graph: TaskGraph | None = None
        self._load_graph: Callable[[RunRecord], TaskGraph] | None = None
        if callable(graph):
            self._load_graph = graph
        else:
            self._graph = graph

    @property
    def tasks(self) -> tuple[TaskRecord, ...]:
        """Every task of the run, in execution order (as the ``SchedulerResult`` dicts)."""
        if self._tasks is None:
            assert self._load is not None
            self._tasks = tuple(self._load())
            self._load = None
        return self._tasks

    @property
    def graph(self) -> TaskGraph | None:
        """The recorded graph, nodes coloured by this run's outcomes; ``None`` when not known."""
        if self._load_graph is not None:
            self._graph = self._load_graph(self)
            self._load_graph = None
        return self._graph

    @property
    def wall(self) -> float:
        """Seconds from the run's start to its end."""
        return max(0.0, self.ended - self.began)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles (and copies) as plain data: the lazy parts are made first."""
        return (
            _rebuild,
            ((self.began, self.ended), (self.processes, self.threads), self.tasks, self.graph),
        )

    def __repr__(self) -> str:
        count = len(self._tasks) if self._tasks is not None else "?"
        return (
            f"<RunRecord of {count} tasks, {self.wall:.3f} s on {self.processes} processes "
            f"and {self.threads} threads>"
        )


def _rebuild(
    times: tuple[float, float],
    capacity: tuple[int, int],
    tasks: tuple[TaskRecord, ...],
    graph: TaskGraph | None,
) -> RunRecord:
    return RunRecord(
        began=times[0], ended=times[1], processes=capacity[0], threads=capacity[1], tasks=tasks, graph=graph
    )


# --- from the loop's own records ------------------------------------------------------------------


class _LoopError(Protocol):
    @property
    def exception(self) -> BaseException: ...


class LoopRecord(Protocol):
    """What the scheduler loop keeps of each task (``_scheduler._Record``), as read here."""

    @property
    def execution_time(self) -> float: ...
    @property
    def sequence(self) -> int: ...
    @property
    def elapsed(self) -> float | None: ...
    @property
    def error(self) -> _LoopError | None: ...


def record_run(
    *,
    began: float,
    ended: float,
    processes: int,
    threads: int,
    graph: Graph,
    records: Mapping[int, LoopRecord],
) -> RunRecord:
    """The record of a run that just ended, from the loop's records (``key -> record``).

    Cheap at the end of a run: the names, kinds and dependencies are copied out of the graph (not
    the graph itself, whose specs hold every task's arguments) and the rest is made on demand.
    """
    specs = graph.specs
    names = [spec.name for spec in specs]
    kinds = [spec.kind for spec in specs]
    deps = [spec.deps for spec in specs]
    order_edges = frozenset(graph.order_edges)
    externals = {key: _external_state(deferred) for key, deferred in graph.externals.items()}

    def load() -> list[TaskRecord]:
        ordered = sorted(records.items(), key=lambda item: (item[1].execution_time, item[1].sequence))
        tasks: list[TaskRecord] = []
        for key, record in ordered:
            error = None if record.error is None else record.error.exception
            if record.elapsed is None:
                state = TaskState.CANCELLED
            elif error is None:
                state = TaskState.SUCCEEDED
            else:
                state = TaskState.FAILED
            tasks.append(
                TaskRecord(
                    names[key], kinds[key]._value_, state, record.execution_time, record.elapsed, error
                )
            )
        return tasks

    def make_graph(run: RunRecord) -> TaskGraph:
        from .graph import TaskGraph

        states: dict[str, TaskState] = {task.name: task.state for task in run.tasks}
        return TaskGraph._from_run(
            names=names,
            kinds=[kind._value_ for kind in kinds],
            deps=deps,
            order_edges=order_edges,
            states=states,
            externals=externals,
        )

    return RunRecord(
        began=began, ended=ended, processes=processes, threads=threads, tasks=load, graph=make_graph
    )


def _external_state(deferred: Any) -> TaskState | None:
    outcome = getattr(deferred, "_outcome", None)
    return None if outcome is None else outcome.state


# --- from events ----------------------------------------------------------------------------------


class Collector:
    """An ``on_event`` listener that records a run; ``collector.record`` is its :class:`RunRecord`.

    ::

        collector = Collector()
        with scheduler(on_event=collector) as result:
            ...
        write_chrome_trace(collector.record, "run.json")

    The record can be read at any time, also while the run goes on (then ``ended`` is the time of
    the last event).  One collector records one run; a new ``RunStarted`` starts afresh.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._began = 0.0
        self._ended: float | None = None
        self._last = 0.0
        self._capacity = (0, 0)
        self._tasks: list[tuple[float, int, TaskRecord]] = []

    def __call__(self, event: events.Event) -> None:
        if type(event) is events.TaskFinished:
            task = TaskRecord(
                event.name,
                event.kind,
                event.state,
                event.started,
                event.elapsed,
                event.error,
                event.pid,
                event.tid,
            )
            self._tasks.append((event.started, len(self._tasks), task))
        elif type(event) is events.TaskCancelled:
            task = TaskRecord(event.name, event.kind, TaskState.CANCELLED, event.time, None, event.error)
            self._tasks.append((event.time, len(self._tasks), task))
        elif type(event) is events.RunStarted:
            self._reset()
            self._began = event.time
            self._capacity = (event.processes, event.threads)
        elif type(event) is events.RunFinished:
            self._ended = event.time
        self._last = max(self._last, event.time)

    @property
    def record(self) -> RunRecord:
        """What has been recorded so far."""
        tasks = [task for _, _, task in sorted(self._tasks, key=lambda item: item[:2])]
        return RunRecord(
            began=self._began,
            ended=self._last if self._ended is None else self._ended,
            processes=self._capacity[0],
            threads=self._capacity[1],
            tasks=tasks,
        )
