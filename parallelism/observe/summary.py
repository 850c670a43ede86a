"""A run in a few lines: counts by outcome, wall and critical-path time, slowest tasks, failures.

The *failures* of a run are the tasks that FAILED and those cancelled with ``WorkerError`` (they
could never run here).  A cancellation by ``DependencyError`` is a consequence of a failure, and one
by an interrupt is the interrupt's, so neither counts.  :func:`raise_for_failures` raises them;
:func:`summarize` lists them.

The *critical path* is the dependency chain with the largest sum of elapsed times: no schedule on
any number of slots can finish the run faster than that.  Wall time far above it means the run
waited for slots (or paid overhead); close to it means more slots would not help.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._errors import DependencyError, WorkerError
from .._state import TaskState
from .collector import RunRecord, TaskRecord

if TYPE_CHECKING:
    from .._result import SchedulerResult

__all__ = [
    "Summary",
    "critical_path",
    "format_seconds",
    "is_failure",
    "raise_for_failures",
    "summarize",
]

SLOWEST = 5
_EXCEPTION_GROUPS = sys.version_info >= (3, 11)
"""Whether ``BaseExceptionGroup`` exists (3.11+); a flag so the 3.10 behaviour can be tested too."""


def is_failure(ran: bool, error: BaseException | None) -> bool:
    """A task that raised, or one cancelled because no slot could ever fit it."""
    return error is not None and (ran or isinstance(error, WorkerError))


def format_seconds(seconds: float) -> str:
    """``850 us``, ``12.3 ms``, ``4.56 s``, ``2:03`` (minutes), ``1:02:03`` (hours)."""
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 100:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def critical_path(record: RunRecord) -> tuple[tuple[str, ...], float] | None:
    """The chain of tasks with the largest sum of elapsed times, and that sum.

    ``None`` when the record has no graph (one made by a ``Collector``).  Tasks that did not run
    weigh nothing; the chain starts and ends with tasks that ran (it is empty if none did).
    """
    graph = record.graph
    if graph is None:
        return None
    elapsed = {task.name: task.elapsed or 0.0 for task in record.tasks}
    nodes = graph.nodes
    weight = [0.0 if node.kind == "external" else elapsed.get(node.name, 0.0) for node in nodes]
    predecessors: list[list[int]] = [[] for _ in nodes]
    successors: list[list[int]] = [[] for _ in nodes]
    waiting = [0] * len(nodes)
    for edge in graph.edges:
        predecessors[edge.target].append(edge.source)
        successors[edge.source].append(edge.target)
        waiting[edge.target] += 1
    order = [key for key in range(len(nodes)) if waiting[key] == 0]
    for key in order:  # Kahn's topological order; `order` grows while it is walked
        for after in successors[key]:
            waiting[after] -= 1
            if waiting[after] == 0:
                order.append(after)
    best = [0.0] * len(nodes)
    via = [-1] * len(nodes)
    for key in order:
        longest = 0.0
        for before in predecessors[key]:
            if best[before] > longest:
                longest, via[key] = best[before], before
        best[key] = longest + weight[key]
    if not nodes or max(best) <= 0.0:
        return (), 0.0
    end = max(range(len(nodes)), key=lambda key: (best[key], -key))
    while weight[end] == 0.0:  # a task that did not run adds nothing at the end of the chain
        end = via[end]
    path: list[str] = []
    key = end
    while key != -1:
        path.append(nodes[key].name)
        key = via[key]
    return tuple(reversed(path)), best[end]


@dataclass(frozen=True)
class Summary:
    """What :func:`summarize` finds; ``str(summary)`` is the table ``result.summary()`` prints."""

    processes: int
    threads: int
    total: int
    succeeded: int
    failed: int
    cancelled: int
    wall: float
    critical_path: tuple[str, ...] | None
    critical_time: float | None
    slowest: tuple[TaskRecord, ...]
    failures: tuple[TaskRecord, ...]
    consequences: int
    """Tasks cancelled because a dependency failed or was cancelled."""

    def __str__(self) -> str:
        return format_summary(self)


def summarize(record: RunRecord, slowest: int = SLOWEST) -> Summary:
    """Count the outcomes of a run, find its critical path, its slowest tasks and its failures."""
    tasks = record.tasks
    counts = dict.fromkeys(TaskState, 0)
    for task in tasks:
        counts[task.state] += 1
    ran = sorted((task for task in tasks if task.ran), key=lambda task: -(task.elapsed or 0.0))
    failures = tuple(task for task in tasks if is_failure(task.ran, task.error))
    path = critical_path(record)
    return Summary(
        processes=record.processes,
        threads=record.threads,
        total=len(tasks),
        succeeded=counts[TaskState.SUCCEEDED],
        failed=counts[TaskState.FAILED],
        cancelled=counts[TaskState.CANCELLED],
        wall=record.wall,
        critical_path=None if path is None else path[0],
        critical_time=None if path is None else path[1],
        slowest=tuple(ran[:slowest]),
        failures=failures,
        consequences=sum(
            1 for task in tasks if task.state is TaskState.CANCELLED and not is_failure(False, task.error)
        ),
    )


def error_line(error: BaseException | None) -> str:
    """``ZeroDivisionError: division by zero`` on one line."""
    if error is None:
        return ""
    if isinstance(error, WorkerError):
        message = f"{error.args[0]} (lacking {error.processes} process and {error.threads} thread slots)"
    elif isinstance(error, DependencyError):
        message = f"{error.args[0]} (because of {', '.join(error.tasks)})"
    else:
        message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        (indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]


def format_summary(summary: Summary) -> str:
    """The summary as an aligned plain-text table."""
    lines = [
        f"parallelism run: {summary.total} tasks on {summary.processes} process slots and "
        f"{summary.threads} thread slots"
    ]
    if summary.critical_time is None:
        critical = "unknown (no graph)"
    else:
        chain = " -> ".join(summary.critical_path or ()) or "-"
        critical = f"{format_seconds(summary.critical_time)}  ({chain})"
    lines += _table([["wall time", format_seconds(summary.wall)], ["critical path", critical]])
    lines.append("outcomes")
    lines += _table(
        [
            ["succeeded", str(summary.succeeded)],
            ["failed", str(summary.failed)],
            ["cancelled", str(summary.cancelled)],
            ["total", str(summary.total)],
        ]
    )
    if summary.slowest:
        lines.append(f"slowest {len(summary.slowest)} tasks")
        rows = [["task", "kind", "elapsed", "outcome"]]
        rows += [
            [task.name, task.kind, format_seconds(task.elapsed or 0.0), task.state.value]
            for task in summary.slowest
        ]
        lines += _table(rows)
    if summary.failures:
        lines.append(f"failures ({len(summary.failures)})")
        lines += _table([[task.name, error_line(task.error)] for task in summary.failures])
    if summary.consequences:
        lines.append(
            f"{summary.consequences} more cancelled as a consequence (a dependency failed or was cancelled)"
        )
    return "\n".join(lines)


def raise_for_failures(result: SchedulerResult) -> None:
    """Raise the run's failures: nothing if none, the exception itself if one, else a group.

    Several failures raise a ``BaseExceptionGroup`` (an ``ExceptionGroup`` when all are
    ``Exception``s) of them in ``execution_time`` order, its message naming them.  Python 3.10 has
    no exception groups: there the first failure is raised with a note naming the others (in
    ``__notes__``, as ``add_note`` does on 3.11+; 3.10's own traceback does not print notes, the
    ``exceptiongroup`` backport's does).
    """
    found = [
        (name, raised.exception)
        for name, raised in result.raise_exception.items()
        if is_failure(name in result.elapsed_time, raised.exception)
    ]
    if not found:
        return
    if len(found) == 1:
        raise found[0][1]
    names = [name for name, _ in found]
    errors = [error for _, error in found]
    if _EXCEPTION_GROUPS and sys.version_info >= (3, 11):
        raise BaseExceptionGroup(f"{len(found)} tasks failed: {', '.join(names)}", errors)  # noqa: F821
    first = errors[0]
    _add_note(first, f"{len(found) - 1} other tasks failed too: {', '.join(names[1:])}")
    raise first


def _add_note(error: BaseException, note: str) -> None:
    """``error.add_note(note)``, also on 3.10 (where it sets ``__notes__`` by hand), only once."""
    notes = getattr(error, "__notes__", None)
    if isinstance(notes, list) and note in notes:
        return
    if sys.version_info >= (3, 11):
        error.add_note(note)
        return
    if not isinstance(notes, list):
        notes = []
        error.__notes__ = notes  # type: ignore[attr-defined]
    notes.append(note)
