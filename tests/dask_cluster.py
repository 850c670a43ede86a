"""The dask test cluster: one ``LocalCluster`` of 2 single-threaded workers for the whole test run.

It runs in a subprocess of its own, configured as ``backend="dask"`` configures the cluster it
starts (``CLUSTER_CONFIG``, ``cluster_options``), so that its scheduler, nanny threads and sockets
are not the test process's: the leak check of ``tests/conftest.py`` allows exactly that one PID
(``SESSION_PIDS``).  Tests reach it by its address, as a user of a real cluster would.  The
workers import the test modules by name (``tests.test_contract`` ...): the subprocess runs from the
repository's root with it on ``PYTHONPATH``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from parallelism._graph import Graph
    from parallelism.backends.dask import DaskBackend

ROOT = Path(__file__).resolve().parent.parent

WORKERS = 2
"""Worker processes of the test cluster, one thread each: the contract suite's ``processes=2``."""

_SCRIPT = f"""
import os, sys
import dask, distributed
from parallelism.backends.dask import CLUSTER_CONFIG, cluster_options

if __name__ == "__main__":
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the workers inherit stdout: never the pipe the test reads the address from
    with dask.config.set(CLUSTER_CONFIG), distributed.LocalCluster(**cluster_options({WORKERS})) as cluster:
        out.write(cluster.scheduler_address + "\\n")
        out.close()
        sys.stdin.read()  # until the test run closes our stdin
"""


def environment() -> dict[str, str]:
    """This environment, with the repository's root importable (the workers import ``tests``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@contextlib.contextmanager
def running_cluster(session_pids: set[int], session_fds: set[int]) -> Iterator[str]:
    """Start the cluster, yield its scheduler's address, stop it (and every process it started).

    Its PID is in ``session_pids`` and the pipe to its stdin in ``session_fds`` while it runs, so
    the leak check lets them outlive the test that happened to start it.
    """
    cluster = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=environment(),
        text=True,
    )
    assert cluster.stdin is not None and cluster.stdout is not None
    session_pids.add(cluster.pid)
    session_fds.add(cluster.stdin.fileno())
    try:
        line = cluster.stdout.readline().strip()
        cluster.stdout.close()
        assert line.startswith("tcp://"), f"the test cluster did not start (got {line!r})"
        yield line
    finally:
        session_fds.discard(cluster.stdin.fileno())
        cluster.stdin.close()
        try:
            cluster.wait(timeout=120)  # a deadlock detector, not a pace
        finally:
            if cluster.poll() is None:
                cluster.kill()
                cluster.wait()
            session_pids.discard(cluster.pid)


def default_to(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    """Make ``backend="dask"`` without ``address=``/``client=`` run on the cluster at ``address``
    for one test, rather than start a cluster of its own.

    The contract suite is written once for every backend (``scheduler(..., backend=backend)``);
    starting a cluster per test would cost seconds each.  ``processes=`` is still the capacity the
    test asks for (capped by the cluster's 2 worker threads), as with ``address=``.
    """
    from parallelism.backends import dask as dask_backend

    make_backend = dask_backend.make_backend

    def on_the_test_cluster(
        graph: Graph, processes: int, threads: int, options: dict[str, Any]
    ) -> tuple[DaskBackend, tuple[int, int]]:
        if options.get("address") is None and options.get("client") is None:
            options = {**options, "address": address, "processes_given": True}
        return make_backend(graph, processes, threads, options)

    monkeypatch.setattr(dask_backend, "make_backend", on_the_test_cluster)
