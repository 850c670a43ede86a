"""Case 12: the decorator forms and their options; unknown options and wrong types are rejected."""

from parallelism import Deferred, Task, TaskDecorator, process, scheduler, thread


@process
def a(x: int) -> int:
    return x


@process()
def b(x: int) -> int:
    return x


@process(processes=2, threads=4, name="crunch", retries=2, timeout=1.5, priority=1, continual=True)
def c(x: int) -> int:
    return x


@thread
def d(x: int) -> int:
    return x


@thread(threads=2, name=None, retries=0, timeout=None)
def e(x: int) -> int:
    return x


def plain(x: int) -> str:
    return str(x)


direct = process(plain)
options = thread(threads=1)
later = options(plain)
reveal_type(c)  # N: Revealed type is "parallelism._task.Task[[x: int], int]"
reveal_type(direct)  # N: Revealed type is "parallelism._task.Task[[x: int], str]"
reveal_type(options)  # N: Revealed type is "parallelism._task.TaskDecorator"
reveal_type(later)  # N: Revealed type is "parallelism._task.Task[[x: int], str]"


def pipeline(n: Deferred[int]) -> None:
    with scheduler():
        for task in (a, b, c, d, e):
            task(n)
        direct(n)
        later(n)


@process(procs=2)  # E: Unexpected keyword argument "procs" for overloaded function "process"  [call-overload]
# E: Untyped decorator makes function "wrong_name" untyped  [untyped-decorator]
def wrong_name(x: int) -> int:
    return x


@process(retries="2")  # E: No overload variant of "process" matches argument type "str"  [call-overload]
# N: Possible overload variants:
# N:     def [P, R] process(Callable[P, R], /) -> Task[P, R]
# N:     def process(*, processes: int = ..., threads: int = ..., name: str | None = ..., continual: bool = ..., priority: float | None = ..., retries: int = ..., timeout: float | None = ...) -> TaskDecorator
# E: Untyped decorator makes function "wrong_type" untyped  [untyped-decorator]
def wrong_type(x: int) -> int:
    return x


@thread(timeout="1s")  # E: No overload variant of "thread" matches argument type "str"  [call-overload]
# N: Possible overload variants:
# N:     def [P, R] thread(Callable[P, R], /) -> Task[P, R]
# N:     def thread(*, processes: int = ..., threads: int = ..., name: str | None = ..., continual: bool = ..., priority: float | None = ..., retries: int = ..., timeout: float | None = ...) -> TaskDecorator
# E: Untyped decorator makes function "wrong_timeout" untyped  [untyped-decorator]
def wrong_timeout(x: int) -> int:
    return x


process(1)  # E: No overload variant of "process" matches argument type "int"  [call-overload]
# N: Possible overload variants:
# N:     def [P, R] process(Callable[P, R], /) -> Task[P, R]
# N:     def process(*, processes: int = ..., threads: int = ..., name: str | None = ..., continual: bool = ..., priority: float | None = ..., retries: int = ..., timeout: float | None = ...) -> TaskDecorator
