"""Mixed: process tasks feed thread tasks, which feed process tasks (one graph where possible)."""

from __future__ import annotations

from typing import Any

from ..harness import dask_scheduler, executor, warm_parallelism
from ..optional import compute, delayed
from ..registry import WORKERS, Case, Measurement, Target, Workload, ratio_target, register
from ..tasks import increment, increment_task, pair_sum, pair_sum_thread, square, square_task


def _case(items: int) -> Case:
    return Case(f"{items} items x 3 stages", 3 * items, {"items": items})


def _check(case: Case, total: Any) -> bool:
    items = case["items"]
    squares = [i * i for i in range(items)]
    return bool(total == sum(squares[i] + squares[i - 1] + 1 for i in range(items)))


def _five_times_faster(peer: str) -> Target:
    return ratio_target(f">= 5x faster than {peer}", "parallelism", 0.2, against=peer)


mixed = register(
    Workload(
        name="mixed",
        title="mixed pipeline: square (process) -> pair_sum of two squares (thread) -> increment (process)",
        order=70,
        full=(_case(500),),
        quick=(_case(30),),
        peers=("parallelism", "cf", "dask-processes", "dask-distributed"),
        notes={
            "cf": "not one graph: two pools (processes, threads), each stage joined in the caller",
            "dask-processes": "one graph, but every stage runs in the process pool (no per-task choice)",
            "dask-distributed": "one graph, every stage on the worker processes (no per-task choice)",
        },
        targets=(_five_times_faster("dask-processes"), _five_times_faster("dask-distributed")),
        check=_check,
    )
)


@mixed.implementation("parallelism")
def _mixed_parallelism(m: Measurement) -> int:
    from parallelism import scheduler

    warm_parallelism(m)
    items = m.case["items"]
    with m.measure():
        with scheduler(processes=WORKERS, threads=WORKERS):
            squares = [square_task(i) for i in range(items)]
            pairs = [pair_sum_thread(squares[i], squares[i - 1]) for i in range(items)]
            out = [increment_task(p) for p in pairs]
        values = [d.result() for d in out]
    return sum(values)


@mixed.implementation("cf")
def _mixed_cf(m: Measurement) -> int:
    from concurrent.futures import ThreadPoolExecutor

    items = m.case["items"]
    with executor(m) as processes, ThreadPoolExecutor(WORKERS) as threads, m.measure():
        squares = [f.result() for f in [processes.submit(square, i) for i in range(items)]]
        pairs = [threads.submit(pair_sum, squares[i], squares[i - 1]) for i in range(items)]
        out = [processes.submit(increment, f.result()) for f in pairs]
        values = [f.result() for f in out]
    return sum(values)


@mixed.implementation("dask-processes", "dask-distributed")
def _mixed_dask(m: Measurement) -> int:
    items = m.case["items"]
    with dask_scheduler(m) as options, m.measure():
        squares = [delayed(square)(i) for i in range(items)]
        pairs = [delayed(pair_sum)(squares[i], squares[i - 1]) for i in range(items)]
        values = compute(*[delayed(increment)(p) for p in pairs], **options)
    return sum(values)
