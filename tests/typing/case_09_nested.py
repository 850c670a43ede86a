"""Case 9: nested containers are widened at every level the runtime walks."""

from parallelism import Deferred, process, scheduler


@process
def matrix(rows: list[list[int]]) -> int:
    return len(rows)


@process
def groups(by_key: dict[str, list[int]]) -> int:
    return len(by_key)


@process
def record(r: tuple[list[int], dict[str, tuple[int, str]]]) -> int:
    return 0


def pipeline(d: Deferred[int], d_str: Deferred[str], d_row: Deferred[list[int]], rows: list[list[Deferred[int]]]) -> None:
    with scheduler():
        matrix([[d, 1], [2], d_row])
        matrix(rows)
        matrix([d_row, [d]])
        groups({"a": [d, 1], "b": d_row})
        record(([d], {"k": (d, d_str)}))
        matrix([[d_str]])  # E: List item 0 has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [list-item]
        groups({"a": [d_str]})  # E: List item 0 has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [list-item]
        record(([d], {"k": (d_str, d)}))  # E: Dict entry 0 has incompatible type "str": "tuple[Deferred[str], Deferred[int]]"; expected "str": "tuple[int | Deferred[int], str | Deferred[str]] | Deferred[tuple[int, str]]"  [dict-item]
