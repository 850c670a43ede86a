"""Start-up included, as a user sees it: one block of tiny process tasks in a fresh interpreter.

Nothing is warmed: the timed part is the whole ``with`` block, worker start (and, for
``parallelism``, the forkserver's) included, each peer with its own default start method.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Any

from ..optional import compute, delayed, distributed
from ..registry import WORKERS, Case, Measurement, Workload, ratio_target, register
from ..tasks import square, square_task


def _check(case: Case, total: Any) -> bool:
    return bool(total == sum(i * i for i in range(case.tasks)))


startup = register(
    Workload(
        name="startup-block",
        title="start-up included: one block of tiny process tasks in a fresh interpreter",
        order=90,
        full=(Case("2,000 tasks", 2000),),
        quick=(Case("200 tasks", 200),),
        peers=("parallelism", "cf", "dask-processes", "dask-distributed"),
        notes={
            "cf": "with ProcessPoolExecutor(2) as pool: submit all, result() of each",
            "dask-processes": "compute(..., scheduler='processes', num_workers=2): a pool per call",
            "dask-distributed": "with LocalCluster(2 workers) and Client: compute(...)",
        },
        targets=(ratio_target("no slower than with ProcessPoolExecutor(2)", "parallelism", 1.0),),
        check=_check,
    )
)


@startup.implementation("parallelism")
def _startup_parallelism(m: Measurement) -> int:
    from parallelism import scheduler

    with m.measure():
        with scheduler(processes=WORKERS, threads=WORKERS):
            squares = [square_task(i) for i in range(m.case.tasks)]
        values = [d.result() for d in squares]
    return sum(values)


@startup.implementation("cf")
def _startup_cf(m: Measurement) -> int:
    with m.measure(), ProcessPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(square, i) for i in range(m.case.tasks)]
        values = [future.result() for future in futures]
    return sum(values)


@startup.implementation("dask-processes")
def _startup_dask(m: Measurement) -> int:
    with m.measure():
        values = compute(
            *[delayed(square)(i) for i in range(m.case.tasks)], scheduler="processes", num_workers=WORKERS
        )
    return sum(values)


@startup.implementation("dask-distributed")
def _startup_distributed(m: Measurement) -> int:
    dist = distributed()
    with (
        m.measure(),
        dist.LocalCluster(n_workers=WORKERS, threads_per_worker=1, dashboard_address=None) as cluster,
        dist.Client(cluster),
    ):
        values = compute(*[delayed(square)(i) for i in range(m.case.tasks)])
    return sum(values)
