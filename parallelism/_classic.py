"""The classic API of the original package: ``scheduled_task`` and ``task_scheduler``.

It is a second front door to the same engine, not a second scheduler.  A ``scheduled_task`` is a
plain description (kind, name, target, arguments, options) that belongs to no run, so one task
object can take part in several ``task_scheduler`` runs.  Each ``task_scheduler(tasks)`` call builds
a fresh :class:`~parallelism._graph.Graph`, records every task into it and hands it to
:func:`~parallelism._scheduler.run_graph`, the loop the ``with scheduler(...)`` block uses too.

``task.return_value`` is a :class:`ReturnValue`: an untyped placeholder, as in the original, that
records ``['key']``, ``.attr`` and ``(...)`` steps.  When a run is recorded, each placeholder found
in a task's arguments (also nested in list, tuple, set and dict values) becomes the engine's
``Deferred`` of that task in this run, with the steps attached; the worker replays the steps on the
value before calling the target, so a step that raises fails the dependent task, not the run.

Recording order.  The graph wants each task recorded after the tasks it depends on, but the seed
lets ``tasks`` come in any order.  Tasks are therefore recorded in a topological order that keeps
the order of ``tasks`` wherever the dependencies allow (always take the earliest task of ``tasks``
whose dependencies are recorded).  The seed's rule that ties of ``priority`` keep the order of
``tasks`` must not depend on that: the engine is given, instead of each priority, the rank of the
task by ``(no priority, priority, position in tasks)``, which orders ready tasks exactly that way.
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import multiprocessing.process
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ._deferred import Deferred, Placeholder
from ._errors import DuplicateTaskNameError, InvalidOptionError, NotCallableError
from ._graph import CallTemplate, Graph, TaskKind
from ._result import SchedulerResult
from ._scheduler import check_backend_options, check_slots, run_graph
from ._serialize import Step
from ._task import TaskOptions, resolve_function
from ._values import substitute

__all__ = ["ReturnValue", "record", "scheduled_task", "task_scheduler"]


class ReturnValue:
    """The value a ``scheduled_task`` will return, with the steps to replay on it.

    ``rv['key']``, ``rv.attr`` and ``rv(...)`` each return a new placeholder with one more step;
    passed in another task's ``args`` or ``kwargs``, a placeholder makes that task depend on this
    one and is replaced by the value (after its steps) before the target runs.  It never stands
    for the value anywhere else: it has no truth value, cannot be iterated and does not pickle.
    """

    __slots__ = ("_rv_steps", "_rv_task")

    _rv_task: scheduled_task
    _rv_steps: tuple[Step, ...]

    def __init__(self, task: scheduled_task, steps: tuple[Step, ...] = ()) -> None:
        object.__setattr__(self, "_rv_task", task)
        object.__setattr__(self, "_rv_steps", steps)

    def _step(self, step: Step) -> ReturnValue:
        substitute(step[1:], _refuse_nested, ReturnValue)
        return ReturnValue(self._rv_task, (*self._rv_steps, step))

    def __getitem__(self, key: Any) -> ReturnValue:
        return self._step(("item", key))

    def __getattr__(self, name: str) -> ReturnValue:
        # Dunder lookups are protocol probes (copy, pickle, numpy, ...), never a user's step.
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._step(("attr", name))

    def __call__(self, *args: Any, **kwargs: Any) -> ReturnValue:
        return self._step(("call", args, kwargs))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{self!r} is read-only")

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(
            f"{self!r} cannot be iterated: it is a value to come; take items with rv[0], rv[1], ..."
        )

    def __bool__(self) -> bool:
        raise TypeError(
            f"{self!r} has no truth value: it is a value to come, not the value; pass it to a task"
        )

    def __reduce__(self) -> Any:
        raise TypeError(
            f"{self!r} cannot be pickled: pass it in a task's args or kwargs (directly or inside a "
            "list, tuple, set or dict value), where it is replaced by the value"
        )

    def __copy__(self) -> ReturnValue:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ReturnValue:
        return self

    def __repr__(self) -> str:
        text = [f"<return value of {self._rv_task.name!r}"]
        for step in self._rv_steps:
            if step[0] == "item":
                text.append(f"[{step[1]!r}]")
            elif step[0] == "attr":
                text.append(f".{step[1]}")
            else:
                shown = [repr(a) for a in step[1]] + [f"{k}={v!r}" for k, v in step[2].items()]
                text.append(f"({', '.join(shown)})")
        return "".join(text) + ">"


def _refuse_nested(placeholder: ReturnValue) -> None:
    raise InvalidOptionError(
        f"{placeholder!r} cannot be used inside a step of another placeholder; only a task's "
        "args and kwargs are resolved"
    )


class scheduled_task:  # noqa: N801 - the seed's name
    """One task of the classic API: ``executor`` says where ``target(*args, **kwargs)`` runs.

    ``executor`` is ``multiprocessing.Process`` or ``threading.Thread``, or a subclass of either
    (any ``multiprocessing`` Process class, such as ``get_context("spawn").Process``, counts as a
    process).  It only chooses the kind: the class is never instantiated, the call runs in the
    library's own worker processes or threads, so a subclass's ``run()`` is not used.

    ``dependencies`` are tasks that must succeed first, without passing a value; ``priority``:
    lower starts earlier among ready tasks, ties keep the order of ``tasks``; ``processes`` and
    ``threads`` reserve slots for pools the target opens itself; ``continual=True`` keeps the value
    in ``SchedulerResult.return_value``.  The object holds no run state: it may be given to
    several ``task_scheduler`` calls.
    """

    __slots__ = (
        "_args",
        "_continual",
        "_dependencies",
        "_executor",
        "_kind",
        "_kwargs",
        "_name",
        "_priority",
        "_processes",
        "_return_value",
        "_target",
        "_threads",
    )

    def __init__(
        self,
        executor: type[Any],
        name: str,
        target: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        dependencies: tuple[scheduled_task, ...] = (),
        priority: float | None = None,
        processes: int = 0,
        threads: int = 0,
        continual: bool = False,
    ) -> None:
        self._kind = _kind_of(executor)
        if type(name) is not str or not name:
            raise InvalidOptionError(f"name must be a non-empty str, not {name!r}")
        if not callable(target):
            raise NotCallableError(f"target of {name!r} must be callable, not {type(target).__name__}")
        if not isinstance(args, tuple):
            raise InvalidOptionError(f"args of {name!r} must be a tuple, not {type(args).__name__}")
        if kwargs is None:
            kwargs = {}
        elif not isinstance(kwargs, dict):
            raise InvalidOptionError(
                f"kwargs of {name!r} must be a dict or None, not {type(kwargs).__name__}"
            )
        else:
            for key in kwargs:
                if type(key) is not str:
                    raise InvalidOptionError(f"kwargs of {name!r} must have str keys, not {key!r}")
        if not isinstance(dependencies, tuple):
            raise InvalidOptionError(
                f"dependencies of {name!r} must be a tuple of scheduled_task, "
                f"not {type(dependencies).__name__}"
            )
        for dependency in dependencies:
            if not isinstance(dependency, scheduled_task):
                raise InvalidOptionError(
                    f"dependencies of {name!r} must be scheduled_task objects, not "
                    f"{type(dependency).__name__} {dependency!r}"
                )
        # The DSL's option checks: the same rules and messages for both front doors.
        TaskOptions(processes=processes, threads=threads, continual=continual, priority=priority)
        self._executor = executor
        self._name = name
        self._target = target
        self._args = args
        self._kwargs = dict(kwargs)
        self._dependencies = dependencies
        self._priority = priority
        self._processes = processes
        self._threads = threads
        self._continual = continual
        self._return_value = ReturnValue(self)

    @property
    def executor(self) -> type[Any]:
        """The class given as executor: a Process or Thread class (or subclass)."""
        return self._executor

    @property
    def name(self) -> str:
        """The task's name, its key in every dict of the ``SchedulerResult``."""
        return self._name

    @property
    def target(self) -> Callable[..., Any]:
        """The function the task calls."""
        return self._target

    @property
    def args(self) -> tuple[Any, ...]:
        """Positional arguments; placeholders in them are replaced by values."""
        return self._args

    @property
    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments (a copy of what was given); placeholders are replaced by values."""
        return self._kwargs

    @property
    def dependencies(self) -> tuple[scheduled_task, ...]:
        """Tasks that must succeed before this one starts (no value is passed)."""
        return self._dependencies

    @property
    def priority(self) -> float | None:
        """Lower starts earlier among ready tasks; ``None`` after every prioritised task."""
        return self._priority

    @property
    def processes(self) -> int:
        """Process slots reserved for pools the target opens itself."""
        return self._processes

    @property
    def threads(self) -> int:
        """Thread slots reserved for pools the target opens itself."""
        return self._threads

    @property
    def continual(self) -> bool:
        """Whether the value is kept in ``SchedulerResult.return_value``."""
        return self._continual

    @property
    def return_value(self) -> Any:
        """A placeholder for the value, to pass to other tasks (``['key']``, ``.attr``, ``(...)``)."""
        return self._return_value

    def __repr__(self) -> str:
        return f"<scheduled_task {self._name!r} ({self._kind.value}) {_describe(self._target)}>"


def _kind_of(executor: Any) -> TaskKind:
    if isinstance(executor, type):
        is_process = issubclass(executor, multiprocessing.process.BaseProcess)
        is_thread = issubclass(executor, threading.Thread)
        if is_process != is_thread:
            return TaskKind.PROCESS if is_process else TaskKind.THREAD
    raise InvalidOptionError(
        "executor must be the class multiprocessing.Process or threading.Thread (or a subclass "
        f"of one of them), not {executor!r}"
    )


def _describe(target: Callable[..., Any]) -> str:
    return getattr(target, "__qualname__", None) or repr(target)


def task_scheduler(
    tasks: tuple[scheduled_task, ...],
    *,
    processes: int | None = None,
    threads: int | None = None,
    backend: str = "local",
    address: str | None = None,
    client: Any = None,
) -> SchedulerResult:
    """Run ``tasks`` and return their ``SchedulerResult`` once every one has finished or been cancelled.

    At most ``processes`` process slots and ``threads`` thread slots are in use at once (default:
    the CPU count for each).  ``tasks`` is a tuple of ``scheduled_task`` with unique names, in any
    order; every task a placeholder or a ``dependencies=`` entry refers to must be in it.

    ``backend``, ``address`` and ``client`` are those of ``scheduler(...)``: ``backend="inline"``
    runs every task in the caller's thread; ``backend="dask"`` runs process tasks on a
    dask.distributed cluster, one started for the run or an existing one at ``address=`` or behind
    ``client=`` (docs/dask.md).
    """
    process_slots = check_slots("processes", processes)
    thread_slots = check_slots("threads", threads)
    options = check_backend_options(backend, address, client, processes)
    return run_graph(record(tasks), processes=process_slots, threads=thread_slots, backend=backend, **options)


def record(tasks: tuple[scheduled_task, ...]) -> Graph:
    """Check ``tasks`` and record them into a fresh graph, each after the tasks it depends on."""
    if not isinstance(tasks, tuple):
        raise InvalidOptionError(f"tasks must be a tuple of scheduled_task, not {type(tasks).__name__}")
    position: dict[scheduled_task, int] = {}
    names: dict[str, scheduled_task] = {}
    for index, task in enumerate(tasks):
        if not isinstance(task, scheduled_task):
            raise InvalidOptionError(
                f"tasks[{index}] must be a scheduled_task, not {type(task).__name__} {task!r}"
            )
        if task.name in names:
            same = "appears twice in tasks" if names[task.name] is task else "names two tasks"
            raise DuplicateTaskNameError(f"{task.name!r} {same}; task names must be unique in a run")
        names[task.name] = task
        position[task] = index
    deps = [_dependencies(task, position, names) for task in tasks]
    ranks = _priority_ranks(tasks)
    graph = Graph()
    deferreds: dict[scheduled_task, Deferred[Any]] = {}

    def engine_placeholder(placeholder: ReturnValue) -> Deferred[Any]:
        source = deferreds[placeholder._rv_task]
        steps = placeholder._rv_steps
        return Placeholder._derive(source, steps) if steps else source

    for index in _recording_order(tasks, deps):
        task = tasks[index]
        function = resolve_function(task.target)  # a @process/@thread task: its plain function
        template = CallTemplate(
            task._kind,
            function,
            task.name,
            True,
            task.processes,
            task.threads,
            ranks[index],
            task.continual,
            inspect.iscoroutinefunction(function),
        )
        deferreds[task] = graph.add(
            template,
            substitute(task.args, engine_placeholder, ReturnValue),
            substitute(task.kwargs, engine_placeholder, ReturnValue),
            tuple(deferreds[dependency] for dependency in task.dependencies),
        )
    return graph


def _dependencies(
    task: scheduled_task, position: dict[scheduled_task, int], names: dict[str, scheduled_task]
) -> list[int]:
    """Positions in ``tasks`` of what ``task`` depends on: placeholders first, then ``dependencies``."""
    found: list[tuple[scheduled_task, str]] = []

    def note(placeholder: ReturnValue) -> ReturnValue:
        found.append((placeholder._rv_task, "takes the return value of"))
        return placeholder

    substitute(task.args, note, ReturnValue)
    substitute(task.kwargs, note, ReturnValue)
    found += [(dependency, "depends on") for dependency in task.dependencies]
    indexes: dict[int, None] = {}
    for other, relation in found:
        index = position.get(other)
        if index is None:
            also = ""
            if other.name in names:
                also = f" (the task named {other.name!r} in tasks is another scheduled_task object)"
            raise InvalidOptionError(
                f"{task.name!r} {relation} task {other.name!r}, which is not in tasks{also}; add it to tasks"
            )
        indexes[index] = None
    return list(indexes)


def _recording_order(tasks: tuple[scheduled_task, ...], deps: list[list[int]]) -> list[int]:
    """Positions in ``tasks`` in an order where each task follows its dependencies.

    Among the tasks whose dependencies are all placed, the earliest in ``tasks`` goes next, so a
    ``tasks`` tuple already in dependency order is kept as it is.
    """
    waiting = [len(d) for d in deps]
    dependents: list[list[int]] = [[] for _ in tasks]
    for index, task_deps in enumerate(deps):
        for dep in task_deps:
            dependents[dep].append(index)
    available = [index for index, count in enumerate(waiting) if count == 0]
    order: list[int] = []
    while available:
        index = heapq.heappop(available)
        order.append(index)
        for dependent in dependents[index]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(available, dependent)
    if len(order) < len(tasks):
        cycle = _find_cycle(deps, set(range(len(tasks))) - set(order))
        waits = ", ".join(
            f"{tasks[task].name!r} waits for {tasks[dep].name!r}" for task, dep in itertools.pairwise(cycle)
        )
        raise InvalidOptionError(f"the tasks form a dependency cycle, so none of them can start: {waits}")
    return order


def _find_cycle(deps: list[list[int]], unplaced: set[int]) -> list[int]:
    """A cycle among the tasks that could not be placed, from a task back to itself."""
    # Every unplaced task waits for an unplaced dependency; following those must loop.
    index = min(unplaced)
    seen: dict[int, int] = {}
    path: list[int] = []
    while index not in seen:
        seen[index] = len(path)
        path.append(index)
        index = next(dep for dep in deps[index] if dep in unplaced)
    return [*path[seen[index] :], index]


def _priority_ranks(tasks: tuple[scheduled_task, ...]) -> list[int]:
    """Each task's rank by ``(no priority, priority, position in tasks)``, for the engine's order."""
    ordered = sorted(
        range(len(tasks)),
        key=lambda i: (tasks[i].priority is None, tasks[i].priority or 0, i),
    )
    ranks = [0] * len(tasks)
    for rank, index in enumerate(ordered):
        ranks[index] = rank
    return ranks
