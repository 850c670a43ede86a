"""Graphs with dependencies: a chain (latency of one hop) and a layered DAG (bookkeeping)."""

from __future__ import annotations

from typing import Any

from ..harness import dask_scheduler, executor, warm_parallelism
from ..optional import compute, delayed
from ..registry import WORKERS, Case, Measurement, Target, Workload, ratio_target, register
from ..tasks import (
    combine,
    combine_task,
    dag_parents,
    dag_reference,
    increment,
    increment_task,
    square,
    square_task,
)

chain = register(
    Workload(
        name="chain",
        title="chain of process tasks, each taking the previous value",
        order=30,
        full=(Case("1,000 hops", 1000),),
        quick=(Case("50 hops", 50),),
        peers=("parallelism", "parallelism+info", "cf", "dask-processes", "dask-distributed"),
        notes={
            "cf": "driven from the caller: submit(increment, value).result() per hop",
            "dask-processes": "one delayed graph (its building is in the time); every hop's value goes "
            "through the caller, as in dask's local scheduler every value does",
        },
        targets=(ratio_target("<= 0.3x concurrent.futures", "parallelism", 0.3),),
        check=lambda case, value: bool(value == case.tasks),
    )
)


@chain.implementation("parallelism", "parallelism+info")
def _chain_parallelism(m: Measurement) -> int:
    from parallelism import scheduler

    warm_parallelism(m)
    with m.measure():
        with scheduler(processes=WORKERS, threads=WORKERS):
            value = increment_task(0)
            for _ in range(m.case.tasks - 1):
                value = increment_task(value)
        result = value.result()
    return result


@chain.implementation("cf")
def _chain_cf(m: Measurement) -> int:
    with executor(m) as pool, m.measure():
        value = 0
        for _ in range(m.case.tasks):
            value = pool.submit(increment, value).result()
    return value


@chain.implementation("dask-processes", "dask-distributed")
def _chain_dask(m: Measurement) -> int:
    with dask_scheduler(m) as options, m.measure():
        value: Any = 0
        for _ in range(m.case.tasks):
            value = delayed(increment)(value)
        (result,) = compute(value, **options)
    return int(result)


def _dag_check(case: Case, value: Any) -> bool:
    return bool(value == dag_reference(case["layers"], case["width"]))


def _dag_case(layers: int, width: int) -> Case:
    return Case(f"{layers} layers x {width}", layers * width, {"layers": layers, "width": width})


def _five_times_faster(peer: str) -> Target:
    return ratio_target(f">= 5x faster than {peer}", "parallelism", 0.2, against=peer)


dag = register(
    Workload(
        name="dag",
        title="layered DAG: each task depends on 3 tasks of the layer before",
        order=40,
        full=(_dag_case(20, 100),),
        quick=(_dag_case(4, 20),),
        peers=("parallelism", "cf", "dask-processes", "dask-distributed"),
        notes={"cf": "no graph: one layer at a time from the caller (result() of a layer, then submit)"},
        targets=(_five_times_faster("dask-processes"), _five_times_faster("dask-distributed")),
        check=_dag_check,
    )
)


@dag.implementation("parallelism")
def _dag_parallelism(m: Measurement) -> int:
    from parallelism import scheduler

    warm_parallelism(m)
    layers = dag_parents(m.case["layers"], m.case["width"])
    with m.measure():
        with scheduler(processes=WORKERS, threads=WORKERS):
            previous = [square_task(j) for j in range(m.case["width"])]
            for parents in layers:
                previous = [combine_task(previous[a], previous[b], previous[c]) for a, b, c in parents]
        values = [d.result() for d in previous]
    return sum(values)


@dag.implementation("cf")
def _dag_cf(m: Measurement) -> int:
    layers = dag_parents(m.case["layers"], m.case["width"])
    with executor(m) as pool, m.measure():
        values = [f.result() for f in [pool.submit(square, j) for j in range(m.case["width"])]]
        for parents in layers:
            futures = [pool.submit(combine, values[a], values[b], values[c]) for a, b, c in parents]
            values = [f.result() for f in futures]
    return sum(values)


@dag.implementation("dask-processes", "dask-distributed")
def _dag_dask(m: Measurement) -> int:
    layers = dag_parents(m.case["layers"], m.case["width"])
    with dask_scheduler(m) as options, m.measure():
        previous = [delayed(square)(j) for j in range(m.case["width"])]
        for parents in layers:
            previous = [delayed(combine)(previous[a], previous[b], previous[c]) for a, b, c in parents]
        values = compute(*previous, **options)
    return sum(values)
