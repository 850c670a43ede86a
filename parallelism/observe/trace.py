"""The timeline of a run: lanes, and the Trace Event Format JSON that Perfetto and chrome://tracing open.

Lanes.  A run has one lane per slot: ``processes`` process lanes and ``threads`` thread lanes.  Each
task that ran is put on a free lane of its kind when it starts (the lowest-numbered one whose
previous task has ended), so slices on one lane never overlap, and a task that reserved extra slots
still draws a single slice.  That always fits: the loop never runs more tasks of a kind than it
has slots of that kind, and each slice (the call as the worker timed it) lies inside the time the
loop held the task's slots.  Should a clock step ever make two slices collide, the later one is
drawn from the end of the earlier one rather than on top of it.

Trace.  :func:`chrome_trace` builds ``{"traceEvents": [...]}`` with timestamps in microseconds from
the run's start: two lane groups (trace "processes") named ``processes`` and ``threads``, one lane
(trace "thread") per slot, a complete event (``"ph": "X"``) per task that ran, named exactly after
the task, with its state, duration and error in ``args``, and the cancelled tasks as instant events
on a lane of their own (group ``cancelled``).
"""

from __future__ import annotations

import heapq
import json
import os
from dataclasses import dataclass
from typing import Any

from .._state import TaskState
from .collector import RunRecord, TaskRecord

__all__ = ["Lane", "Slice", "chrome_trace", "lanes", "write_chrome_trace"]

_GROUPS = (("process", "processes"), ("thread", "threads"))
_CANCELLED_PID = 3


@dataclass(frozen=True)
class Slice:
    """A task that ran, where it is drawn: ``start`` and ``end`` in seconds from the run's start."""

    task: TaskRecord
    start: float
    end: float


@dataclass(frozen=True)
class Lane:
    """One slot's lane: ``kind`` (``process`` or ``thread``), its number (from 1) and its slices."""

    kind: str
    number: int
    slices: tuple[Slice, ...]

    @property
    def label(self) -> str:
        return f"{self.kind} slot {self.number}"


def lanes(record: RunRecord) -> list[Lane]:
    """The process lanes, then the thread lanes, of a run; every task that ran is on exactly one."""
    result: list[Lane] = []
    for kind, _ in _GROUPS:
        capacity = record.processes if kind == "process" else record.threads
        ran = [task for task in record.tasks if task.ran and task.kind == kind]
        result.extend(_assign(kind, capacity, ran, record.began))
    return result


def _assign(kind: str, capacity: int, tasks: list[TaskRecord], began: float) -> list[Lane]:
    """Interval partitioning: by start time, each task to the lowest free lane of ``capacity``."""
    timed = sorted((max(0.0, task.started - began), index, task) for index, task in enumerate(tasks))
    count = max(capacity, 1 if timed else 0)
    slices: list[list[Slice]] = [[] for _ in range(count)]
    free = list(range(count))  # lanes whose last slice has ended, lowest first
    busy: list[tuple[float, int]] = []  # (end, lane) of lanes still drawing a slice
    for began_at, _, task in timed:
        while busy and busy[0][0] <= began_at:
            heapq.heappush(free, heapq.heappop(busy)[1])
        start = began_at
        if free:
            lane = heapq.heappop(free)
        else:  # more overlapping slices than slots: only a clock step can do that
            start, lane = heapq.heappop(busy)
        assert task.elapsed is not None
        end = max(start, began_at + task.elapsed)
        slices[lane].append(Slice(task, start, end))
        heapq.heappush(busy, (end, lane))
    return [Lane(kind, number + 1, tuple(lane)) for number, lane in enumerate(slices)]


def _error_text(error: BaseException | None) -> str | None:
    if error is None:
        return None
    return f"{type(error).__name__}: {error}"


def _microseconds(seconds: float) -> int:
    return round(seconds * 1_000_000)


def chrome_trace(record: RunRecord) -> dict[str, Any]:
    """The Trace Event Format document of a run (timestamps in microseconds from its start)."""
    trace: list[dict[str, Any]] = []
    all_lanes = lanes(record)
    for pid, (kind, group) in enumerate(_GROUPS, start=1):
        trace.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": group}})
        trace.append(
            {"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": pid}}
        )
        for lane in all_lanes:
            if lane.kind != kind:
                continue
            tid = lane.number
            trace.append(
                {"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": lane.label}}
            )
            trace.append(
                {"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid, "args": {"sort_index": tid}}
            )
            previous_end = 0
            for piece in lane.slices:
                task = piece.task
                start = max(_microseconds(piece.start), previous_end)
                end = max(start, _microseconds(piece.end))
                previous_end = end
                args: dict[str, Any] = {
                    "state": task.state.value,
                    "duration_s": task.elapsed,
                    "error": _error_text(task.error),
                }
                if task.pid is not None:
                    args["worker_pid"] = task.pid
                    args["worker_tid"] = task.tid
                trace.append(
                    {
                        "ph": "X",
                        "name": task.name,
                        "cat": kind,
                        "ts": start,
                        "dur": end - start,
                        "pid": pid,
                        "tid": tid,
                        "args": args,
                    }
                )
    cancelled = [task for task in record.tasks if task.state is TaskState.CANCELLED]
    if cancelled:
        pid = _CANCELLED_PID
        trace.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": "cancelled"}})
        trace.append(
            {"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": pid}}
        )
        trace.append(
            {"ph": "M", "name": "thread_name", "pid": pid, "tid": 1, "args": {"name": "cancelled tasks"}}
        )
        for task in cancelled:
            trace.append(
                {
                    "ph": "i",
                    "s": "t",
                    "name": task.name,
                    "cat": task.kind,
                    "ts": _microseconds(max(0.0, task.started - record.began)),
                    "pid": pid,
                    "tid": 1,
                    "args": {"state": task.state.value, "kind": task.kind, "error": _error_text(task.error)},
                }
            )
    return {
        "traceEvents": trace,
        "displayTimeUnit": "ms",
        "otherData": {
            "producer": "parallelism",
            "processes": record.processes,
            "threads": record.threads,
            "wall_s": record.wall,
        },
    }


def write_chrome_trace(record: RunRecord, path: str | os.PathLike[str]) -> None:
    """Write :func:`chrome_trace` as JSON to ``path`` (open it in Perfetto or chrome://tracing)."""
    with open(path, "w", encoding="utf-8") as file:
        json.dump(chrome_trace(record), file, ensure_ascii=False, separators=(",", ":"))
        file.write("\n")
