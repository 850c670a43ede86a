"""Case 6: ``Sequence``, ``Iterable``, ``AbstractSet``... take the containers the runtime resolves
(list, tuple, set, frozenset) with Deferred items, and any other value of the type as it is; a
deque or a generator of Deferreds is not resolved at run time, so it is rejected."""

from collections import deque
from collections.abc import Iterable, Iterator, MutableSequence, Sequence, Set

from parallelism import Deferred, process, scheduler


@process
def total(xs: Sequence[int]) -> int:
    return sum(xs)


@process
def each(xs: Iterable[int]) -> int:
    return sum(xs)


@process
def distinct(xs: Set[int]) -> int:
    return len(xs)


@process
def append(xs: MutableSequence[int]) -> None:
    xs.append(1)


def deferreds(d: Deferred[int]) -> Iterator[Deferred[int]]:
    yield d


def pipeline(d: Deferred[int], d_str: Deferred[str], ds: list[Deferred[int]], dq: deque[Deferred[int]]) -> None:
    with scheduler():
        total([d, 3])
        total((d, 3))
        total(ds)
        total(range(3))
        total(deque([1, 2]))
        total([d_str])  # E: List item 0 has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [list-item]
        total(dq)  # E: Argument 1 to "total" has incompatible type "deque[Deferred[int]]"; expected "ListArg[int | Deferred[int]] | tuple[int | Deferred[int], ...] | Sequence[int] | Deferred[Sequence[int]]"  [arg-type]
        # N: Following member(s) of "deque[Deferred[int]]" have conflicts:
        # N:     Expected:
        # N:         def __getitem__(self, slice[Any, Any, Any], /) -> ListArg[int | Deferred[int]]
        # N:     Got:
        # N:         def __getitem__(self, SupportsIndex, /) -> Deferred[int]
        total("abc")  # E: Argument 1 to "total" has incompatible type "str"; expected "ListArg[int | Deferred[int]] | tuple[int | Deferred[int], ...] | Sequence[int] | Deferred[Sequence[int]]"  [arg-type]
        # N: "str" is missing following "ListArg" protocol member:
        # N:     clear
        # N: Following member(s) of "str" have conflicts:
        # N:     Expected:
        # N:         def __getitem__(self, slice[Any, Any, Any], /) -> ListArg[int | Deferred[int]]
        # N:     Got:
        # N:         def __getitem__(self, SupportsIndex | slice[SupportsIndex | None, SupportsIndex | None, SupportsIndex | None], /) -> str
        # N:     Expected:
        # N:         def __iter__(self) -> Iterator[int | Deferred[int]]
        # N:     Got:
        # N:         def __iter__(self) -> Iterator[str]
        each([d, 3])
        each({d, 3})
        each(frozenset({d}))
        each(range(3))
        each(x + 1 for x in range(3))
        each(deferreds(d))  # E: Argument 1 to "each" has incompatible type "Iterator[Deferred[int]]"; expected "ListArg[int | Deferred[int]] | tuple[int | Deferred[int], ...] | SetArg[int | Deferred[int]] | frozenset[int | Deferred[int]] | Iterable[int] | Deferred[Iterable[int]]"  [arg-type]
        each(x for x in ds)  # E: Generator has incompatible item type "Deferred[int]"; expected "int"  [misc]
        distinct({d, 2})
        distinct(frozenset({1}))
        distinct([d])  # E: Argument 1 to "distinct" has incompatible type "list[Deferred[int]]"; expected "AbstractSet[int] | Deferred[AbstractSet[int]]"  [arg-type]
        append([d, 1])
        append((d, 1))  # E: Argument 1 to "append" has incompatible type "tuple[Deferred[int], int]"; expected "MutableSequence[int] | Deferred[MutableSequence[int]]"  [arg-type]
