"""Case 22: more generic shapes: a lambda, unpacked ``*args``/``**kwargs``, a method of a generic
class, and a recursive type alias (widened two levels deep)."""

from collections.abc import Callable
from typing import Generic, TypeVar, Union

from parallelism import Deferred, process, scheduler, thread

T = TypeVar("T")
JSON = Union[int, str, list["JSON"], dict[str, "JSON"]]


@process
def ident(x: T) -> T:
    return x


@thread
def apply(fn: Callable[[T], T], x: T) -> T:
    return fn(x)


@process
def dump(value: JSON) -> str:
    return str(value)


class Box(Generic[T]):
    @process
    def put(self, x: T) -> list[T]:
        return [x]


def pipeline(d: Deferred[int], ds: list[Deferred[int]], by_name: dict[str, Deferred[int]]) -> None:
    with scheduler():
        reveal_type(apply(lambda v: v + 1, d))  # N: Revealed type is "parallelism._deferred.Deferred[int]"
        reveal_type(ident(*ds))  # N: Revealed type is "parallelism._deferred.Deferred[int]"
        reveal_type(ident(**by_name))  # N: Revealed type is "parallelism._deferred.Deferred[int]"
        reveal_type(Box[int]().put(d))  # N: Revealed type is "parallelism._deferred.Deferred[list[int]]"
        Box[int]().put("x")  # E: Argument 1 to "put" has incompatible type "str"; expected "int | Deferred[int]"  [arg-type]
        dump([1, "a", {"k": d}])
        dump(d)
        dump([[[d]]])  # E: List item 0 has incompatible type "Deferred[int]"; expected "int | str | list[JSON] | dict[str, JSON]"  [list-item]
