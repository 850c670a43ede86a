"""Tiny tasks: the per-task overhead of a scheduler, with nothing else in the way."""

from __future__ import annotations

from typing import Any

from ..harness import dask_scheduler, executor, warm_parallelism
from ..optional import compute, delayed
from ..registry import WORKERS, Case, Measurement, Workload, ratio_target, register
from ..tasks import square, square_task, square_thread


def _check(case: Case, total: Any) -> bool:
    return bool(total == sum(i * i for i in range(case.tasks)))


tiny_process = register(
    Workload(
        name="tiny-process",
        title="tiny process tasks: independent calls returning i * i",
        order=10,
        full=(Case("2,000 tasks", 2000),),
        quick=(Case("200 tasks", 200),),
        peers=("parallelism", "parallelism+info", "cf", "dask-processes", "dask-distributed"),
        notes={"cf": "ProcessPoolExecutor(2): submit all, then result() of each"},
        targets=(ratio_target("<= 0.5x concurrent.futures", "parallelism", 0.5),),
        check=_check,
    )
)


@tiny_process.implementation("parallelism", "parallelism+info")
def _tiny_process_parallelism(m: Measurement) -> int:
    from parallelism import scheduler

    warm_parallelism(m)
    with m.measure():
        with scheduler(processes=WORKERS, threads=WORKERS):
            squares = [square_task(i) for i in range(m.case.tasks)]
        values = [d.result() for d in squares]
    return sum(values)


@tiny_process.implementation("cf")
def _tiny_process_cf(m: Measurement) -> int:
    with executor(m) as pool, m.measure():
        futures = [pool.submit(square, i) for i in range(m.case.tasks)]
        values = [future.result() for future in futures]
    return sum(values)


def _tiny_dask(m: Measurement, *, threads: bool) -> int:
    with dask_scheduler(m, threads=threads) as options, m.measure():
        values = compute(*[delayed(square)(i) for i in range(m.case.tasks)], **options)
    return sum(values)


@tiny_process.implementation("dask-processes", "dask-distributed")
def _tiny_process_dask(m: Measurement) -> int:
    return _tiny_dask(m, threads=False)


tiny_thread = register(
    Workload(
        name="tiny-thread",
        title="tiny thread tasks: independent calls returning i * i",
        order=20,
        full=(Case("10,000 thread tasks", 10000),),
        quick=(Case("500 thread tasks", 500),),
        peers=("parallelism", "parallelism+info", "cf", "dask-threads", "dask-distributed"),
        floor="thread",
        notes={
            "cf": "ThreadPoolExecutor(2): submit all, then result() of each",
            "dask-distributed": "LocalCluster(processes=False): one in-process worker, 2 threads",
        },
        targets=(ratio_target("<= 2.0x concurrent.futures", "parallelism", 2.0),),
        check=_check,
    )
)


@tiny_thread.implementation("parallelism", "parallelism+info")
def _tiny_thread_parallelism(m: Measurement) -> int:
    from parallelism import scheduler

    warm_parallelism(m, threads=True)
    with m.measure():
        with scheduler(processes=WORKERS, threads=WORKERS):
            squares = [square_thread(i) for i in range(m.case.tasks)]
        values = [d.result() for d in squares]
    return sum(values)


@tiny_thread.implementation("cf")
def _tiny_thread_cf(m: Measurement) -> int:
    with executor(m, "thread") as pool, m.measure():
        futures = [pool.submit(square, i) for i in range(m.case.tasks)]
        values = [future.result() for future in futures]
    return sum(values)


@tiny_thread.implementation("dask-threads", "dask-distributed")
def _tiny_thread_dask(m: Measurement) -> int:
    return _tiny_dask(m, threads=True)
