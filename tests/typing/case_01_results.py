"""Case 1: a task call's result is ``Deferred[R]``; the task keeps its parameters."""

from parallelism import Deferred, Task, process, scheduler, thread


@process
def f(x: int) -> str:
    return str(x)


@process(processes=2)
def g(xs: list[int]) -> int:
    return sum(xs)


@thread
def h(a: int, b: str = "-", *, sep: str = ",") -> str:
    return f"{a}{sep}{b}"


def pipeline(d: Deferred[int]) -> None:
    with scheduler() as result:
        reveal_type(f(1))  # N: Revealed type is "parallelism._deferred.Deferred[str]"
        reveal_type(g([d, 2]))  # N: Revealed type is "parallelism._deferred.Deferred[int]"
        reveal_type(h(d, sep=";"))  # N: Revealed type is "parallelism._deferred.Deferred[str]"
        reveal_type(f)  # N: Revealed type is "parallelism._task.Task[[x: int], str]"
        reveal_type(g)  # N: Revealed type is "parallelism._task.Task[[xs: list[int]], int]"
        reveal_type(h)  # N: Revealed type is "parallelism._task.Task[[a: int, b: str =, *, sep: str =], str]"
        total: Deferred[int] = g([1, 2])
        words: Deferred[str] = g([1])  # E: Incompatible types in assignment (expression has type "Deferred[int]", variable has type "Deferred[str]")  [assignment]
    reveal_type(f(1).result())  # N: Revealed type is "str"
    reveal_type(result.elapsed_time)  # N: Revealed type is "dict[str, float]"


task: Task[[int], str] = f
wrong: Task[[str], str] = f  # E: Incompatible types in assignment (expression has type "Task[[int], str]", variable has type "Task[[str], str]")  [assignment]
