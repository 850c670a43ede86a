"""Case 20: other parameter types: ``Any``/``object`` accept anything, callables, literals,
classes and TypedDicts (plain dicts at run time) take Deferreds too."""

from collections.abc import Callable
from typing import Any, Literal, TypedDict

from parallelism import Deferred, process, scheduler


class Config(TypedDict):
    name: str
    size: int


@process
def anything(x: Any, y: object) -> None:
    pass


@process
def mode(m: Literal["r", "w"]) -> None:
    pass


@process
def run(fn: Callable[[int], int], kind: type[Exception]) -> None:
    pass


@process
def configure(c: Config) -> None:
    pass


def double(x: int) -> int:
    return 2 * x


def pipeline(d: Deferred[int], d_str: Deferred[str], d_mode: Deferred[Literal["r"]], d_fn: Deferred[Callable[[int], int]]) -> None:
    with scheduler():
        anything(d, d_str)
        mode("r")
        mode(d_mode)
        run(double, ValueError)
        run(d_fn, KeyError)
        configure({"name": d_str, "size": d})
        configure({"name": "x", "size": 1})
        mode(d_str)  # E: Argument 1 to "mode" has incompatible type "Deferred[str]"; expected "Literal['r', 'w'] | Deferred[Literal['r', 'w']]"  [arg-type]
        mode("x")  # E: Argument 1 to "mode" has incompatible type "Literal['x']"; expected "Literal['r', 'w'] | Deferred[Literal['r', 'w']]"  [arg-type]
        run(d, ValueError)  # E: Argument 1 to "run" has incompatible type "Deferred[int]"; expected "Callable[[int], int] | Deferred[Callable[[int], int]]"  [arg-type]
        configure({"name": d, "size": d})  # E: Argument 1 to "configure" has incompatible type "dict[str, Deferred[int]]"; expected "TypedDict({'name'=: str | Deferred[str], 'size'=: int | Deferred[int]}) | Deferred[Config]"  [arg-type]
