"""Case 18: outside task calls a Deferred is not its value: ``.result()`` is."""

from parallelism import Deferred, process, scheduler


@process
def f(x: int) -> str:
    return str(x)


def plain(x: int) -> int:
    return x


def pipeline(d: Deferred[int]) -> None:
    with scheduler():
        out = f(d)
    reveal_type(out.result())  # N: Revealed type is "str"
    reveal_type(out.exception())  # N: Revealed type is "BaseException | None"
    n: int = d  # E: Incompatible types in assignment (expression has type "Deferred[int]", variable has type "int")  [assignment]
    plain(d)  # E: Argument 1 to "plain" has incompatible type "Deferred[int]"; expected "int"  [arg-type]
    d + 1  # E: Unsupported operand types for + ("Deferred[int]" and "int")  [operator]
    len(out)  # E: Argument 1 to "len" has incompatible type "Deferred[str]"; expected "Sized"  [arg-type]
    out.upper()  # E: "Deferred[str]" has no attribute "upper"  [attr-defined]
    ok: int = d.result()
    wider: Deferred[object] = d
    narrower: Deferred[bool] = d  # E: Incompatible types in assignment (expression has type "Deferred[int]", variable has type "Deferred[bool]")  [assignment]
