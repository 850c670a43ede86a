"""Case 5: tuples (fixed and variadic) take Deferred items; a NamedTuple is passed as it is."""

from typing import NamedTuple

from parallelism import Deferred, process, scheduler


class Point(NamedTuple):
    x: int
    y: int


@process
def pair(p: tuple[int, str]) -> str:
    return p[1] * p[0]


@process
def many(ps: tuple[float, ...]) -> float:
    return sum(ps)


@process
def norm(p: Point) -> int:
    return p.x + p.y


def pipeline(d_int: Deferred[int], d_str: Deferred[str], d_point: Deferred[Point]) -> None:
    with scheduler():
        pair((d_int, d_str))
        pair((1, d_str))
        pair((d_str, d_str))  # E: Argument 1 to "pair" has incompatible type "tuple[Deferred[str], Deferred[str]]"; expected "tuple[int | Deferred[int], str | Deferred[str]] | Deferred[tuple[int, str]]"  [arg-type]
        pair((1, "a", "b"))  # E: Argument 1 to "pair" has incompatible type "tuple[int, str, str]"; expected "tuple[int | Deferred[int], str | Deferred[str]] | Deferred[tuple[int, str]]"  [arg-type]
        pair([1, "a"])  # E: Argument 1 to "pair" has incompatible type "list[object]"; expected "tuple[int | Deferred[int], str | Deferred[str]] | Deferred[tuple[int, str]]"  [arg-type]
        many((d_int, 1.5, 2))
        many(())
        many((d_str,))  # E: Argument 1 to "many" has incompatible type "tuple[Deferred[str]]"; expected "tuple[float | Deferred[float], ...] | Deferred[tuple[float, ...]]"  [arg-type]
        norm(Point(1, 2))
        norm(d_point)
        norm((1, 2))  # E: Argument 1 to "norm" has incompatible type "tuple[int, int]"; expected "Point | Deferred[Point]"  [arg-type]
        norm(Point(d_int, 2))  # E: Argument 1 to "Point" has incompatible type "Deferred[int]"; expected "int"  [arg-type]
