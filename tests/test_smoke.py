from __future__ import annotations

from parallelism import process, scheduler, thread


@process
def square(x: int) -> int:
    return x * x


@thread
def add(a: int, b: int) -> int:
    return a + b


def test_values_flow_from_processes_to_threads(backend: str) -> None:
    with scheduler(processes=2, threads=2, backend=backend) as result:
        a = square(3)
        b = square(4)
        c = add(a, b)
    assert c.result() == 25
    assert set(result.execution_time) == {"square", "square-2", "add"}
