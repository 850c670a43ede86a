"""Big data: 100 MB NumPy arrays made by process tasks and consumed by other process tasks.

What is timed is where the bytes go: through the caller over two pipes (``concurrent.futures``),
or not at all when the consumer runs where the value is.
"""

from __future__ import annotations

from typing import Any

from ..harness import dask_scheduler, executor, warm_parallelism
from ..optional import compute, delayed
from ..registry import WORKERS, Case, Column, Measurement, Workload, ratio_target, register
from ..tasks import checksum, checksum_task, make_array, make_array_task


def _case(pairs: int, megabytes: int) -> Case:
    return Case(f"{pairs} x {megabytes} MB", 2 * pairs, {"pairs": pairs, "megabytes": megabytes})


def _check(case: Case, sums: Any) -> bool:
    elements = case["megabytes"] * 131_072
    expected = [float(i) * len(range(0, elements, 4096)) for i in range(case["pairs"])]
    return bool(list(sums) == expected)


def _throughput(case: Case, record: Any, calibration: Any) -> dict[str, float]:
    wall = record.get("wall_s")
    return {"mb_per_s": case["pairs"] * case["megabytes"] / wall} if wall else {}


bigdata = register(
    Workload(
        name="big-data",
        title="big data: process tasks each making a NumPy array, consumed by another process task",
        order=60,
        full=(_case(8, 100),),
        quick=(_case(2, 1),),
        peers=("parallelism", "cf", "dask-processes", "dask-distributed"),
        requires=("numpy",),
        floor=None,
        notes={
            "cf": "each array comes back to the caller, then goes to the consumer's worker",
            "dask-processes": "one graph; dask's local scheduler brings every value back to the caller "
            "and sends it to its consumer, like concurrent.futures",
            "dask-distributed": "the consumer runs in the worker that holds the array: it never moves",
        },
        targets=(ratio_target("<= 0.1x concurrent.futures", "parallelism", 0.1),),
        columns=(Column("mb_per_s", "MB/s", "{:.0f}"),),
        derive=_throughput,
        check=_check,
    )
)


@bigdata.implementation("parallelism")
def _bigdata_parallelism(m: Measurement) -> list[float]:
    from parallelism import scheduler

    warm_parallelism(m)
    megabytes = m.case["megabytes"]
    with m.measure():
        with scheduler(processes=WORKERS, threads=WORKERS):
            sums = [checksum_task(make_array_task(i, megabytes)) for i in range(m.case["pairs"])]
        values = [d.result() for d in sums]
    return values


@bigdata.implementation("cf")
def _bigdata_cf(m: Measurement) -> list[float]:
    megabytes = m.case["megabytes"]
    with executor(m) as pool, m.measure():
        arrays = [pool.submit(make_array, i, megabytes) for i in range(m.case["pairs"])]
        sums = [pool.submit(checksum, f.result()) for f in arrays]
        values = [f.result() for f in sums]
    return values


@bigdata.implementation("dask-processes", "dask-distributed")
def _bigdata_dask(m: Measurement) -> list[float]:
    megabytes = m.case["megabytes"]
    with dask_scheduler(m) as options, m.measure():
        sums = [delayed(checksum)(delayed(make_array)(i, megabytes)) for i in range(m.case["pairs"])]
        values = compute(*sums, **options)
    return list(values)
