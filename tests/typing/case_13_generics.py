"""Case 13: generic tasks are solved from the values the task will receive."""

from collections.abc import Callable, Sequence
from typing import TypeVar

from parallelism import Deferred, process, scheduler

T = TypeVar("T")
N = TypeVar("N", bound=float)
S = TypeVar("S", str, bytes)
U = TypeVar("U")


@process
def ident(x: T) -> T:
    return x


@process
def first(xs: list[T]) -> T:
    return xs[0]


@process
def pick(a: T, b: T) -> T:
    return a


@process
def biggest(xs: Sequence[N]) -> N:
    return max(xs)


@process
def concat(a: S, b: S) -> S:
    return a + b


@process
def call(fn: Callable[[T], U], x: T) -> U:
    return fn(x)


def pipeline(d_int: Deferred[int], d_str: Deferred[str], ds: list[Deferred[int]]) -> None:
    with scheduler():
        reveal_type(ident(d_int))  # N: Revealed type is "parallelism._deferred.Deferred[int]"
        reveal_type(ident(1))  # N: Revealed type is "parallelism._deferred.Deferred[int]"
        reveal_type(ident([d_int]))  # N: Revealed type is "parallelism._deferred.Deferred[list[int]]"
        reveal_type(first([d_int, 2]))  # N: Revealed type is "parallelism._deferred.Deferred[int]"
        reveal_type(first(ds))  # N: Revealed type is "parallelism._deferred.Deferred[int]"
        reveal_type(pick(d_int, 2))  # N: Revealed type is "parallelism._deferred.Deferred[int]"
        reveal_type(pick(d_int, d_str))  # N: Revealed type is "parallelism._deferred.Deferred[object]"
        reveal_type(biggest([d_int, 2.5]))  # N: Revealed type is "parallelism._deferred.Deferred[float]"
        reveal_type(concat(d_str, "x"))  # N: Revealed type is "parallelism._deferred.Deferred[str]"
        reveal_type(call(str, d_int))  # N: Revealed type is "parallelism._deferred.Deferred[str]"
        reveal_type(call(len, [d_int]))  # N: Revealed type is "parallelism._deferred.Deferred[int]"
        biggest([d_str])  # E: Value of type variable "N" of "biggest" cannot be "str"  [type-var]
        concat(d_str, b"x")  # E: Value of type variable "S" of "concat" cannot be "Sequence[object]"  [type-var]
