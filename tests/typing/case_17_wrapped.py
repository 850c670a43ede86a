"""Case 17: ``task.__wrapped__`` is the plain function: it returns ``R`` and takes no Deferreds."""

from parallelism import Deferred, process, thread


@process
def f(x: int) -> str:
    return str(x)


@thread
async def fetch(url: str) -> bytes:
    return url.encode()


def direct(d: Deferred[int]) -> None:
    reveal_type(f.__wrapped__(1))  # N: Revealed type is "str"
    reveal_type(fetch.__wrapped__)  # N: Revealed type is "def (url: str) -> typing.Coroutine[Any, Any, bytes]"
    text: str = f.__wrapped__(1)
    f.__wrapped__(d)  # E: Argument 1 has incompatible type "Deferred[int]"; expected "int"  [arg-type]
    f.__wrapped__([1])  # E: Argument 1 has incompatible type "list[int]"; expected "int"  [arg-type]
