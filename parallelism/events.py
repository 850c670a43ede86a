"""Events of a run, for progress bars, traces and your own monitoring.

``scheduler(..., on_event=callback)`` calls ``callback(event)`` in the caller's thread (the loop's),
in order: :class:`RunStarted` first, before any cancellation at start or any task; a task's
:class:`TaskStarted` after the :class:`TaskFinished` of each of its dependencies;
:class:`RunFinished` last.  A callback that raises is logged once at ERROR and not called again in
that run; the run goes on.  Times are ``time.time()`` wall-clock seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from ._state import TaskState

if TYPE_CHECKING:
    from ._result import SchedulerResult

__all__ = [
    "Event",
    "RunFinished",
    "RunStarted",
    "TaskCancelled",
    "TaskFinished",
    "TaskRetried",
    "TaskStarted",
]


@dataclass(frozen=True)
class RunStarted:
    """The block's run begins: ``total`` tasks, on ``processes`` and ``threads`` slots."""

    total: int
    processes: int
    threads: int
    time: float


@dataclass(frozen=True)
class TaskStarted:
    """A task was admitted and handed to a worker (``kind`` is ``"process"`` or ``"thread"``)."""

    name: str
    kind: str
    time: float


@dataclass(frozen=True)
class TaskFinished:
    """A task ran to its end: ``state`` is SUCCEEDED or FAILED (then ``error`` is set).

    ``started`` is when the target was about to be called in its worker and ``elapsed`` the
    seconds around the call; ``pid`` and ``tid`` say which worker ran it.
    """

    name: str
    kind: str
    state: TaskState
    error: BaseException | None
    started: float
    elapsed: float
    pid: int
    tid: int
    time: float


@dataclass(frozen=True)
class TaskCancelled:
    """A task will not run: ``error`` is the WorkerError, DependencyError or interrupt error."""

    name: str
    kind: str
    error: BaseException
    time: float


@dataclass(frozen=True)
class TaskRetried:
    """A task failed and runs again: ``attempt`` is the attempt that is about to start (2, 3...)."""

    name: str
    kind: str
    attempt: int
    error: BaseException
    time: float


@dataclass(frozen=True)
class RunFinished:
    """The run ended; ``result`` is the filled ``SchedulerResult``."""

    result: SchedulerResult
    time: float


Event = Union[RunStarted, TaskStarted, TaskFinished, TaskCancelled, TaskRetried, RunFinished]  # noqa: UP007
"""Any of the events above."""
