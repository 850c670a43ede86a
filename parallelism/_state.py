"""Run state and its pure transitions: ready, admit, finish, cancel. No I/O, no processes, no threads.

The scheduler loop (``_scheduler.py``) owns one :class:`RunState` and moves it only through the
functions here, so every rule of a run can be tested with plain data (``tests/test_state.py``).

Lifecycle (an illegal move raises :class:`InvalidTransitionError`)::

    PENDING --deps done--> READY --admitted--> RUNNING --> SUCCEEDED | FAILED
       |                     |                    |
       +------> CANCELLED <--+--------------------+  (RUNNING -> CANCELLED: interrupts, and
       |                                          |   a chained task whose input failed)
       +------chained--------> RUNNING (ahead)    +--retry--> READY
       ^                              |
       +----unchained (its worker died before its input ran)

Tasks are identified by their index in the graph (``key``).  A task's *need* is the pair of process
and thread slots it occupies while running: ``(1 + p, t)`` for a process task, ``(p, 1 + t)`` for a
thread task that reserved ``p`` processes and ``t`` threads.  Ready tasks wait in one heap per
distinct need, ordered by ``(priority, key)``; admission repeatedly takes the smallest head among the
heaps whose need fits the free slots, so a later small task may start while an earlier large one
waits for room, and the scan costs O(number of distinct needs), not O(ready tasks).
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

from ._errors import InvalidTransitionError

__all__ = [
    "Cancellation",
    "Need",
    "RunState",
    "TaskState",
    "admit",
    "cancel_unfittable",
    "chain",
    "finish",
    "hand_ahead",
    "new_run_state",
    "requeue",
    "retry",
    "start_ahead",
    "unchain",
]


class TaskState(enum.Enum):
    """Where a task is in its lifecycle."""

    PENDING = "pending"
    READY = "ready"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """SUCCEEDED, FAILED or CANCELLED: the task has its one outcome."""
        return self in _FINISHED


# Tuples, not sets: membership then compares by identity, where a set would call the Enum's
# Python-level __hash__ (this check runs three times for every task of a run).
_FINISHED = (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)
_ALLOWED: dict[str, tuple[TaskState, ...]] = {
    "pending": (TaskState.READY, TaskState.CANCELLED, TaskState.RUNNING),
    "ready": (TaskState.RUNNING, TaskState.CANCELLED),
    "running": (
        TaskState.SUCCEEDED,
        TaskState.FAILED,
        TaskState.READY,
        TaskState.CANCELLED,
        TaskState.PENDING,
    ),
    "succeeded": (),
    "failed": (),
    "cancelled": (),
}

Need = tuple[int, int]
"""(process slots, thread slots) a task occupies while it runs."""
Order = tuple[bool, float, int] | int
"""How ready tasks are taken: the smallest first (one type per run, see :func:`_orders`)."""


def _orders(priorities: Sequence[float | None]) -> list[Order]:
    """``(no priority, priority, key)`` per task; just the key when no task has a priority.

    The plain key orders a run without priorities the same way, and a heap of them compares
    ints instead of tuples (admission pops the heap once per task).
    """
    if all(p is None for p in priorities):
        return list(range(len(priorities)))
    return [(p is None, 0.0 if p is None else float(p), k) for k, p in enumerate(priorities)]


@dataclass(frozen=True)
class Cancellation:
    """A task cancelled because of others: ``causes`` are its failed or cancelled direct deps.

    ``at_start`` says the chain began with a task cancelled for lack of slots (logged at WARNING)
    rather than with a task that failed while running (logged at INFO), as the seed does.
    """

    key: int
    causes: tuple[int, ...]
    at_start: bool


@dataclass(eq=False)
class RunState:
    """Everything the loop knows about a run, as plain lists indexed by task key."""

    states: list[TaskState]
    needs: list[Need]
    order: list[Order]
    deps: list[tuple[int, ...]]
    dependents: list[list[int]]
    waiting: list[int]
    capacity: Need
    free_processes: int
    free_threads: int
    ready: dict[Need, list[tuple[Order, int]]]
    unfinished: int
    ahead: set[int] = field(default_factory=set)
    """RUNNING tasks handed to a busy worker ahead of time: they hold no slot until they start."""
    chained: set[int] = field(default_factory=set)
    """Tasks in ``ahead`` that were handed over before their last input finished (:func:`chain`)."""

    @property
    def done(self) -> bool:
        """Every task has its outcome."""
        return self.unfinished == 0

    @property
    def running(self) -> int:
        """How many tasks hold slots now."""
        return sum(1 for state in self.states if state is TaskState.RUNNING)


def _move(state: RunState, key: int, to: TaskState) -> None:
    current = state.states[key]
    if to not in _ALLOWED[current._value_]:
        raise InvalidTransitionError(f"task {key} cannot move from {current.name} to {to.name}")
    state.states[key] = to
    if to in _FINISHED:
        state.unfinished -= 1


def _push_ready(state: RunState, key: int) -> None:
    _move(state, key, TaskState.READY)
    heapq.heappush(state.ready.setdefault(state.needs[key], []), (state.order[key], key))


def new_run_state(
    deps: Sequence[Sequence[int]],
    needs: Sequence[Need],
    priorities: Sequence[float | None],
    capacity: Need,
) -> RunState:
    """The state before anything runs: tasks without dependencies are READY, the rest PENDING.

    ``deps[k]`` lists the direct dependencies of task ``k`` (value and ordering ones alike, each
    once, in recording order); every dependency's key must be smaller than ``k`` (a graph is
    recorded in order, so it cannot hold a cycle).
    """
    count = len(deps)
    dependents: list[list[int]] = [[] for _ in range(count)]
    waiting = [0] * count
    roots: list[int] = []
    for key, task_deps in enumerate(deps):
        if not task_deps:
            roots.append(key)
            continue
        waiting[key] = len(task_deps)
        for dep in task_deps:
            if not 0 <= dep < key:
                raise ValueError(f"task {key} depends on {dep}, which is not recorded before it")
            dependents[dep].append(key)
    order = _orders(priorities)
    states = [TaskState.PENDING] * count
    ready: dict[Need, list[tuple[Order, int]]] = {}
    for key in roots:  # READY from the start: each need's heap is built in one go
        states[key] = TaskState.READY
        ready.setdefault(needs[key], []).append((order[key], key))
    for heap in ready.values():
        heapq.heapify(heap)
    return RunState(
        states=states,
        needs=list(needs),
        order=order,
        deps=[d if type(d) is tuple else tuple(d) for d in deps],
        dependents=dependents,
        waiting=waiting,
        capacity=capacity,
        free_processes=capacity[0],
        free_threads=capacity[1],
        ready=ready,
        unfinished=count,
    )


def lack(need: Need, capacity: Need) -> Need:
    """Slots missing for ``need`` on an empty scheduler of ``capacity``: ``(0, 0)`` if it fits."""
    return (max(0, need[0] - capacity[0]), max(0, need[1] - capacity[1]))


def cancel_unfittable(state: RunState) -> list[tuple[int, Need, list[Cancellation]]]:
    """Cancel, before anything runs, every task whose need exceeds capacity, and its downstream.

    Returns, in key order, each task cancelled for lack with what it lacks and the dependents
    cancelled because of it (a dependent already cancelled by an earlier one is not repeated).
    """
    cancelled: list[tuple[int, Need, list[Cancellation]]] = []
    if all(lack(need, state.capacity) == (0, 0) for need in set(state.needs)):
        return cancelled  # the usual case, told from the few distinct needs
    for key, need in enumerate(state.needs):
        if state.states[key].finished:
            continue
        missing = lack(need, state.capacity)
        if missing != (0, 0):
            was_ready = state.states[key] is TaskState.READY
            _move(state, key, TaskState.CANCELLED)
            if was_ready:
                _remove_ready(state, key)
            cancelled.append((key, missing, _cancel_downstream(state, key, at_start=True)))
    return cancelled


def _remove_ready(state: RunState, key: int) -> None:
    heap = state.ready[state.needs[key]]
    heap.remove((state.order[key], key))
    heapq.heapify(heap)


def admit(state: RunState) -> list[int]:
    """Start every ready task that fits now, best first; return their keys (now RUNNING).

    "Best" is the smallest ``(priority, key)`` (no priority sorts after every priority); a task
    that does not fit does not block a later one that does.
    """
    started: list[int] = []
    ready = state.ready
    while True:
        best: tuple[Order, int] | None = None
        best_need: Need | None = None
        for need, heap in ready.items():
            fits = need[0] <= state.free_processes and need[1] <= state.free_threads
            if heap and fits and (best is None or heap[0] < best):
                best, best_need = heap[0], need
        if best is None or best_need is None:
            return started
        heapq.heappop(ready[best_need])
        key = best[1]
        _move(state, key, TaskState.RUNNING)
        state.free_processes -= best_need[0]
        state.free_threads -= best_need[1]
        started.append(key)


PLAIN_PROCESS: Need = (1, 0)
"""The need of a process task without reservations: one of the two kinds handed out ahead."""
PLAIN_THREAD: Need = (0, 1)
"""The need of a thread task without reservations: the other kind handed out ahead."""


def hand_ahead(state: RunState, need: Need, limit: int) -> list[int]:
    """Take up to ``limit`` ready tasks of ``need`` (a plain kind) to queue behind busy workers.

    A worker then starts its next task the moment it finishes one, instead of waiting for the
    loop to send it.  Such a task is RUNNING (it is in a worker's hands) but holds no slot until
    :func:`start_ahead`; at most one task per slot runs at any time.  Nothing is handed ahead
    while a ready task of the same kind with a larger need waits for room, so queued work never
    delays it.
    """
    heap = state.ready.get(need)
    if limit <= 0 or not heap or _larger_waiting(state, need):
        return []
    taken: list[int] = []
    while heap and len(taken) < limit:
        _, key = heapq.heappop(heap)
        _move(state, key, TaskState.RUNNING)
        state.ahead.add(key)
        taken.append(key)
    return taken


def _larger_waiting(state: RunState, need: Need) -> bool:
    """Whether a ready task of the same kind as ``need`` (a plain kind) but larger waits for room."""
    kind = 0 if need == PLAIN_PROCESS else 1
    return any(waiting and other != need and other[kind] > 0 for other, waiting in state.ready.items())


def can_chain(state: RunState, key: int, dependent: int) -> bool:
    """Whether ``dependent`` may be handed, still PENDING, to the worker that runs ``key``.

    It must be a plain process task whose only unfinished input is ``key`` (so it can start
    right after it, in the same worker); and nothing must have a better claim on the slot ``key``
    will free: no ready plain process task that comes before it and no larger process task
    waiting for room.
    """
    if state.states[dependent] is not TaskState.PENDING or state.waiting[dependent] != 1:
        return False
    if state.needs[dependent] != PLAIN_PROCESS or _larger_waiting(state, PLAIN_PROCESS):
        return False
    heap = state.ready.get(PLAIN_PROCESS)
    return not heap or (state.order[dependent], dependent) < heap[0]


def chain(state: RunState, key: int) -> None:
    """Hand a PENDING task to the worker of its last unfinished input, to run right after it.

    Like a task handed ahead it is RUNNING and holds no slot until :func:`start_ahead`; if that
    input fails, :func:`finish` cancels it with the rest of the downstream.
    """
    _move(state, key, TaskState.RUNNING)
    state.ahead.add(key)
    state.chained.add(key)


def start_ahead(state: RunState, key: int) -> None:
    """A task handed ahead has started (its worker finished the one before): it takes its slot."""
    state.ahead.remove(key)
    state.chained.discard(key)
    need = state.needs[key]
    state.free_processes -= need[0]
    state.free_threads -= need[1]
    if state.free_processes < 0 or state.free_threads < 0:
        raise InvalidTransitionError(f"task {key} started ahead without a free slot")


def requeue(state: RunState, key: int) -> None:
    """A task handed ahead never started (its worker died first): it is ready again."""
    state.ahead.remove(key)
    _push_ready(state, key)


def unchain(state: RunState, key: int) -> None:
    """A chained task's worker died before its input ran (the input is requeued): PENDING again."""
    state.ahead.remove(key)
    state.chained.remove(key)
    _move(state, key, TaskState.PENDING)


def _release(state: RunState, key: int) -> None:
    if key in state.ahead:  # it ended before it started (e.g. its input could not be sent)
        state.ahead.remove(key)
        state.chained.discard(key)
        return
    need = state.needs[key]
    state.free_processes += need[0]
    state.free_threads += need[1]


def finish(state: RunState, key: int, succeeded: bool) -> tuple[list[int], list[Cancellation]]:
    """A running task ended: free its slots, then make dependents READY or cancel downstream.

    Returns the keys that became READY (in key order) and the cancellations it caused.
    """
    _move(state, key, TaskState.SUCCEEDED if succeeded else TaskState.FAILED)
    _release(state, key)
    if not succeeded:
        return [], _cancel_downstream(state, key, at_start=False)
    newly_ready: list[int] = []
    for dependent in state.dependents[key]:
        if state.states[dependent] is not TaskState.PENDING:
            continue
        state.waiting[dependent] -= 1
        if state.waiting[dependent] == 0:
            _push_ready(state, dependent)
            newly_ready.append(dependent)
    return newly_ready, []


def retry(state: RunState, key: int) -> None:
    """A running task failed but will run again: free its slots and put it back among the ready."""
    _release(state, key)
    _push_ready(state, key)


def cancel_pending(state: RunState) -> list[int]:
    """Cancel every task that has not started (an interrupt): returns their keys, in key order."""
    cancelled: list[int] = []
    for key, current in enumerate(state.states):
        if current in (TaskState.PENDING, TaskState.READY):
            _move(state, key, TaskState.CANCELLED)
            cancelled.append(key)
    state.ready.clear()
    return cancelled


def abandon_running(state: RunState) -> list[int]:
    """Mark every running task CANCELLED (an interrupt stopped its worker): returns their keys."""
    stopped = [key for key, current in enumerate(state.states) if current is TaskState.RUNNING]
    for key in stopped:
        _move(state, key, TaskState.CANCELLED)
        _release(state, key)
    return stopped


def _cancel_downstream(state: RunState, root: int, *, at_start: bool) -> list[Cancellation]:
    """Cancel every not-yet-finished task downstream of ``root`` (depth first, in key order)."""
    cancelled: list[Cancellation] = []
    stack = [root]
    while stack:
        cause = stack.pop()
        newly: list[int] = []
        for dependent in state.dependents[cause]:
            if state.states[dependent] is not TaskState.PENDING:
                if dependent not in state.chained:
                    continue
                # Chained behind the failed task: its worker skips it; it never holds a slot.
                state.ahead.remove(dependent)
                state.chained.remove(dependent)
            failed_deps = tuple(
                dep
                for dep in state.deps[dependent]
                if state.states[dep] in (TaskState.FAILED, TaskState.CANCELLED)
            )
            _move(state, dependent, TaskState.CANCELLED)
            cancelled.append(Cancellation(dependent, failed_deps, at_start))
            newly.append(dependent)
        stack.extend(reversed(newly))
    return cancelled
