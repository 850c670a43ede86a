"""The recorded task graph: immutable ``TaskSpec`` nodes, and the ``ContextVar`` that records them.

Inside ``with scheduler(...)`` the block's :class:`Graph` is the value of :data:`ACTIVE_GRAPH`; a
task call appends one :class:`TaskSpec` and returns a ``Deferred``.  The graph is plain data: the
run keeps its state apart (``_state.py``), so one graph is run exactly once and then read.

Recording checks what it can early, at the line that made the mistake: a Deferred of another block
that has not run, a duplicate explicit name, and (for process tasks) arguments that cannot be
pickled; the arguments are pickled here, once, and the bytes are what the worker later receives.

Dependencies are the Deferreds found in the arguments, also nested in list, tuple, set and dict
values; a Deferred of an earlier block that already ran becomes an *external* node that stands for
its outcome (its value, or a failure that cancels its dependents).
"""

from __future__ import annotations

import contextvars
import enum
import itertools
import weakref
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ._deferred import Deferred, Outcome, Placeholder
from ._errors import DuplicateTaskNameError, ForeignDeferredError, UnpicklableArgumentError
from ._result import SchedulerResult
from ._serialize import Hole, TopHole, Value, dumps_call, dumps_plain_call
from ._state import TaskState

__all__ = ["ACTIVE_GRAPH", "CallTemplate", "Graph", "TaskKind", "TaskSpec", "find_deferreds"]


class TaskKind(enum.Enum):
    """Where a task runs; EXTERNAL marks the outcome of an earlier block, which does not run."""

    PROCESS = "process"
    THREAD = "thread"
    EXTERNAL = "external"


class TaskSpec(NamedTuple):
    """One recorded call. Immutable; ``key`` is its index in the graph (its recording order)."""

    key: int
    name: str
    kind: TaskKind
    function: Callable[..., Any] | None
    function_key: int
    """Index of the function in ``Graph.functions``: a worker caches each function once."""
    args: tuple[Any, ...] | None
    """Thread tasks: the arguments as given, Deferreds included. Process tasks: ``None``."""
    kwargs: dict[str, Any] | None
    payload: bytes | None
    """Process tasks: ``(args, kwargs)`` pickled with Deferreds as holes (``_serialize``)."""
    deps: tuple[int, ...]
    """Direct dependencies (value and ordering-only), each once, in recording order."""
    processes: int
    threads: int
    priority: float | None
    continual: bool
    is_async: bool
    retries: int = 0
    """How many more times a failed call runs."""
    timeout: float | None = None
    """Seconds a call may run before it is stopped and failed."""


_CONTAINERS = (list, tuple, set, frozenset, dict)
_PLAIN = frozenset({int, float, str, bytes, bool, type(None), complex})
"""Argument types that can neither be nor hold a Deferred, and that plain pickle always gets right."""


class CallTemplate(NamedTuple):
    """What every call of one task shares: made once per task (and per ``options``), not per call."""

    kind: TaskKind
    function: Callable[..., Any]
    name: str
    """The explicit name, or the base of the default names (``f``, ``f-2``, ...)."""
    explicit_name: bool
    processes: int
    threads: int
    priority: float | None
    continual: bool
    is_async: bool
    retries: int = 0
    timeout: float | None = None


ACTIVE_GRAPH: contextvars.ContextVar[Graph | None] = contextvars.ContextVar(
    "parallelism_active_graph", default=None
)
"""The graph of the innermost ``with scheduler(...)`` block being recorded in this context."""


def find_deferreds(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Deferred[Any]]:
    """Every Deferred in the arguments, depth first, also inside list, tuple, set and dict values.

    Only those exact container types are searched (and rebuilt with values later): a subclass such
    as a namedtuple or an OrderedDict is passed as it is, and a Deferred inside it is an error when
    a process task pickles it.
    """
    found: list[Deferred[Any]] = []
    _walk(args, found)
    if kwargs:
        _walk(kwargs.values(), found)
    return found


