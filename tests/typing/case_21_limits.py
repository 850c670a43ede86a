"""Case 21: the known limits, pinned here so that a change in them is noticed (docs/typing.md)."""

import functools
from collections import OrderedDict, UserList
from collections.abc import Sequence
from typing import ParamSpec, TypeVar, overload

from parallelism import Deferred, Task, process, scheduler

P = ParamSpec("P")
R = TypeVar("R")


@process
def f(x: int, y: int) -> int:
    return x + y


@overload
def conv(x: int) -> str: ...
@overload
def conv(x: str) -> int: ...
def conv(x: int | str) -> int | str:
    return x


@process
def rows(xs: list[Sequence[int]]) -> int:
    return len(xs)


@process
def counts(xs: list[int]) -> int:
    return len(xs)


@process
def table(t: dict[str, int]) -> int:
    return len(t)


def forward(task: Task[P, R], *args: P.args, **kwargs: P.kwargs) -> Deferred[R]:
    return task(*args, **kwargs)


def pipeline(d: Deferred[int], ordered: "OrderedDict[str, Deferred[int]]", user: UserList[Deferred[int]]) -> None:
    with scheduler():
        # functools.partial checks against the unwidened signature: a Deferred is a false error;
        functools.partial(f, d)  # E: Argument 1 to "__call__" of "Task" has incompatible type "Deferred[int]"; expected "int"  [arg-type]
        # plain values are fine.
        reveal_type(functools.partial(f, 1)(2))  # N: Revealed type is "parallelism._deferred.Deferred[int]"
        # An overloaded function keeps its first signature, silently.
        converted = process(conv)
        reveal_type(converted)  # N: Revealed type is "parallelism._task.Task[[x: int], str]"
        converted("x")  # E: Argument 1 to "converted" has incompatible type "str"; expected "int | Deferred[int]"  [arg-type]
        # A generic helper forwarding a Task's parameters checks them unwidened.
        forward(f, 1, 2)
        forward(f, d, 2)  # E: Argument 2 to "forward" has incompatible type "Deferred[int]"; expected "int"  [arg-type]
        # A mixed display nested in a container where the parameter says Sequence (Iterable,
        # Mapping...): a false error; a variable, or a homogeneous [d, d], is fine.
        rows([[d, 1]])  # E: List item 0 has incompatible type "list[object]"; expected "ListArg[int | Deferred[int]] | tuple[int | Deferred[int], ...] | Sequence[int] | Deferred[Sequence[int]]"  [list-item]
        rows([[d, d], (1, 2)])
        # A subclass of list or dict passes as one, but the run passes it unchanged, its
        # Deferreds unresolved: not caught.
        table(ordered)
        counts(user)
