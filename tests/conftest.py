"""Shared fixtures: the leak check every test runs under, and the backends of the contract suite.

The leak check fails a test that leaves behind a child process, a thread or a file descriptor of
ours.  Two stdlib singletons are allowed to outlive a test because they are meant to: the
forkserver process that ``multiprocessing`` starts once per interpreter (our default start
method forks workers from it), and its resource tracker.
"""

from __future__ import annotations

import gc
import importlib.util
import multiprocessing
import os
import threading
from collections.abc import Iterator

import pytest


def _open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


def _stdlib_helpers() -> set[int]:
    """PIDs of multiprocessing's long-lived helper processes (forkserver, resource tracker)."""
    pids: set[int] = set()
    from multiprocessing import forkserver, resource_tracker

    server = getattr(forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    if pid:
        pids.add(pid)
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    pid = getattr(tracker, "_pid", None)
    if pid:
        pids.add(pid)
    return pids


def _stdlib_helper_fds() -> set[int]:
    fds: set[int] = set()
    from multiprocessing import forkserver, resource_tracker

    server = getattr(forkserver, "_forkserver", None)
    for attr in ("_forkserver_alive_fd",):
        fd = getattr(server, attr, None)
        if fd is not None:
            fds.add(fd)
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    fd = getattr(tracker, "_fd", None)
    if fd is not None:
        fds.add(fd)
    return fds


SESSION_PIDS: set[int] = set()
"""PIDs of the processes a session-scoped fixture keeps for the whole test run (the dask test
cluster of ``dask_address``, a subprocess): the leak check allows exactly these."""
SESSION_FDS: set[int] = set()
"""File descriptors such a fixture keeps open for the whole test run (its pipe to that subprocess)."""


def _library_threads() -> set[threading.Thread]:
    """Threads a library keeps for the life of the interpreter: distributed's one offload thread.

    distributed starts it the first time a cluster of its own runs in this process and never stops it.
    """
    import sys

    executor = getattr(sys.modules.get("distributed.utils"), "_offload_executor", None)
    return set(getattr(executor, "_threads", ()))


def _children() -> set[int]:
    """PIDs of our live (non-zombie) child processes, read from /proc."""
    me = os.getpid()
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, parent = fields[0], int(fields[1])
        if parent == me and state != "Z":
            found.add(int(entry))
    return found


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail the test if it leaves a child process, a thread or a file descriptor behind."""
    threads_before = set(threading.enumerate())
    fds_before = _open_fds()
    yield
    gc.collect()
    for child in multiprocessing.active_children():  # reaps finished children
        child.join(0)
    helpers = _stdlib_helpers()
    leaked_children = _children() - helpers - SESSION_PIDS
    threads_before |= _library_threads()
    leaked_threads = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    leaked_fds = _open_fds() - fds_before - _stdlib_helper_fds() - SESSION_FDS
    # An fd opened by the first use of a helper (its pipe) is not ours either.
    leaked_fds = {fd for fd in leaked_fds if not _is_helper_fd(fd)}
    assert not leaked_children, f"child processes left behind: {sorted(leaked_children)}"
    assert not leaked_threads, f"threads left behind: {leaked_threads}"
    assert not leaked_fds, f"file descriptors left open: {sorted(leaked_fds)} ({_describe(leaked_fds)})"


def _is_helper_fd(fd: int) -> bool:
    return fd in _stdlib_helper_fds()


def _describe(fds: set[int]) -> str:
    out = []
    for fd in sorted(fds):
        try:
            out.append(f"{fd}->{os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            out.append(f"{fd}->?")
    return ", ".join(out)


HAVE_DASK = importlib.util.find_spec("distributed") is not None

BACKENDS = [
    "inline",
    "local",
    "local-spawn",
    "local-fork",
    pytest.param(
        "dask",
        marks=pytest.mark.skipif(not HAVE_DASK, reason='needs pip install "parallelism[dask]"'),
    ),
]
"""The contract suite's backends; ``local`` uses the default start method (forkserver), ``dask``
runs on the session's test cluster (``dask_address``)."""


@pytest.fixture(scope="session")
def dask_address() -> Iterator[str]:
    """The scheduler address of the session's dask cluster: 2 workers of 1 thread, as ours are.

    Started the first time a test asks for it (the ``dask`` backend, tests/test_dask_backend.py),
    once for the whole run, and stopped with every process it started when the run ends.
    """
    from tests.dask_cluster import running_cluster

    with running_cluster(SESSION_PIDS, SESSION_FDS) as address:
        yield address


@pytest.fixture
def dask_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``"dask"``, with ``scheduler(..., backend="dask")`` running on the session's test cluster
    for this test rather than starting a ``LocalCluster`` of its own (tests/dask_cluster.py)."""
    if not HAVE_DASK:
        pytest.skip('needs pip install "parallelism[dask]"')
    from tests.dask_cluster import default_to

    default_to(monkeypatch, request.getfixturevalue("dask_address"))
    return "dask"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each contract test runs once per backend (and per start method of the local backend).

    ``dask``: on the session's test cluster (``dask_backend``).
    """
    name: str = request.param
    if name.startswith("local-"):
        method = name.split("-", 1)[1]
        monkeypatch.setattr("parallelism._scheduler.default_start_method", lambda: method)
        return "local"
    if name == "dask":
        return str(request.getfixturevalue("dask_backend"))
    return name