def _passed_directly(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[tuple[int | str, Deferred[Any]]] | None:
    """The Deferreds and their places when every argument is a Deferred or of a plain type.

    ``None`` when some argument is anything else (a container, which may hold Deferreds, or an
    object): then the general walk and the hole-writing Pickler are needed.
    """
    found: list[tuple[int | str, Deferred[Any]]] = []
    places: Iterable[tuple[int | str, Any]] = enumerate(args)
    if kwargs:
        places = itertools.chain(places, kwargs.items())
    for where, argument in places:
        kind = type(argument)
        if kind is Deferred or kind is Placeholder:
            found.append((where, argument))
        elif kind not in _PLAIN:
            return None
    return found


def _walk(items: Any, found: list[Deferred[Any]]) -> None:
    for item in items:
        if isinstance(item, Deferred):
            found.append(item)
        elif type(item) in _CONTAINERS:
            _walk(item.values() if type(item) is dict else item, found)


class Graph:
    """The tasks recorded by one ``with scheduler(...)`` block, in recording order."""

    def __init__(self) -> None:
        self.specs: list[TaskSpec] = []
        self.functions: list[Callable[..., Any]] = []
        self._function_keys: dict[int, int] = {}
        self.names: dict[str, int] = {}
        self._default_counts: dict[str, int] = {}
        self.deferreds: list[weakref.ref[Deferred[Any]] | None] = []
        self.externals: dict[int, Deferred[Any]] = {}
        """Key of an external node -> the Deferred of the earlier block it stands for."""
        self._external_keys: dict[int, int] = {}
        self.phase = "recording"
        """recording -> running -> finished, or recording -> abandoned (the block raised)."""
        self.states: list[TaskState] | None = None
        """The live run state while running (read by ``Deferred.state``)."""
        self.result: SchedulerResult | None = None
        """The run's result, once it has run."""
        self.order_edges: set[tuple[int, int]] = set()
        """(dependency, dependent) pairs that only order (no value passed): drawn dashed."""

    def current_state(self, key: int) -> TaskState:
        """The state of a task while its outcome is not known yet."""
        if self.states is None:
            return TaskState.PENDING
        return self.states[key]

    def __len__(self) -> int:
        return len(self.specs)

    # --- recording ----------------------------------------------------------------------------

    def function_key(self, function: Callable[..., Any]) -> int:
        """A small int naming ``function`` in this graph, so workers can cache it once."""
        key = self._function_keys.get(id(function))
        if key is None:
            key = self._function_keys[id(function)] = len(self.functions)
            self.functions.append(function)
        return key

    def name_for(self, base: str, explicit: bool) -> str:
        """``crunch``, then ``crunch-2``, ...; an explicit name must be unique in the block."""
        if explicit:
            if base in self.names:
                raise DuplicateTaskNameError(
                    f"task name {base!r} is already used in this block; explicit names must be "
                    "unique (leave name= unset to get crunch, crunch-2, ... automatically)"
                )
            return base
        count = self._default_counts.get(base, 0) + 1
        name = base if count == 1 else f"{base}-{count}"
        while name in self.names:
            count += 1
            name = f"{base}-{count}"
        self._default_counts[base] = count
        return name

    def key_of(self, deferred: Deferred[Any], task_name: str) -> int:
        """The node a Deferred stands for in this graph (adding an external node if needed)."""
        source, _ = deferred._steps()
        if source._graph is self:
            return source._key
        key = self._external_keys.get(id(source))
        if key is not None:
            return key
        if source._outcome is None:
            raise ForeignDeferredError(
                f"{task_name!r} was passed {source.name!r}, a Deferred of another block that has "
                "not run yet; a Deferred can only be used in its own block, or in a later block "
                "once its own block has run"
            )
        key = len(self.specs)
        self.specs.append(
            TaskSpec(
                key,
                source.name,
                TaskKind.EXTERNAL,
                None,
                -1,
                None,
                None,
                None,
                (),
                0,
                0,
                None,
                False,
                False,
            )
        )
        self.deferreds.append(None)
        self.externals[key] = source
        self._external_keys[id(source)] = key
        return key

    def add(
        self,
        template: CallTemplate,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        order_deps: tuple[Deferred[Any], ...] = (),
    ) -> Deferred[Any]:
        """Record one call of the task ``template`` describes, and return its Deferred.

        This runs once per recorded call, so it takes the common case -- arguments of plain
        types only, hence no dependency -- without a walk or a Pickler.
        """
        kind = template.kind
        name = self.name_for(template.name, template.explicit_name)
        plain = True
        for argument in args:
            if type(argument) not in _PLAIN:
                plain = False
                break
        if plain and kwargs:
            for argument in kwargs.values():
                if type(argument) not in _PLAIN:
                    plain = False
                    break
        deps: tuple[int, ...] = ()
        payload: bytes | None = None
        key = len(self.specs)
        top = None if plain or order_deps else _passed_directly(args, kwargs)
        if plain and not order_deps:
            if kind is TaskKind.PROCESS:
                payload = dumps_plain_call(args, kwargs)
        elif top is not None:  # every Deferred is an argument itself: the common pipeline shape
            top_holes: list[TopHole] = []
            for where, deferred in top:
                source, steps = (deferred, ()) if type(deferred) is Deferred else deferred._steps()
                dep = source._key if source._graph is self else self.key_of(deferred, name)
                top_holes.append((where, dep, steps))
            if len(top_holes) == 1:
                deps = (top_holes[0][1],)
            else:
                deps = tuple(dict.fromkeys(dep for _, dep, _ in top_holes))
            key = len(self.specs)  # after the external nodes key_of may have added
            if kind is TaskKind.PROCESS:
                payload = self._pickle_call(name, args, kwargs, {}, tuple(top_holes))
        else:
            holes: dict[int, Hole] = {}
            found = find_deferreds(args, kwargs)
            if found or order_deps:
                keys: dict[int, None] = {}
                for deferred in found:
                    dep = self.key_of(deferred, name)
                    keys[dep] = None
                    holes[id(deferred)] = (dep, deferred._steps()[1])
                order_only: list[int] = []
                for deferred in order_deps:
                    dep = self.key_of(deferred, name)
                    if dep not in keys:
                        keys[dep] = None
                        order_only.append(dep)
                deps = tuple(keys)
                key = len(self.specs)  # after the external nodes key_of may have added
                self.order_edges.update((dep, key) for dep in order_only)
            if kind is TaskKind.PROCESS:
                payload = self._pickle_call(name, args, kwargs, holes)
        function = template.function
        thread = kind is TaskKind.THREAD
        self.specs.append(
            TaskSpec(
                key,
                name,
                kind,
                function,
                self.function_key(function),
                args if thread else None,
                kwargs if thread else None,
                payload,
                deps,
                template.processes,
                template.threads,
                template.priority,
                template.continual,
                template.is_async,
                template.retries,
                template.timeout,
            )
        )
        self.names[name] = key
        deferred_out: Deferred[Any] = Deferred._new(self, key, name)
        self.deferreds.append(weakref.ref(deferred_out))
        return deferred_out

    @staticmethod
    def _pickle_call(
        name: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        holes: dict[int, Hole],
        top_holes: tuple[TopHole, ...] = (),
    ) -> bytes:
        try:
            if top_holes:  # leave the Deferreds out: the worker puts the values in their places
                positional = list(args)
                keywords = kwargs
                for where, _, _ in top_holes:
                    if isinstance(where, int):
                        positional[where] = None
                    else:
                        keywords = keywords if keywords is not kwargs else dict(kwargs)
                        keywords[where] = None
                return dumps_plain_call(tuple(positional), keywords, top_holes)
            return dumps_call(args, kwargs, (lambda obj: holes.get(id(obj))) if holes else None)
        except Exception as error:
            culprit = _first_unpicklable(args, kwargs)
            raise UnpicklableArgumentError(
                f"process task {name!r}: argument {culprit} cannot be pickled, so it cannot be sent "
                f"to a worker process ({type(error).__name__}: {error}); pass something picklable, "
                "or make the task a @thread task, whose arguments are passed by reference"
            ) from error

    def outcome_deferred(self, key: int) -> Deferred[Any] | None:
        """The live Deferred of task ``key``, if the user still holds it."""
        ref = self.deferreds[key]
        return None if ref is None else ref()

    def set_outcome(
        self,
        key: int,
        state: TaskState,
        value: Value | None = None,
        error: BaseException | None = None,
        traceback: str | None = None,
    ) -> None:
        """Hand a finished task's outcome to its Deferred, if anybody still holds it.

        (The :class:`Outcome` is made only then: most tasks' Deferreds are gone by now.)
        """
        deferred = self.outcome_deferred(key)
        if deferred is not None:
            deferred._outcome = Outcome(state, value, error, traceback)


def _first_unpicklable(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """Name the first argument that does not pickle (``#2 (list)`` or ``'dest' (Lock)``)."""
    named: list[tuple[str, Any]] = [(f"#{i + 1}", a) for i, a in enumerate(args)]
    named += [(repr(k), v) for k, v in kwargs.items()]
    for label, value in named:
        try:
            dumps_call((value,), {}, _deferred_hole)
        except Exception:
            return f"{label} (of type {type(value).__name__})"
    return "(unknown)"


def _deferred_hole(obj: object) -> Hole | None:
    return (0, ()) if isinstance(obj, Deferred) else None
