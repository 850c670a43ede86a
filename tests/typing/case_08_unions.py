"""Case 8: a union takes each member's Deferred (``Deferred[A | B]`` too); ``Deferred[int | None]``
is not an ``int``."""

from parallelism import Deferred, process, scheduler


@process
def maybe(x: int | None) -> int:
    return x or 0


@process
def either(x: int | str) -> str:
    return str(x)


@process
def f(x: int) -> str:
    return str(x)


@process
def items(xs: list[int] | None = None) -> int:
    return len(xs or [])


def pipeline(d_int: Deferred[int], d_opt: Deferred[int | None], d_str: Deferred[str], d_float: Deferred[float]) -> None:
    with scheduler():
        maybe(None)
        maybe(1)
        maybe(d_int)
        maybe(d_opt)
        either(d_int)
        either(d_str)
        either(1)
        items()
        items(None)
        items([d_int, 1])
        f(d_opt)  # E: Argument 1 to "f" has incompatible type "Deferred[int | None]"; expected "int | Deferred[int]"  [arg-type]
        either(d_float)  # E: Argument 1 to "either" has incompatible type "Deferred[float]"; expected "int | str | Deferred[int | str]"  [arg-type]
        maybe("1")  # E: Argument 1 to "maybe" has incompatible type "str"; expected "int | Deferred[int | None] | None"  [arg-type]
