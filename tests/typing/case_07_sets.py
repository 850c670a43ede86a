"""Case 7: ``set[X]`` and ``frozenset[X]`` take Deferred items (the runtime resolves both)."""

from parallelism import Deferred, process, scheduler


@process
def unique(xs: set[int]) -> int:
    return len(xs)


@process
def frozen(xs: frozenset[int]) -> int:
    return len(xs)


def pipeline(d: Deferred[int], d_str: Deferred[str], ds: set[Deferred[int]]) -> None:
    with scheduler():
        unique({d, 1})
        unique(ds)
        unique(set())
        unique({d_str})  # E: Argument 1 to <set> has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [arg-type]
        unique(frozenset({1}))  # E: Argument 1 to "unique" has incompatible type "frozenset[int]"; expected "SetArg[int | Deferred[int]] | Deferred[set[int]]"  [arg-type]
        # N: "frozenset" is missing following "SetArg" protocol member:
        # N:     clear
        unique([1])  # E: Argument 1 to "unique" has incompatible type "list[int]"; expected "SetArg[int | Deferred[int]] | Deferred[set[int]]"  [arg-type]
        # N: "list" is missing following "SetArg" protocol member:
        # N:     isdisjoint
        frozen(frozenset({d, 1}))
        frozen(frozenset(ds))
        frozen({1})  # E: Argument 1 to "frozen" has incompatible type "set[int]"; expected "frozenset[int | Deferred[int]] | Deferred[frozenset[int]]"  [arg-type]
