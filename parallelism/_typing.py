"""Types the mypy plugin widens task parameters to; they exist only for type checking.

``list``, ``set`` and ``dict`` are invariant, so ``list[int]``, ``list[Deferred[int]]`` and a
mixed ``[d, 3]`` are unrelated types.  A task call accepts them all because the plugin widens a
``list[X]`` parameter to ``ListArg[X | Deferred[X]] | Deferred[list[X]]`` (``mypy_plugin.py``).

These protocols are covariant and read-only, and each has a member or two that keeps out what
the run would not resolve Deferreds inside (``_graph.find_deferreds``: exact list, set and dict):
``clear`` keeps out tuples, strings, ranges and frozensets, list's slicing keeps out deques,
``isdisjoint`` keeps lists and dicts out of ``SetArg``, and ``__reversed__`` keeps ``UserDict``,
``ChainMap`` and mapping proxies out of ``DictArg``.  Static types cannot say "exactly list", so
subclasses (``OrderedDict``) and close look-alikes (``UserList``, ``bytearray``) still get in.
Members must not mention ``Any``: mypy infers a display's item type against these protocols'
members too, and an ``Any`` there would let any item in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

__all__ = ["DictArg", "ListArg", "SetArg"]

T_co = TypeVar("T_co", covariant=True)
K = TypeVar("K")
V_co = TypeVar("V_co", covariant=True)


class ListArg(Protocol[T_co]):
    """What a task call accepts for a ``list[X]`` parameter: a list of ``X | Deferred[X]``."""

    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[T_co]: ...
    def __getitem__(self, index: slice, /) -> ListArg[T_co]: ...
    def clear(self) -> None: ...


class SetArg(Protocol[T_co]):
    """What a task call accepts for a ``set[X]`` parameter: a set of ``X | Deferred[X]``."""

    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[T_co]: ...
    def __contains__(self, item: object, /) -> bool: ...
    def isdisjoint(self, other: Iterable[object], /) -> bool: ...
    def clear(self) -> None: ...


class DictArg(Protocol[K, V_co]):
    """What a task call accepts for a ``dict[K, V]`` parameter: keys as they are, values widened."""

    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[K]: ...
    def __reversed__(self) -> Iterator[K]: ...
    def __getitem__(self, key: K, /) -> V_co: ...
    def clear(self) -> None: ...
