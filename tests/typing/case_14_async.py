"""Case 14: an ``async def`` task gives a Deferred of the awaited type."""

from collections.abc import Coroutine
from typing import Any

from parallelism import Deferred, Task, process, scheduler, thread


@thread
async def fetch(url: str, retries: int = 1) -> bytes:
    return url.encode()


@process
async def parse(data: bytes) -> int:
    return len(data)


def pipeline(d_url: Deferred[str], d_int: Deferred[int]) -> None:
    with scheduler():
        reveal_type(fetch)  # N: Revealed type is "parallelism._task.Task[[url: str, retries: int =], typing.Coroutine[Any, Any, bytes]]"
        page = fetch(d_url, retries=d_int)
        reveal_type(page)  # N: Revealed type is "parallelism._deferred.Deferred[bytes]"
        reveal_type(parse(page))  # N: Revealed type is "parallelism._deferred.Deferred[int]"
        fetch(d_int)  # E: Argument 1 to "fetch" has incompatible type "Deferred[int]"; expected "str | Deferred[str]"  [arg-type]
    reveal_type(page.result())  # N: Revealed type is "bytes"


stored: Task[[str, int], Coroutine[Any, Any, bytes]] = fetch


def later(d_url: Deferred[str]) -> None:
    with scheduler():
        reveal_type(stored(d_url, 2))  # N: Revealed type is "parallelism._deferred.Deferred[bytes]"
