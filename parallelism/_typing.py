"""Types the mypy plugin widens task parameters to; they exist only for type checking.

``list`` and ``dict`` are invariant, so ``list[int]``, ``list[Deferred[int]]`` and a mixed
``[d, 3]`` are unrelated types.  A task call accepts them all because the plugin widens a
``list[X]`` parameter to ``ListArg[X | Deferred[X]] | Deferred[list[X]]``: ``ListArg`` is a
covariant, read-only protocol that lists satisfy (``clear`` keeps tuples and strings out).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, TypeVar, overload

__all__ = ["DictArg", "ListArg"]

T_co = TypeVar("T_co", covariant=True)
K = TypeVar("K")
V_co = TypeVar("V_co", covariant=True)


class ListArg(Protocol[T_co]):
    """What a task call accepts for a ``list[...]`` parameter (see the module docstring)."""

    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[T_co]: ...
    @overload
    def __getitem__(self, index: int, /) -> T_co: ...
    @overload
    def __getitem__(self, index: slice, /) -> ListArg[T_co]: ...
    def clear(self) -> None: ...


class DictArg(Protocol[K, V_co]):
    """What a task call accepts for a ``dict[K, V]`` parameter: keys as they are, values widened."""

    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[K]: ...
    def __getitem__(self, key: K, /) -> V_co: ...
    def clear(self) -> None: ...
