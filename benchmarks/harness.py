"""Each peer's set-up, warmed inside ``m.startup()``, so the timed part starts with ready workers.

* ``parallelism`` starts worker processes per ``with scheduler`` block (forkserver); its warm-up is a
  first block, which starts the forkserver and imports the task module there.  The timed block
  still starts (forks) its own workers: that is part of what a block costs.
* ``concurrent.futures``: a pool with every worker started and used once.
* dask processes: ``dask.compute(..., scheduler="processes")`` makes a new pool per call; for the
  steady-state workloads it is given a warm pool made the way dask makes its own (its start method
  and worker initializer), which is the documented ``pool=`` option.  The start-up workload uses
  the plain call.
* dask threaded: its thread pool, started by a first compute.
* dask.distributed: ``LocalCluster`` with 2 single-threaded worker processes (thread workloads:
  one in-process worker with 2 threads) and a ``Client``, warmed by a first compute.

Every helper yields the keyword arguments to pass to ``dask.compute`` (dask peers) or the
executor (``concurrent.futures``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from .optional import compute, delayed, distributed, module
from .registry import WORKERS, Measurement
from .tasks import noop, noop_task, noop_thread

__all__ = [
    "configure_logging",
    "dask_scheduler",
    "executor",
    "warm_parallelism",
]

SEED_FORMAT = "%(asctime)s [%(levelname)s] [%(name)s:%(process)d:%(thread)d] - %(message)s"


def configure_logging(peer: str) -> None:
    """Benchmarks quote figures with the ``parallelism`` logger at WARNING; the ``+info`` peer
    turns INFO lines on, formatted with the seed's format into a null stream (their cost only)."""
    import os

    logger = logging.getLogger("parallelism")
    if peer == "parallelism+info":
        stream = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(SEED_FORMAT))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    else:
        logger.setLevel(logging.WARNING)


def warm_parallelism(m: Measurement, *, threads: bool = False) -> None:
    """A first block of one call per worker (forkserver started, task module imported)."""
    from parallelism import scheduler

    with m.startup(), scheduler(processes=WORKERS, threads=WORKERS):
        task = noop_thread if threads else noop_task
        for _ in range(WORKERS):
            task()


@contextlib.contextmanager
def executor(m: Measurement, kind: str = "process") -> Iterator[Executor]:
    """A warm ``ProcessPoolExecutor(2)`` (or ``ThreadPoolExecutor(2)``); shut down untimed."""
    with m.startup():
        pool: Executor = ProcessPoolExecutor(WORKERS) if kind == "process" else ThreadPoolExecutor(WORKERS)
        for future in [pool.submit(noop) for _ in range(4 * WORKERS)]:
            future.result()
    try:
        yield pool
    finally:
        pool.shutdown()


@contextlib.contextmanager
def dask_scheduler(m: Measurement, *, threads: bool = False) -> Iterator[dict[str, Any]]:
    """The ``dask.compute`` keyword arguments for ``m.peer``, its workers warm."""
    with contextlib.ExitStack() as stack:
        with m.startup():
            if m.peer == "dask-threads":
                options: dict[str, Any] = {"scheduler": "threads", "num_workers": WORKERS}
            elif m.peer == "dask-processes":
                options = {"scheduler": "processes", "pool": stack.enter_context(_dask_pool())}
            elif m.peer == "dask-distributed":
                options = {"scheduler": stack.enter_context(_distributed_client(threads=threads))}
            else:
                raise ValueError(f"{m.peer!r} is not a dask peer")
            compute(*[delayed(noop)() for _ in range(4 * WORKERS)], **options)
        yield options


@contextlib.contextmanager
def _dask_pool() -> Iterator[ProcessPoolExecutor]:
    """The pool ``dask.multiprocessing.get`` would make itself, kept for the whole measurement."""
    import os

    multiprocessing = module("dask.multiprocessing")
    os.environ.setdefault("PYTHONHASHSEED", "6640")  # what dask sets before making its own pool
    pool = ProcessPoolExecutor(
        WORKERS,
        mp_context=multiprocessing.get_context(),
        initializer=multiprocessing.initialize_worker_process,
    )
    try:
        yield pool
    finally:
        pool.shutdown()


@contextlib.contextmanager
def _distributed_client(*, threads: bool) -> Iterator[Any]:
    dist = distributed()
    if threads:
        cluster = dist.LocalCluster(
            n_workers=1, threads_per_worker=WORKERS, processes=False, dashboard_address=None
        )
    else:
        cluster = dist.LocalCluster(
            n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
        )
    with cluster, dist.Client(cluster) as client:
        yield client
