"""``Deferred[T]``: the handle a recorded call returns, and the outcome it ends up holding.

A Deferred is not a proxy: it never pretends to be a ``T``.  Inside the block it only stands for a
value to come (pass it to other tasks to make dependencies); after the run it holds exactly one
outcome: a value, the exception the task raised, or the error that cancelled it.

The run holds Deferreds weakly: a value is kept alive by a live Deferred that refers to it or by a
dependent that still needs it, never by the bookkeeping (see ``_scheduler.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ._errors import NotRunError
from ._serialize import Step, Value
from ._state import TaskState

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Deferred", "Outcome"]

T_co = TypeVar("T_co", covariant=True)


class Owner(Protocol):
    """What a Deferred needs of the graph that recorded it."""

    @property
    def phase(self) -> str: ...

    def current_state(self, key: int) -> TaskState: ...


class Outcome:
    """The one outcome of a task: SUCCEEDED with a value, or FAILED/CANCELLED with an error."""

    __slots__ = ("error", "state", "traceback", "value")

    def __init__(
        self,
        state: TaskState,
        value: Value | None = None,
        error: BaseException | None = None,
        traceback: str | None = None,
    ) -> None:
        self.state = state
        self.value = value
        self.error = error
        self.traceback = traceback


class Deferred(Generic[T_co]):
    """The future value of a recorded task call; read it after the ``with scheduler`` block.

    ``.result()`` returns the value or raises the task's exception (or the ``WorkerError`` /
    ``DependencyError`` that cancelled it); ``.exception()`` returns that exception or ``None``;
    ``.done()``, ``.state`` and ``.name`` say where it is.  There is no public constructor.
    """

    __slots__ = ("__weakref__", "_graph", "_key", "_name", "_outcome")

    _graph: Owner
    _key: int
    _name: str
    _outcome: Outcome | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("Deferred has no public constructor: call a @process or @thread task")

    @classmethod
    def _new(cls, graph: Owner, key: int, name: str) -> Self:
        self = object.__new__(cls)
        self._graph = graph
        self._key = key
        self._name = name
        self._outcome = None
        return self

    @property
    def name(self) -> str:
        """The task's name in its block (``crunch``, ``crunch-2``, or the explicit name)."""
        return self._name

    @property
    def state(self) -> TaskState:
        """PENDING before the run, then READY, RUNNING and finally SUCCEEDED, FAILED or CANCELLED."""
        outcome = self._outcome
        if outcome is not None:
            return outcome.state
        return self._graph.current_state(self._key)

    def done(self) -> bool:
        """Whether the task has its outcome (succeeded, failed or was cancelled)."""
        return self._outcome is not None

    def _finished_outcome(self, what: str) -> Outcome:
        outcome = self._outcome
        if outcome is not None:
            return outcome
        phase = self._graph.phase
        if phase == "recording":
            hint = (
                "the block is still being recorded and nothing has run yet; "
                f"read {what} after the `with scheduler(...)` block ends"
            )
        elif phase == "abandoned":
            hint = "its block raised an exception before the run, so nothing ran"
        else:
            hint = "the task has not finished yet"
        raise NotRunError(f"{self._name!r} has no {what}: {hint}")

    def result(self) -> T_co:
        """The task's return value; raises its exception if it failed or was cancelled."""
        outcome = self._finished_outcome("result")
        if outcome.state is TaskState.SUCCEEDED:
            assert outcome.value is not None
            value: T_co = outcome.value.live()
            return value
        assert outcome.error is not None
        raise outcome.error

    def exception(self) -> BaseException | None:
        """The exception that failed or cancelled the task, or ``None`` if it succeeded."""
        return self._finished_outcome("exception").error

    def __repr__(self) -> str:
        state = self.state
        detail = ""
        outcome = self._outcome
        if outcome is not None and outcome.error is not None:
            detail = f" {type(outcome.error).__name__}"
        return f"<Deferred {self._name!r} {state.name}{detail}>"

    def __reduce__(self) -> Any:
        raise TypeError(
            f"Deferred {self._name!r} cannot be pickled: pass it to a task directly or inside a "
            "list, tuple, dict (as a value) or set, where it is replaced by its value"
        )

    def __bool__(self) -> bool:
        raise TypeError(
            f"Deferred {self._name!r} has no truth value: it is a value to come, not the value; "
            "pass it to another task, or call .result() after the block"
        )

    def _steps(self) -> tuple[Deferred[Any], tuple[Step, ...]]:
        """The Deferred whose task makes the value, and the steps replayed on it (none here)."""
        return self, ()


class Placeholder(Deferred[Any]):
    """A Deferred with steps replayed on its source's value (the classic API's ``rv['k'].x()``)."""

    __slots__ = ("_source", "_step_list")

    _source: Deferred[Any]
    _step_list: tuple[Step, ...]

    @classmethod
    def _derive(cls, source: Deferred[Any], steps: tuple[Step, ...]) -> Placeholder:
        self = cls._new(source._graph, source._key, source._name)
        self._source = source
        self._step_list = steps
        return self

    def _steps(self) -> tuple[Deferred[Any], tuple[Step, ...]]:
        return self._source, self._step_list
