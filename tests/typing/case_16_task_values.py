"""Case 16: a Task kept in a variable, a container or an attribute, or a Task subclass, is
widened the same way; so is a Task taken as a parameter."""

from collections.abc import Callable
from typing import Any

from parallelism import Deferred, Task, process, scheduler, thread


@process
def f(x: int) -> str:
    return str(x)


@thread
def g(x: int) -> str:
    return str(x)


class Labelled(Task[[int], str]):
    pass


def apply(task: Task[[int], str], d: Deferred[int]) -> Deferred[str]:
    return task(d)


def pipeline(d: Deferred[int], d_str: Deferred[str], sub: Labelled, anything: Task[..., Any]) -> None:
    t: Task[[int], str] = f
    tasks = [f, g]
    registry: dict[str, Task[[int], str]] = {"f": f, "g": g}
    with scheduler():
        reveal_type(t(d))  # N: Revealed type is "parallelism._deferred.Deferred[str]"
        reveal_type(tasks[0](d))  # N: Revealed type is "parallelism._deferred.Deferred[str]"
        reveal_type(registry["g"](d))  # N: Revealed type is "parallelism._deferred.Deferred[str]"
        reveal_type(sub(d))  # N: Revealed type is "parallelism._deferred.Deferred[str]"
        reveal_type(f.options(name="first")(d))  # N: Revealed type is "parallelism._deferred.Deferred[str]"
        reveal_type(anything(d, "x", key=d_str))  # N: Revealed type is "parallelism._deferred.Deferred[Any]"
        apply(f, d)
        t(d_str)  # E: Argument 1 to "t" has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [arg-type]
        tasks[1](d_str)  # E: Argument 1 to "__call__" of "Task" has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [arg-type]
        sub(d_str)  # E: Argument 1 to "sub" has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [arg-type]


callback: Callable[[int], Deferred[str]] = f
not_plain: Callable[[int], str] = f  # E: Incompatible types in assignment (expression has type "Task[[int], str]", variable has type "Callable[[int], str]")  [assignment]
# N: "Task[[int], str].__call__" has type "def __call__(self, x: int) -> Deferred[str]"
