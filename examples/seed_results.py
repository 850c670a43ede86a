"""The seed's "Results" example, as a script: cancellations, a failure, and the four result dicts.

Run it with ``python examples/seed_results.py``.  ``p3`` asks for more slots than the scheduler
has, so it and its dependent ``t3`` are cancelled before anything runs; ``p2`` divides by zero, so
its dependent ``t2`` is cancelled; the rest run.  The log lines go to stderr, then the four dicts of
the ``SchedulerResult`` are printed the way the seed shows them, one entry per line.
"""

from __future__ import annotations

from multiprocessing import Process
from threading import Thread
from typing import Any

from parallelism import SchedulerResult, scheduled_task, task_scheduler


def func1(a: Any, b: Any) -> Any:
    print(f"func1(a={a}, b={b})\n", end="")
    return a / b


def func2(x: Any) -> Any:
    print(f"func2(x={x})\n", end="")
    return x


def main() -> SchedulerResult:
    p1 = scheduled_task(Process, "p1", func1, (5, 2))
    p2 = scheduled_task(Process, "p2", func1, (3, 0))
    p3 = scheduled_task(Process, "p3", func1, (9, 0), processes=2, threads=4)
    p4 = scheduled_task(Process, "p4", func1, (7, 2))
    t1 = scheduled_task(Thread, "t1", func2, (p1.return_value,), continual=True)
    t2 = scheduled_task(Thread, "t2", func2, (p2.return_value,), continual=True)
    t3 = scheduled_task(Thread, "t3", func2, (p3.return_value,), continual=True)
    t4 = scheduled_task(Thread, "t4", func2, (p4.return_value,), continual=True)
    return task_scheduler(tasks=(p1, p2, p3, p4, t1, t2, t3, t4), processes=2, threads=2)


def show(label: str, mapping: dict[str, Any]) -> None:
    """Print ``>>> s1.<label>`` and the dict, one entry per line, as the seed lays it out."""
    print(f">>> s1.{label}", flush=True)
    print("{")
    for key, value in mapping.items():
        print(f"    {key!r}: {value!r},")
    print("}", flush=True)


if __name__ == "__main__":
    s1 = main()
    show("execution_time", s1.execution_time)
    show("elapsed_time", s1.elapsed_time)
    show("raise_exception", s1.raise_exception)
    show("return_value", s1.return_value)
