"""Case 2: a ``Deferred[X]`` is accepted where the task takes ``X`` (covariantly), nothing else is."""

from parallelism import Deferred, process, scheduler


@process
def f(x: int) -> str:
    return str(x)


@process
def count(word: str) -> int:
    return len(word)


def pipeline(d_int: Deferred[int], d_bool: Deferred[bool], d_str: Deferred[str]) -> None:
    with scheduler():
        f(1)
        f(d_int)
        f(d_bool)
        f(True)
        f(count("abc"))
        f(f(1))  # E: Argument 1 to "f" has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [arg-type]
        f(d_str)  # E: Argument 1 to "f" has incompatible type "Deferred[str]"; expected "int | Deferred[int]"  [arg-type]
        f("1")  # E: Argument 1 to "f" has incompatible type "str"; expected "int | Deferred[int]"  [arg-type]
        f(1.5)  # E: Argument 1 to "f" has incompatible type "float"; expected "int | Deferred[int]"  [arg-type]
        f(None)  # E: Argument 1 to "f" has incompatible type "None"; expected "int | Deferred[int]"  [arg-type]
