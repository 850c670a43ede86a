"""The seed's "Code flow" example, as a script: process and thread tasks passing values along.

Run it with ``python examples/seed_code_flow.py``.  Each ``func1``/``func2`` line is printed by the
task as it starts (from a worker process for ``Process`` tasks); each ``'p1' ran approximately ...``
line is the library's log line (on stderr; the script configures no logging, so the run attaches a
handler with the seed's format for its duration).
"""

from __future__ import annotations

from multiprocessing import Process
from threading import Thread
from typing import Any

from parallelism import SchedulerResult, scheduled_task, task_scheduler


def func1(a: Any, b: Any, c: Any) -> Any:
    print(f"func1(a={a}, b={b}, c={c})\n", end="")
    return a + b + c


def func2(x: Any) -> Any:
    print(f"func2(x={x})\n", end="")
    return x


def main() -> SchedulerResult:
    p1 = scheduled_task(Process, "p1", func1, args=(1, 2, 3))
    p2 = scheduled_task(Process, "p2", func1, args=(4, 5, 6))
    p3 = scheduled_task(Process, "p3", func1, args=(7, 8, 9))
    t1 = scheduled_task(Thread, "t1", func2, kwargs={"x": p1.return_value})
    t2 = scheduled_task(Thread, "t2", func2, kwargs={"x": p2.return_value})
    t3 = scheduled_task(Thread, "t3", func2, kwargs={"x": p3.return_value})
    p4 = scheduled_task(Process, "p4", func1, args=(t1.return_value, t2.return_value, t3.return_value))
    t4 = scheduled_task(Thread, "t4", func2, kwargs={"x": p4.return_value})
    return task_scheduler(tasks=(p1, p2, p3, t1, t2, t3, p4, t4), processes=2, threads=2)


if __name__ == "__main__":
    main()
