"""Case 3: a ``list[X]`` parameter takes a list of ``X | Deferred[X]``, and only a list."""

from collections import deque

from parallelism import Deferred, process, scheduler


@process(processes=2)
def g(xs: list[int]) -> int:
    return sum(xs)


@process
def words(ws: list[str]) -> int:
    return len(ws)


def pipeline(
    d1: Deferred[int],
    d2: Deferred[int],
    d_bool: Deferred[bool],
    d_str: Deferred[str],
    ints: list[int],
    deferred_ints: list[Deferred[int]],
    deferred_bools: list[Deferred[bool]],
    deferred_strs: list[Deferred[str]],
    d_list: Deferred[list[int]],
) -> None:
    with scheduler():
        g([d1, d2])
        g([d1, 3])
        g([3, d_bool, d1])
        g([])
        g(ints)
        g(deferred_ints)
        g(deferred_bools)
        g(d_list)
        g([g([d1]), g(deferred_ints)])
        g([d_str])  # E: List item 0 has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [list-item]
        g([1, d_str])  # E: List item 1 has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [list-item]
        g(deferred_strs)  # E: Argument 1 to "g" has incompatible type "list[Deferred[str]]"; expected "ListArg[int | Deferred[int]] | Deferred[list[int]]"  [arg-type]
        g((1, 2))  # E: Argument 1 to "g" has incompatible type "tuple[int, int]"; expected "ListArg[int | Deferred[int]] | Deferred[list[int]]"  [arg-type]
        # N: "tuple" is missing following "ListArg" protocol member:
        # N:     clear
        # N: Following member(s) of "tuple[int, ...]" have conflicts:
        # N:     Expected:
        # N:         def __getitem__(self, slice[Any, Any, Any], /) -> ListArg[int | Deferred[int]]
        # N:     Got:
        # N:         @overload
        # N:         def __getitem__(self, SupportsIndex, /) -> int
        # N:         @overload
        # N:         def __getitem__(self, slice[SupportsIndex | None, SupportsIndex | None, SupportsIndex | None], /) -> tuple[int, ...]
        words(("a", "b"))  # E: Argument 1 to "words" has incompatible type "tuple[str, str]"; expected "ListArg[str | Deferred[str]] | Deferred[list[str]]"  [arg-type]
        # N: "tuple" is missing following "ListArg" protocol member:
        # N:     clear
        # N: Following member(s) of "tuple[str, ...]" have conflicts:
        # N:     Expected:
        # N:         def __getitem__(self, slice[Any, Any, Any], /) -> ListArg[str | Deferred[str]]
        # N:     Got:
        # N:         @overload
        # N:         def __getitem__(self, SupportsIndex, /) -> str
        # N:         @overload
        # N:         def __getitem__(self, slice[SupportsIndex | None, SupportsIndex | None, SupportsIndex | None], /) -> tuple[str, ...]
        words("ab")  # E: Argument 1 to "words" has incompatible type "str"; expected "ListArg[str | Deferred[str]] | Deferred[list[str]]"  [arg-type]
        # N: "str" is missing following "ListArg" protocol member:
        # N:     clear
        # N: Following member(s) of "str" have conflicts:
        # N:     Expected:
        # N:         def __getitem__(self, slice[Any, Any, Any], /) -> ListArg[str | Deferred[str]]
        # N:     Got:
        # N:         def __getitem__(self, SupportsIndex | slice[SupportsIndex | None, SupportsIndex | None, SupportsIndex | None], /) -> str
        g({1, 2})  # E: Argument 1 to "g" has incompatible type "set[int]"; expected "ListArg[int | Deferred[int]] | Deferred[list[int]]"  [arg-type]
        # N: "set" is missing following "ListArg" protocol member:
        # N:     __getitem__
        g(deque([d1]))  # E: Argument 1 to "g" has incompatible type "deque[Deferred[int]]"; expected "ListArg[int | Deferred[int]] | Deferred[list[int]]"  [arg-type]
        # N: Following member(s) of "deque[Deferred[int]]" have conflicts:
        # N:     Expected:
        # N:         def __getitem__(self, slice[Any, Any, Any], /) -> ListArg[int | Deferred[int]]
        # N:     Got:
        # N:         def __getitem__(self, SupportsIndex, /) -> Deferred[int]
