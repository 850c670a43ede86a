"""Graph recording alone: what one recorded call costs in time and memory, and how it scales.

Nothing runs: the ``parallelism`` block is abandoned by an exception raised at its end (a block
whose body raises runs nothing), and dask's delayed objects are never computed.  A first pair of
calls, timed apart as start-up, pays the one-time costs (lazy imports, caches) of each peer.  Time is measured
in one pass; bytes (held at the end, and peak) in a separate, traced pass (tracemalloc).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from ..optional import delayed
from ..registry import WORKERS, Case, Column, Measurement, Target, Workload, register
from ..tasks import increment, increment_task, square, square_task


class _AbandonError(Exception):
    """Raised at the end of the block so that nothing runs."""


def _case(shape: str, tasks: int) -> Case:
    return Case(f"{shape} {tasks:,}", tasks, {"shape": shape})


def _judge_time(summary: Mapping[str, Any]) -> tuple[bool, str] | None:
    ours = summary.get("parallelism") or {}
    us = ours.get("us_per_task")
    return None if us is None else (us <= 5.0, f"{us:.2f} us/task")


def _judge_bytes(summary: Mapping[str, Any]) -> tuple[bool, str] | None:
    ours = summary.get("parallelism") or {}
    held = ours.get("bytes_per_task")
    return None if held is None else (held <= 1024, f"{held:.0f} B/task")


recording = register(
    Workload(
        name="recording",
        title="graph recording alone: independent calls, and a chain (nothing runs)",
        order=80,
        full=(
            _case("independent", 1000),
            _case("independent", 10000),
            _case("independent", 100000),
            _case("chain", 1000),
            _case("chain", 10000),
        ),
        quick=(_case("independent", 1000), _case("chain", 300)),
        peers=("parallelism", "dask-delayed"),
        reference="dask-delayed",
        floor=None,
        memory=True,
        notes={
            "cf": "concurrent.futures has no graph to record: not applicable",
            "dask-delayed": "delayed(f)(x) calls, never computed",
        },
        targets=(
            Target("<= 5 us per recorded task", _judge_time),
            Target("<= 1 KB per recorded task", _judge_bytes),
        ),
        columns=(
            Column("bytes_per_task", "B/task", "{:.0f}"),
            Column("peak_bytes_per_task", "peak B/task", "{:.0f}"),
        ),
        derive=lambda case, record, calibration: {
            f"{key}_per_task": record[key] / case.tasks for key in ("bytes", "peak_bytes") if key in record
        },
        check=lambda case, count: bool(count == case.tasks),
    )
)


@recording.implementation("parallelism")
def _record_parallelism(m: Measurement) -> int:
    from parallelism import scheduler

    recorded = 0
    with m.startup(), contextlib.suppress(_AbandonError), scheduler(processes=WORKERS, threads=WORKERS):
        increment_task(square_task(0))  # first calls: lazy imports and caches, timed apart
        raise _AbandonError
    try:
        with scheduler(processes=WORKERS, threads=WORKERS):
            with m.measure():
                if m.case["shape"] == "chain":
                    value = increment_task(0)
                    for _ in range(m.case.tasks - 1):
                        value = increment_task(value)
                else:
                    calls = [square_task(i) for i in range(m.case.tasks)]
            recorded = m.case.tasks if m.case["shape"] == "chain" else len(calls)
            raise _AbandonError
    except _AbandonError:
        pass
    return recorded


@recording.implementation("dask-delayed")
def _record_dask(m: Measurement) -> int:
    with m.startup():
        delayed(increment)(delayed(square)(0))  # first calls: lazy imports and caches, timed apart
    with m.measure():
        if m.case["shape"] == "chain":
            value = delayed(increment)(0)
            for _ in range(m.case.tasks - 1):
                value = delayed(increment)(value)
        else:
            calls = [delayed(square)(i) for i in range(m.case.tasks)]
    return m.case.tasks if m.case["shape"] == "chain" else len(calls)
