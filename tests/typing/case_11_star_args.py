"""Case 11: ``*args: X`` and ``**kwargs: X`` take a Deferred per item; a wrong item is reported by
its position or name."""

from parallelism import Deferred, process, scheduler


@process
def add(*xs: int) -> int:
    return sum(xs)


@process
def join(**parts: str) -> str:
    return "".join(parts.values())


@process
def mixed(first: int, *rest: list[int], sep: str = ",", **opts: float) -> str:
    return sep


def pipeline(d: Deferred[int], d_str: Deferred[str], ints: list[int], strs: dict[str, str]) -> None:
    with scheduler():
        add()
        add(1, d, 2, d)
        add(*ints)
        join(a="x", b=d_str)
        join(**strs)
        mixed(d, [d], [1, d], sep=d_str, x=1.5, y=d)
        add(1, d_str)  # E: Argument 2 to "add" has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [arg-type]
        join(a="x", b=d)  # E: Argument "b" to "join" has incompatible type "Deferred[int]"; expected "str | Deferred[str]"  [arg-type]
        mixed(1, [d_str])  # E: List item 0 has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [list-item]
        mixed(1, z=d_str)  # E: Argument "z" to "mixed" has incompatible type "Deferred[str]"; expected "float | Deferred[float]"  [arg-type]
