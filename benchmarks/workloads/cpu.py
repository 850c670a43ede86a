"""CPU-bound: does the scheduler keep both cores busy with pure-Python work?"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from typing import Any

from ..harness import dask_scheduler, executor, warm_parallelism
from ..optional import compute, delayed
from ..registry import WORKERS, Case, Column, Measurement, Target, Workload, register
from ..tasks import burn, burn_task


def _calibrate(case: Case) -> dict[str, Any]:
    """Loop turns for ``case["seconds"]`` of ``burn``, and the serial time of one such call.

    Sized on CPU time (``time.process_time``), so a loaded machine does not shrink the tasks.
    """
    turns = 100_000
    while True:
        begin = time.process_time()
        burn(turns)
        took = time.process_time() - begin
        if took > 0.02:
            break
        turns *= 4
    iterations = max(1, int(turns * case["seconds"] / took))
    samples = []
    for _ in range(3):
        begin = time.perf_counter()
        burn(iterations)
        samples.append(time.perf_counter() - begin)
    return {"iterations": iterations, "serial_s": statistics.median(samples) * case.tasks}


SERIAL_CALLS = 3
"""Calls timed serially after each run: on this VM one call's time varies by tens of percent from
one minute to the next, so a single call made a poor reference (peers read efficiencies above 1)."""


def _serial_reference(m: Measurement) -> None:
    """The median of a few calls timed serially in this process right after the timed part, times
    the task count: the serial time under the same machine load as the parallel run it is
    compared with."""
    samples = []
    for _ in range(SERIAL_CALLS):
        begin = time.perf_counter()
        burn(m.calibration["iterations"])
        samples.append(time.perf_counter() - begin)
    m.extras["serial_s"] = statistics.median(samples) * m.case.tasks


def _efficiency(case: Case, record: Mapping[str, Any], calibration: Mapping[str, Any]) -> dict[str, float]:
    wall = record.get("wall_s")
    if not wall:
        return {}
    serial = record.get("serial_s", calibration["serial_s"])
    return {"efficiency": serial / (WORKERS * wall)}


def _judge(summary: Mapping[str, Any]) -> tuple[bool, str] | None:
    ours = summary.get("parallelism") or {}
    efficiency = ours.get("efficiency")
    if efficiency is None:
        return None
    return efficiency >= 0.95, f"efficiency {efficiency:.3f}"


def _case(tasks: int, seconds: float) -> Case:
    return Case(f"{tasks} x {seconds:g} s", tasks, {"seconds": seconds})


cpu = register(
    Workload(
        name="cpu-bound",
        title="CPU-bound: pure-Python tasks on 2 processes (efficiency = serial / (2 x wall))",
        notes={
            "*": "serial time: the median of 3 calls timed in the measuring process right after the run, "
            "x tasks; on a loaded machine the other processes take the cores and no peer gets near 1"
        },
        order=50,
        full=(_case(8, 0.25),),
        quick=(_case(4, 0.02),),
        peers=("parallelism", "cf", "dask-processes", "dask-distributed"),
        floor=None,
        targets=(Target("efficiency >= 0.95", _judge),),
        columns=(Column("efficiency", "efficiency", "{:.3f}"),),
        calibrate=_calibrate,
        derive=_efficiency,
        check=lambda case, value: value is not None,
    )
)


@cpu.implementation("parallelism")
def _cpu_parallelism(m: Measurement) -> list[int]:
    from parallelism import scheduler

    warm_parallelism(m)
    iterations = m.calibration["iterations"]
    with m.measure():
        with scheduler(processes=WORKERS, threads=WORKERS):
            calls = [burn_task(iterations) for _ in range(m.case.tasks)]
        values = [d.result() for d in calls]
    _serial_reference(m)
    return values


@cpu.implementation("cf")
def _cpu_cf(m: Measurement) -> list[int]:
    iterations = m.calibration["iterations"]
    with executor(m) as pool, m.measure():
        values = [f.result() for f in [pool.submit(burn, iterations) for _ in range(m.case.tasks)]]
    _serial_reference(m)
    return values


@cpu.implementation("dask-processes", "dask-distributed")
def _cpu_dask(m: Measurement) -> list[int]:
    iterations = m.calibration["iterations"]
    with dask_scheduler(m) as options, m.measure():
        values = compute(*[delayed(burn, pure=False)(iterations) for _ in range(m.case.tasks)], **options)
    _serial_reference(m)
    return list(values)
