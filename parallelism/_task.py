"""``Task[P, R]`` and the ``@process`` / ``@thread`` decorators that make one.

A Task is a transparent proxy (``wrapt.ObjectProxy``) around the user's function: its name,
docstring, signature and module are the function's, ``task.__wrapped__`` is the function itself,
and calling it inside a ``with scheduler(...)`` block records a call and returns ``Deferred[R]``.
Outside a block a call is an error that points to ``__wrapped__``: silently running the function
would hide a missing ``with`` and change where the work runs.

Tasks pickle by reference (module and qualified name), so a worker imports the module rather than
receiving the code; functions a worker cannot import (defined in ``__main__``, lambdas, closures)
travel by value through cloudpickle.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Concatenate, Generic, TypeVar, overload

import wrapt
from typing_extensions import ParamSpec

from ._deferred import Deferred
from ._errors import InvalidOptionError, NotCallableError, OutsideSchedulerError
from ._graph import ACTIVE_GRAPH, CallTemplate, TaskKind

__all__ = ["Task", "TaskOptions", "check_timeout", "process", "resolve_function", "thread"]

P = ParamSpec("P")
P2 = ParamSpec("P2")
R = TypeVar("R")
R2 = TypeVar("R2")
R_co = TypeVar("R_co", covariant=True)
S = TypeVar("S")
T = TypeVar("T")


@dataclass(frozen=True)
class TaskOptions:
    """What a decorator or ``Task.options`` sets for every call of a task."""

    processes: int = 0
    """Process slots reserved for pools the task opens itself (beyond its own slot)."""
    threads: int = 0
    """Thread slots reserved for pools the task opens itself (beyond its own slot)."""
    name: str | None = None
    """An explicit name, unique in a block; unset, calls are named ``f``, ``f-2``, ..."""
    continual: bool = False
    """Keep the value in ``SchedulerResult.return_value`` (the seed's ``continual``)."""
    priority: float | None = None
    """Lower starts earlier among ready tasks; no priority sorts after every priority."""
    retries: int = 0
    """Run a failed call (raised, crashed or timed out) up to this many more times."""
    timeout: float | None = None
    """Seconds a call may run: a process task's worker is then killed, a thread task abandoned."""

    def __post_init__(self) -> None:
        for field in ("processes", "threads"):
            value = getattr(self, field)
            if type(value) is not int:
                raise InvalidOptionError(
                    f"{field}= must be an int (slots to reserve), not {type(value).__name__}"
                )
            if value < 0:
                raise InvalidOptionError(f"{field}= must be 0 or more, not {value}")
        if self.name is not None and (type(self.name) is not str or not self.name):
            raise InvalidOptionError(f"name= must be a non-empty str or None, not {self.name!r}")
        if type(self.continual) is not bool:
            raise InvalidOptionError(f"continual= must be True or False, not {type(self.continual).__name__}")
        if self.priority is not None and type(self.priority) not in (int, float):
            raise InvalidOptionError(
                f"priority= must be a number or None, not {type(self.priority).__name__}"
            )
        if type(self.retries) is not int or self.retries < 0:
            raise InvalidOptionError(f"retries= must be an int, 0 or more, not {self.retries!r}")
        check_timeout(self.timeout)


def check_timeout(timeout: float | None) -> None:
    """A timeout is a positive number of seconds, or None (a task's or a whole run's)."""
    if timeout is not None and (type(timeout) not in (int, float) or not timeout > 0):
        raise InvalidOptionError(f"timeout= must be a positive number of seconds or None, not {timeout!r}")


_OPTION_NAMES = frozenset(f.name for f in fields(TaskOptions))


def _options(current: TaskOptions, overrides: dict[str, Any]) -> TaskOptions:
    unknown = sorted(set(overrides) - _OPTION_NAMES)
    if unknown:
        raise InvalidOptionError(
            f"unknown task option(s) {', '.join(unknown)}; the options are {', '.join(sorted(_OPTION_NAMES))}"
        )
    return replace(current, **overrides)


class Task(wrapt.ObjectProxy, Generic[P, R_co]):  # type: ignore[type-arg]
    """A function that, called inside ``with scheduler(...)``, records a call: ``Deferred[R]``.

    ``Task[P, R]`` keeps the function's parameters ``P`` and return type ``R``; calling an
    ``async def`` task (``R`` is ``Coroutine[Any, Any, X]``) gives ``Deferred[X]``, the awaited
    type.  ``task.__wrapped__`` is the plain function, for calling it directly.
    """

    if TYPE_CHECKING:
        __wrapped__: Callable[P, R_co]

    def __init__(
        self,
        function: Callable[..., Any],
        kind: TaskKind,
        options: TaskOptions,
        bound_to: Any = None,
        static: bool = False,
    ) -> None:
        super().__init__(function)
        self._self_kind = kind
        self._self_options = options
        self._self_is_async = inspect.iscoroutinefunction(function)
        self._self_bound_to = bound_to
        self._self_static = static
        """It decorated a staticmethod: reading it from an instance binds nothing."""
        self._self_template = CallTemplate(
            kind,
            function,
            options.name if options.name is not None else function.__name__,
            options.name is not None,
            options.processes,
            options.threads,
            options.priority,
            options.continual,
            self._self_is_async,
            options.retries,
            options.timeout,
        )
        """What every call records (made once here: recording is per call)."""

    @property
    def kind(self) -> TaskKind:
        """PROCESS or THREAD: where calls of this task run."""
        kind: TaskKind = self._self_kind
        return kind

    @property
    def task_options(self) -> TaskOptions:
        """The options every call of this task gets."""
        options: TaskOptions = self._self_options
        return options

    @overload
    def __call__(
        self: Task[P2, Coroutine[Any, Any, T]], *args: P2.args, **kwargs: P2.kwargs
    ) -> Deferred[T]: ...
    @overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Deferred[R_co]: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Deferred[Any]:
        graph = ACTIVE_GRAPH.get()
        function: Callable[..., Any] = self.__wrapped__
        if graph is None:
            name = getattr(function, "__name__", "task")
            raise OutsideSchedulerError(
                f"{name}() was called outside a `with scheduler(...)` block; a task call only "
                f"records work for a block to run. Open a block, or call the plain function "
                f"directly with {name}.__wrapped__(...)"
            )
        bound_to = self._self_bound_to
        if bound_to is not None:
            args = (bound_to, *args)
        return graph.add(self._self_template, args, kwargs)

    def options(self, **overrides: Any) -> Task[P, R_co]:
        """A copy of this task with other options, e.g. ``crunch.options(name="first")(1)``."""
        return Task(
            self.__wrapped__,
            self._self_kind,
            _options(self._self_options, overrides),
            self._self_bound_to,
            self._self_static,
        )

    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> Task[P, R_co]: ...
    @overload
    def __get__(
        self: Task[Concatenate[S, P2], R2], instance: S, owner: type[Any] | None = None
    ) -> Task[P2, R2]: ...
    def __get__(self, instance: Any, owner: type[Any] | None = None) -> Any:
        """Binding a task to an instance passes the instance as the first argument of each call."""
        if instance is None or self._self_static:
            return self
        return Task(self.__wrapped__, self._self_kind, self._self_options, instance)

    def __repr__(self) -> str:
        function = self.__wrapped__
        where = f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}"
        return f"<{self._self_kind.value} task {where}>"

    def __reduce_ex__(self, protocol: Any) -> Any:
        reference = importable_name(self.__wrapped__)
        if reference is not None and self._self_bound_to is None:
            return _import_task, reference
        return (
            Task,
            (
                self.__wrapped__,
                self._self_kind,
                self._self_options,
                self._self_bound_to,
                self._self_static,
            ),
        )

    if not TYPE_CHECKING:

        @property
        def __class__(self) -> type:
            # wrapt proxies __class__ to the function's class, so a Task would pass
            # isinstance(task, types.FunctionType) and cloudpickle would pickle it as a bare
            # function, losing the Task (a nested run in a worker would then run it directly).
            return type(self)

    def __copy__(self) -> Task[P, R_co]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Task[P, R_co]:
        return self


