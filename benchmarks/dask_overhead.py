"""Overhead of the dask backend: the layered DAG through ``scheduler(backend="dask")`` vs plain dask.

``python -m benchmarks.dask_overhead`` (needs ``pip install "parallelism[dask]"``) starts one
``LocalCluster`` of 2 single-threaded workers (configured as ``backend="dask"`` configures its
own), warms it, then times on that same cluster and in the same run:

* **plain**: the graph written with ``client.submit``, every task submitted at once with its
  parents' futures as arguments, the last layer gathered;
* **parallelism**: the same functions as ``@process`` tasks in ``with scheduler(..., backend="dask",
  client=client)``, the last layer read from the Deferreds.

Each is run ``--repeat`` times alternately, for each ``--work`` case; the medians, the difference per
task and the ratio are printed.  The graph is the layered DAG of ``benchmarks/workloads/graphs.py``
(each task combines 3 tasks of the layer before); every task first burns ``--work`` milliseconds
of CPU (0: the tiny tasks of that workload, where the cost per task is all there is to see).

What the difference measures: plain dask gets the whole graph at once and starts a dependent on
the worker as soon as its inputs exist.  ``parallelism`` hands dask its plain process tasks the same
way, as soon as their inputs are submitted (``parallelism/backends/dask.py``, ``_AheadPlan``), and
its loop follows the outcomes as they come; what remains is its own traffic per task (an event
with the outcome, the client's watch on each future) and the caller's bookkeeping, which on this
2-core machine compete for the cores with the scheduler (in this process) and the two workers.
Before tasks went ahead, each one paid a round trip through the caller (worker -> scheduler ->
caller -> scheduler -> worker) with its slot idle: 2-3x for tiny tasks, 1.3x at 50 ms.

The machine's load average is printed before and after: the figures move with it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import statistics
import time
from typing import Any

from parallelism import process, scheduler
from parallelism.backends.dask import CLUSTER_CONFIG, cluster_options

from .tasks import combine, dag_parents, dag_reference, square

WORKERS = 2


def _busy(milliseconds: float) -> None:
    if milliseconds < 0:  # a task that waits (I/O, or a machine with a core to spare)
        time.sleep(-milliseconds / 1000)
        return
    end = time.perf_counter() + milliseconds / 1000
    while time.perf_counter() < end:
        pass


def first(j: int, work: float) -> int:
    """A node of the first layer."""
    _busy(work)
    return square(j)


def node(a: int, b: int, c: int, work: float) -> int:
    """A node of a later layer: three parents of the layer before."""
    _busy(work)
    return combine(a, b, c)


first_task = process(first)
node_task = process(node)


def run_plain(client: Any, layers: list[list[tuple[int, int, int]]], width: int, work: float) -> int:
    previous = [client.submit(first, j, work, pure=False) for j in range(width)]
    for parents in layers:
        previous = [
            client.submit(node, previous[a], previous[b], previous[c], work, pure=False)
            for a, b, c in parents
        ]
    return sum(client.gather(previous))


def run_parallelism(client: Any, layers: list[list[tuple[int, int, int]]], width: int, work: float) -> int:
    with scheduler(processes=WORKERS, threads=WORKERS, backend="dask", client=client):
        previous = [first_task(j, work) for j in range(width)]
        for parents in layers:
            previous = [node_task(previous[a], previous[b], previous[c], work) for a, b, c in parents]
    return sum(d.result() for d in previous)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dask_overhead", description=__doc__)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--width", type=int, default=20)
    parser.add_argument(
        "--work",
        default="0,10,50",
        help="ms of CPU per task, comma-separated cases (default 0,10,50; negative: sleep instead)",
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    logging.getLogger("parallelism").setLevel(logging.WARNING)  # figures without the INFO lines
    dask: Any = importlib.import_module("dask")
    distributed: Any = importlib.import_module("distributed")
    layers = dag_parents(args.layers, args.width)
    expected = dag_reference(args.layers, args.width)
    tasks = args.layers * args.width
    runners = {"plain": run_plain, "parallelism": run_parallelism}
    print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    print(f"layered DAG: {args.layers} layers x {args.width} = {tasks} tasks on {WORKERS} dask workers")
    print(f"of 1 thread; median of {args.repeat} alternating runs per case; target: at most 1.2x")
    header = ("ms of work per task", "plain submit", "parallelism", "per task", "ratio")
    print("{:>20} {:>13} {:>12} {:>10} {:>7}".format(*header))
    with (
        dask.config.set(CLUSTER_CONFIG),
        distributed.LocalCluster(**cluster_options(WORKERS)) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        for runner in runners.values():  # warm-up: imports on the workers, connections
            assert runner(client, layers[:1], args.width, 0.0) > 0
        for work in (float(text) for text in args.work.split(",")):
            times: dict[str, list[float]] = {name: [] for name in runners}
            for _ in range(args.repeat):
                for name, runner in runners.items():
                    begin = time.perf_counter()
                    value = runner(client, layers, args.width, work)
                    times[name].append(time.perf_counter() - begin)
                    assert value == expected, (name, value, expected)
            plain = statistics.median(times["plain"])
            ours = statistics.median(times["parallelism"])
            extra = (ours - plain) / tasks * 1000
            print(f"{work:>20g} {plain:>12.3f}s {ours:>11.3f}s {extra:>+8.2f}ms {ours / plain:>6.2f}x")
    print(f"load average after: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
