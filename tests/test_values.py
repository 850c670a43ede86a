"""A task's value in the caller (``_serialize.Value``): unpickled at most once, whoever asks."""

from __future__ import annotations

import itertools
import threading
from typing import Any

from parallelism._serialize import Value, dumps

_unpickled = itertools.count()
"""Advanced by each unpickling of a ``Counted`` (``next`` on a count is atomic)."""


class Counted:
    """Counts how many times it is unpickled."""

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_rebuild, ())


def _rebuild() -> Counted:
    next(_unpickled)
    return Counted()


def _ask_at_once(value: Value, threads: int) -> list[Any]:
    """``value.live()`` from ``threads`` threads released together; what each got."""
    start = threading.Barrier(threads)
    seen: list[Any] = []

    def ask() -> None:
        start.wait(timeout=60)  # deadlock detector only
        seen.append(value.live())

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return seen


def test_threads_asking_at_once_share_one_unpickled_object() -> None:
    for _ in range(20):
        before = next(_unpickled)
        seen = _ask_at_once(Value(data=dumps(Counted())), 8)
        assert next(_unpickled) == before + 2, "unpickled more than once"
        assert len(seen) == 8 and all(obj is seen[0] for obj in seen)


def test_a_live_value_is_pickled_once_and_kept() -> None:
    value = Value(obj=[1, 2, 3])
    frames = value.pickled()
    assert value.pickled() is frames
    assert value.live() == [1, 2, 3]