def importable_name(function: Callable[..., Any]) -> tuple[str, str] | None:
    """``(module, qualname)`` if a worker can import ``function`` (or its Task) by that name."""
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    try:
        found = _lookup(module, qualname)
    except Exception:
        return None
    if found is function or getattr(found, "__wrapped__", None) is function:
        return module, qualname
    return None


def _lookup(module: str, qualname: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = inspect.getattr_static(obj, part) if isinstance(obj, type) else getattr(obj, part)
    return obj


def _import_task(module: str, qualname: str) -> Any:
    return _lookup(module, qualname)


def resolve_function(obj: Any) -> Callable[..., Any]:
    """The plain function behind a Task (or staticmethod), as a worker must call it."""
    while True:
        if isinstance(obj, staticmethod):
            obj = obj.__func__
        elif type(obj) is Task:
            obj = obj.__wrapped__
        else:
            return obj  # type: ignore[no-any-return]


class TaskDecorator:
    """What ``@process(...)`` / ``@thread(...)`` with options return: apply it to a function."""

    def __init__(self, kind: TaskKind, options: TaskOptions) -> None:
        self._kind = kind
        self._options = options

    def __call__(self, function: Callable[P, R], /) -> Task[P, R]:
        task: Task[P, R] = _make_task(function, self._kind, self._options)
        return task


def _make_task(function: Any, kind: TaskKind, options: TaskOptions) -> Any:
    static = isinstance(function, staticmethod)
    if static:
        function = function.__func__
    if not callable(function):
        raise NotCallableError(
            f"@{kind.value} must decorate a function, not {type(function).__name__} {function!r}"
        )
    return Task(function, kind, options, static=static)


def _decorate(kind: TaskKind, function: Any, options: dict[str, Any]) -> Any:
    settings = _options(TaskOptions(), options)
    if function is None:
        return TaskDecorator(kind, settings)
    return _make_task(function, kind, settings)


@overload
def process(function: Callable[P, R], /) -> Task[P, R]: ...
@overload
def process(
    *,
    processes: int = 0,
    threads: int = 0,
    name: str | None = None,
    continual: bool = False,
    priority: float | None = None,
    retries: int = 0,
    timeout: float | None = None,
) -> TaskDecorator: ...
def process(function: Any = None, /, **options: Any) -> Any:
    """Make ``function`` a task that runs in a worker process (for CPU-bound work).

    Use bare (``@process``) or with options (``@process(processes=2, threads=4)`` reserves slots
    for pools the task opens itself).  Its arguments and return value must pickle.
    """
    return _decorate(TaskKind.PROCESS, function, options)


@overload
def thread(function: Callable[P, R], /) -> Task[P, R]: ...
@overload
def thread(
    *,
    processes: int = 0,
    threads: int = 0,
    name: str | None = None,
    continual: bool = False,
    priority: float | None = None,
    retries: int = 0,
    timeout: float | None = None,
) -> TaskDecorator: ...
def thread(function: Any = None, /, **options: Any) -> Any:
    """Make ``function`` a task that runs in a thread of this process (for I/O-bound work).

    Arguments and values are passed by reference, never pickled.
    """
    return _decorate(TaskKind.THREAD, function, options)
