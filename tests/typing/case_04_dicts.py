"""Case 4: ``dict[K, V]`` and ``Mapping[K, V]``: values take Deferreds, keys don't (the runtime
resolves dict values only)."""

from collections.abc import Mapping, MutableMapping

from parallelism import Deferred, process, scheduler


@process
def scores(by_name: dict[str, int]) -> int:
    return sum(by_name.values())


@process
def lookup(table: Mapping[str, float]) -> float:
    return sum(table.values())


@process
def update(table: MutableMapping[str, int]) -> None:
    table["x"] = 1


def pipeline(
    d_int: Deferred[int],
    d_str: Deferred[str],
    deferred_values: dict[str, Deferred[int]],
) -> None:
    with scheduler():
        scores({"a": d_int, "b": 2})
        scores({})
        scores(deferred_values)
        scores({"a": d_str})  # E: Dict entry 0 has incompatible type "str": "Deferred[str]"; expected "str": "int | Deferred[int]"  [dict-item]
        scores({d_str: 1})  # E: Dict entry 0 has incompatible type "Deferred[str]": "int"; expected "str": "int | Deferred[int]"  [dict-item]
        scores({1: 2})  # E: Dict entry 0 has incompatible type "int": "int"; expected "str": "int | Deferred[int]"  [dict-item]
        lookup({"a": d_int, "b": 2.5})
        lookup(deferred_values)
        lookup({"a": d_str})  # E: Dict entry 0 has incompatible type "str": "Deferred[str]"; expected "str": "float | Deferred[float]"  [dict-item]
        lookup({d_str: 1.0})  # E: Dict entry 0 has incompatible type "Deferred[str]": "float"; expected "str": "float | Deferred[float]"  [dict-item]
        update({"a": d_int})
