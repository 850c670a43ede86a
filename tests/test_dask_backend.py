"""The dask backend: the same graphs and outcomes as locally, with process tasks on a dask cluster.

Most tests run on the session's ``LocalCluster`` of 2 single-threaded workers (tests/dask_cluster.py,
started once for the test run and shared with the contract suite's ``dask`` backend), and reach it
with ``address=``, as a user of a real cluster would.  A few start the backend's own cluster, to
check that it is closed with every process it started.  Task functions live at module level:
workers import this module to run them.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import multiprocessing
import multiprocessing.connection
import os
import runpy
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import parallelism
from parallelism import (
    DependencyError,
    InvalidOptionError,
    SchedulerResult,
    TaskTimeoutError,
    UnpicklableArgumentError,
    WorkerCrashedError,
    WorkerError,
    events,
    process,
    scheduled_task,
    scheduler,
    task_scheduler,
    thread,
)
from tests.dask_cluster import ROOT, environment

distributed: Any = pytest.importorskip("distributed")


@pytest.fixture
def address(dask_address: str) -> str:
    """The scheduler address of the session's cluster (tests/conftest.py): 2 workers of 1 thread."""
    return dask_address


@pytest.fixture
def client(address: str) -> Iterator[Any]:
    """A client of the session's cluster, for a test to look at the cluster itself."""
    with distributed.Client(address, set_as_default=False) as connected:
        yield connected


@contextlib.contextmanager
def _one_worker_replaced(address: str) -> Iterator[None]:
    """Around a test that kills a worker: then wait until the scheduler has removed it and its
    nanny's replacement has joined, so that the next test finds the cluster whole."""
    removed, added = threading.Event(), threading.Event()

    def on_event(event: Any) -> None:
        action = event[1].get("action") if isinstance(event[1], dict) else None
        if action == "remove-worker":
            removed.set()
        elif action == "add-worker":
            added.set()

    with distributed.Client(address, set_as_default=False) as watcher:
        watcher.subscribe_topic("all", on_event)
        try:
            yield
            assert removed.wait(120) and added.wait(120), "the killed worker was not replaced"
            watcher.wait_for_workers(2, timeout=120)
        finally:
            watcher.unsubscribe_topic("all")


# --- tasks (module level: the workers import them) ------------------------------------------------


class TaskError(Exception):
    """Defined here: it must come back from a worker as this very class."""


@process
def square(x: int) -> int:
    return x * x


@process
def pid_of(_: object = None) -> int:
    return os.getpid()


@thread
def thread_pid(_: object = None) -> tuple[int, str]:
    return os.getpid(), threading.current_thread().name


@thread
def add(a: int, b: int) -> int:
    return a + b


@process
def total(values: list[int]) -> int:
    return sum(values)


@process
def shape(items: list[int], pair: tuple[int, int], named: dict[str, int], bag: set[int]) -> str:
    return f"{items} {pair} {sorted(named.items())} {sorted(bag)}"


@thread
def describe(items: list[int], named: dict[str, int]) -> str:
    return f"{items} {sorted(named.items())}"


@process
def fail(message: str) -> int:
    raise TaskError(message)


@process
def after(*values: int) -> int:
    return sum(values)


@process(processes=2)
def greedy() -> int:
    return 1


@thread(threads=4)
def greedy_thread() -> int:
    return 1


@process
def crash(code: int) -> int:
    os._exit(code)


@process
def chatty(word: str) -> int:
    logging.getLogger("parallelism").warning("%s from a worker", word)
    return os.getpid()


@process
def big_blob(size: int) -> bytes:
    return b"x" * size


@process
def length(data: bytes) -> int:
    return len(data)


@thread
def local_blob(size: int) -> bytes:
    return b"y" * size


@thread
def unpicklable() -> threading.Lock:
    return threading.Lock()


@process
def use_lock(lock: object) -> str:
    return type(lock).__name__


@process(timeout=0.5)
def stuck() -> int:
    threading.Event().wait(120)  # far past the timeout: only the timeout ends it
    return 0


@process(retries=1)
def flaky(marker: str) -> str:
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise TaskError("first attempt")
    return "second attempt"


@process(processes=1)
def nested_run(x: int) -> int:
    """Opens a run of its own inside the dask worker: its worker processes need a non-daemonic parent."""
    with scheduler(processes=1, threads=1, start_method="spawn"):
        inner = square(x)
    return inner.result() + 1


@process(continual=True)
def kept(x: int) -> int:
    return x + 1


@process
def announce(value: int, event_name: str) -> int:
    """Logs a line, then tells the test through a dask Event that it ran."""
    logging.getLogger("parallelism").warning("announce got %s", value)
    distributed.Event(event_name).set()
    return value + 1


@process
def mark(_: object, path: str) -> int:
    Path(path).write_text("ran")
    return 0


@process
def interval(_: int) -> tuple[float, float]:
    begin = time.time()
    total = 0
    for i in range(200_000):  # a little CPU, so that two of them would overlap if both ran at once
        total += i
    return begin, time.time()


reserving_interval = interval.options(name="reserving", processes=1)
"""The same, reserving a second process slot: nothing else may run while it does."""


def _rebuild_tripwire(payload: bytes, forbidden_pid: int) -> Tripwire:
    if os.getpid() == forbidden_pid:
        raise AssertionError("a value made for process tasks only was unpickled in the caller")
    return Tripwire(payload, forbidden_pid)


class Tripwire:
    """A value that refuses to be unpickled in the process that asked for it."""

    def __init__(self, payload: bytes, forbidden_pid: int) -> None:
        self.payload = payload
        self.forbidden_pid = forbidden_pid

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild_tripwire, (self.payload, self.forbidden_pid)


@process
def make_tripwire(caller_pid: int) -> Tripwire:
    return Tripwire(b"z" * 100_000, caller_pid)


@process
def tripwire_size(wire: Tripwire) -> int:
    return len(wire.payload)


# --- the extra, the options ---------------------------------------------------------------------


def test_import_parallelism_does_not_import_dask() -> None:
    code = "import sys, parallelism.backends; print(sorted({'dask', 'distributed'} & {*sys.modules}))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environment()
    )
    assert out.stdout.strip() == "[]"


def test_without_the_extra_the_constructor_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r'pip install "parallelism\[dask\]"') as raised:
        scheduler(processes=1, backend="dask")
    from parallelism.backends import MissingExtraError

    assert isinstance(raised.value, MissingExtraError)


def test_option_mistakes_are_reported_by_the_constructor(address: str) -> None:
    with pytest.raises(InvalidOptionError, match='backend="dask"'):
        scheduler(address=address)
    with pytest.raises(InvalidOptionError, match="not both"):
        scheduler(backend="dask", address=address, client=object())
    with pytest.raises(InvalidOptionError, match=r"distributed\.Client"):
        scheduler(backend="dask", client=object())
    with pytest.raises(InvalidOptionError, match="address="):
        scheduler(backend="dask", address=8786)  # type: ignore[arg-type]


# --- the same semantics -------------------------------------------------------------------------


def test_values_nesting_and_fan_in(address: str) -> None:
    with scheduler(processes=2, threads=2, backend="dask", address=address) as result:
        squares = [square(i) for i in range(6)]
        fan_in = total(squares)
        mixed = add(squares[2], fan_in)
        nested = shape([squares[1], 7], (squares[2], 8), {"a": squares[3]}, {squares[0], 9})
        in_thread = describe([squares[4], fan_in], {"k": mixed})
        again = kept(fan_in)
    assert [s.result() for s in squares] == [0, 1, 4, 9, 16, 25]
    assert fan_in.result() == 55
    assert mixed.result() == 59
    assert nested.result() == "[1, 7] (4, 8) [('a', 9)] [0, 9]"
    assert in_thread.result() == "[16, 55] [('k', 59)]"
    assert again.result() == 56
    assert result.return_value == {"kept": 56}
    assert set(result.execution_time) == {
        *(s.name for s in squares),
        "total",
        "add",
        "shape",
        "describe",
        "kept",
    }
    assert set(result.elapsed_time) == set(result.execution_time)
    assert result.raise_exception == {}


def test_failures_cancel_downstream_and_independent_branches_run(address: str) -> None:
    with scheduler(processes=2, threads=2, backend="dask", address=address) as result:
        bad = fail("no")
        worse = fail("never")
        one = after(bad)
        join = after(bad, worse, square(2))
        later = after(one)
        fine = after(square(3))
    assert isinstance(bad.exception(), TaskError)  # the test module's own class, from a worker
    with pytest.raises(TaskError, match="no"):
        bad.result()
    assert "TaskError" in (result.raise_exception["fail"].traceback or "")
    error = join.exception()
    assert isinstance(error, DependencyError)
    assert set(error.tasks) <= {"fail", "fail-2", "square"} and error.tasks
    assert isinstance(one.exception(), DependencyError)
    later_error = later.exception()
    assert isinstance(later_error, DependencyError) and later_error.tasks == ("after",)
    assert fine.result() == 9
    assert set(result.raise_exception) == {"fail", "fail-2", "after", "after-2", "after-3"}
    assert "after-4" in result.elapsed_time


def test_tasks_that_can_never_fit_are_cancelled_at_start_with_the_lack(address: str) -> None:
    with scheduler(processes=2, threads=2, backend="dask", address=address) as result:
        too_big = greedy()  # 1 + 2 process slots on a cluster of 2 worker threads
        too_many_threads = greedy_thread()  # 1 + 4 thread slots of 2
        downstream = after(too_big)
        fine = square(5)
    lack = too_big.exception()
    assert isinstance(lack, WorkerError) and (lack.processes, lack.threads) == (1, 0)
    thread_lack = too_many_threads.exception()
    assert isinstance(thread_lack, WorkerError) and (thread_lack.processes, thread_lack.threads) == (0, 3)
    assert isinstance(downstream.exception(), DependencyError)
    assert fine.result() == 25
    assert "greedy" not in result.elapsed_time

    # processes= caps what an existing cluster offers; without it the cluster's threads count.
    with scheduler(processes=1, threads=1, backend="dask", address=address):
        capped = greedy()
    capped_lack = capped.exception()
    assert isinstance(capped_lack, WorkerError) and capped_lack.processes == 2
    with scheduler(threads=1, backend="dask", address=address):
        uncapped = greedy()
    uncapped_lack = uncapped.exception()
    assert isinstance(uncapped_lack, WorkerError) and uncapped_lack.processes == 1


def test_thread_tasks_run_in_the_callers_threads_and_process_tasks_on_workers(client: Any) -> None:
    workers = set(client.run(os.getpid).values())
    with scheduler(processes=2, threads=2, backend="dask", address=client.scheduler.address):
        here = thread_pid()
        there = pid_of()
        there_after = thread_pid(pid_of(there))
    pid, name = here.result()
    assert pid == os.getpid() and name.startswith("parallelism-thread-")
    assert there.result() in workers
    assert there_after.result()[0] == os.getpid()


def test_values_between_process_tasks_stay_on_the_cluster(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[str] = []
    gather = distributed.Client._gather

    async def recording_gather(self: Any, futures: Any, *args: Any, **kwargs: Any) -> Any:
        fetched.extend(str(getattr(future, "key", future)) for future in futures)
        return await gather(self, futures, *args, **kwargs)

    monkeypatch.setattr(distributed.Client, "_gather", recording_gather)
    with scheduler(processes=2, threads=1, backend="dask", address=address):
        size = tripwire_size(make_tripwire(os.getpid()))  # the Tripwire's Deferred is not kept
    assert size.result() == 100_000
    assert fetched and not [key for key in fetched if key.startswith("make_tripwire")]
    assert [key for key in fetched if key.startswith("tripwire_size")]  # what the caller holds


def test_large_values_cross_in_both_directions(address: str) -> None:
    with scheduler(processes=2, threads=2, backend="dask", address=address):
        remote = length(big_blob(3 << 20))
        local = length(local_blob(3 << 20))  # a thread's value, scattered rather than inlined
    assert remote.result() == 3 << 20
    assert local.result() == 3 << 20


def test_a_thread_value_that_cannot_be_pickled_fails_its_process_consumer(address: str) -> None:
    with scheduler(processes=1, threads=1, backend="dask", address=address):
        lock = unpicklable()
        used = use_lock(lock)
    assert isinstance(used.exception(), UnpicklableArgumentError)


def test_a_worker_that_dies_fails_its_task_with_worker_crashed_error(address: str) -> None:
    with _one_worker_replaced(address):
        with scheduler(processes=2, threads=1, backend="dask", address=address) as result:
            crashed = crash(7)
            downstream = after(crashed)
            independent = square(6)
        error = crashed.exception()
        assert isinstance(error, WorkerCrashedError)
        assert "'crash' failed" in str(error) and "died" in str(error)
        assert not isinstance(error, distributed.KilledWorker)
        assert isinstance(downstream.exception(), DependencyError)
        assert independent.result() == 36
        assert set(result.raise_exception) == {"crash", "after"}


def test_log_records_of_remote_tasks_reach_the_callers_logger(
    address: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="parallelism")
    with scheduler(processes=1, threads=1, backend="dask", address=address):
        worker = chatty("hello")
    records = [r for r in caplog.records if r.name == "parallelism"]
    said = [r for r in records if r.getMessage() == "hello from a worker"]
    assert len(said) == 1
    assert said[0].process == worker.result() != os.getpid()
    ran = [r for r in records if r.getMessage().startswith("'chatty' ran")]
    assert len(ran) == 1 and ran[0].process == worker.result()
    assert records.index(said[0]) < records.index(ran[0])


def test_a_process_task_past_its_timeout_fails_and_its_worker_is_replaced(address: str) -> None:
    with _one_worker_replaced(address):
        with scheduler(processes=2, threads=1, backend="dask", address=address):
            late = stuck()
            fine = square(7)
        assert isinstance(late.exception(), TaskTimeoutError)
        assert fine.result() == 49


def test_retries_run_a_failed_task_again(address: str, tmp_path: Path) -> None:
    with scheduler(processes=1, threads=1, backend="dask", address=address) as result:
        outcome = flaky(str(tmp_path / "marker"))
    assert outcome.result() == "second attempt"
    assert result.raise_exception == {}


def test_an_existing_client_is_left_running(client: Any) -> None:
    with scheduler(processes=2, threads=1, backend="dask", client=client):
        value = square(8)
    assert value.result() == 64
    assert client.status == "running"
    assert client.submit(sum, [1, 2]).result() == 3
    with scheduler(processes=2, threads=1, backend="dask", client=client):  # and usable again
        again = square(9)
    assert again.result() == 81


def test_a_task_on_a_worker_can_open_a_run_of_its_own(address: str) -> None:
    with scheduler(processes=2, threads=1, backend="dask", address=address):
        outer = nested_run(5)
    assert outer.result() == 26


def test_deferreds_of_a_dask_run_feed_a_later_run(address: str) -> None:
    with scheduler(processes=1, threads=1, backend="dask", address=address):
        first = square(4)
    with scheduler(processes=1, threads=1, backend="dask", address=address):
        second = after(first, 1)
    assert second.result() == 17


# --- tasks handed to dask ahead of their admission --------------------------------------------------


def test_a_dependent_runs_on_dask_before_the_loop_hears_of_its_input_and_still_logs_after_it(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The loop is held up while dask runs ``first`` and then ``second`` (submitted ahead, with
    ``first``'s future as its input); ``second``'s records wait until the loop starts it."""
    caplog.set_level(logging.INFO, logger="parallelism")
    done = f"second-ran-{os.getpid()}-{id(caplog)}"
    second_ran = distributed.Event(done, client=client)
    held: list[bool] = []

    def hold_the_loop(event: object) -> None:
        if isinstance(event, events.TaskStarted) and event.name == "other":
            held.append(second_ran.wait(120))  # a deadlock detector, not a pace

    with scheduler(processes=2, threads=1, backend="dask", client=client, on_event=hold_the_loop):
        first = square(3)
        other = square.options(name="other")(4)  # admitted with first: holds the loop
        second = announce(first, done)
    assert held == [True]  # second ran on dask while the loop had not yet seen first finish
    assert (second.result(), other.result()) == (10, 16)
    messages = [r.getMessage() for r in caplog.records if r.name == "parallelism"]

    def line(start: str) -> int:
        return next(i for i, message in enumerate(messages) if message.startswith(start))

    assert line("'square' ran") < line("announce got 9") < line("'announce' ran")


def test_a_dependent_of_a_failure_never_runs(address: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with scheduler(processes=2, threads=1, backend="dask", address=address) as result:
        bad = fail("no")
        child = mark(bad, str(marker))
        grandchild = mark(child, str(marker))
        fine = square(2)
    assert isinstance(child.exception(), DependencyError)
    assert isinstance(grandchild.exception(), DependencyError)
    assert fine.result() == 4
    assert not marker.exists()
    assert set(result.raise_exception) == {"fail", "mark", "mark-2"}


def test_a_cap_below_the_clusters_threads_is_what_runs_at_once(address: str) -> None:
    with scheduler(processes=1, threads=1, backend="dask", address=address):
        spans = [interval(i) for i in range(8)]
    ordered = sorted(span.result() for span in spans)
    for (_, end), (begin, _) in itertools.pairwise(ordered):
        assert end <= begin  # one at a time, though the cluster has 2 worker threads


def test_a_task_that_reserves_slots_runs_with_them_idle(address: str) -> None:
    with scheduler(processes=2, threads=1, backend="dask", address=address):
        alone = reserving_interval(-1)  # admitted first, with both slots
        others = [interval(i) for i in range(8)]
    begin, end = alone.result()
    for other in others:
        other_begin, other_end = other.result()
        assert other_end <= begin or end <= other_begin


def test_an_item_posted_while_the_loop_collects_still_wakes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's event loop thread posts items while the run's loop collects them: each post
    after a collect must leave a byte in the wake-up pipe, or the loop sleeps on a full inbox."""
    from parallelism._graph import Graph
    from parallelism._workers import _drain
    from parallelism.backends import dask as dask_backend

    backend = dask_backend.DaskBackend(Graph(), 1)
    nothing = ("future", 0, 0, None)  # about no task of the run: collected, then ignored
    try:
        backend._post(nothing)

        def drain_while_another_thread_posts(fd: int) -> None:
            if fd == backend._wake_read:
                backend._post(nothing)
            _drain(fd)

        monkeypatch.setattr(dask_backend, "_drain", drain_while_another_thread_posts)
        assert backend._collect() == []
        assert not backend._inbox
        monkeypatch.setattr(dask_backend, "_drain", _drain)
        backend._post(nothing)
        assert multiprocessing.connection.wait([backend._wake_read], 0) == [backend._wake_read]
    finally:
        backend.close(force=True)


# --- the classic API -------------------------------------------------------------------------------


def _seed_results(monkeypatch: pytest.MonkeyPatch, **options: Any) -> SchedulerResult:
    """The seed's "Results" example (examples/seed_results.py) as it is, its ``task_scheduler``
    call given ``options`` as well (its functions are defined in the script: they travel by value)."""
    with monkeypatch.context() as patch:
        patch.setattr(parallelism, "task_scheduler", functools.partial(parallelism.task_scheduler, **options))
        example = runpy.run_path(str(ROOT / "examples" / "seed_results.py"), run_name="seed_results_example")
        result: SchedulerResult = example["main"]()
    return result


def _outcomes(result: SchedulerResult) -> tuple[Any, ...]:
    return (
        set(result.execution_time),
        set(result.elapsed_time),
        {name: repr(error) for name, error in result.raise_exception.items()},
        dict(result.return_value),
    )


def test_the_seeds_results_example_has_the_same_outcomes_on_dask(
    address: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="parallelism")
    on_dask = _seed_results(monkeypatch, backend="dask", address=address)
    ran_on = {r.getMessage().split("'")[1]: r.process for r in caplog.records if " ran " in r.getMessage()}
    inline = _seed_results(monkeypatch, backend="inline")
    seeds = (
        {"p1", "p2", "p3", "p4", "t1", "t2", "t3", "t4"},
        {"p1", "p2", "p4", "t1", "t4"},
        {
            "p3": "WorkerError(\"'p3' has been canceled\", (1, 2))",
            "t3": "DependencyError(\"'t3' has been canceled\", ('p3',))",
            "p2": "ZeroDivisionError('division by zero')",
            "t2": "DependencyError(\"'t2' has been canceled\", ('p2',))",
        },
        {"t1": 2.5, "t4": 3.5},
    )
    assert _outcomes(on_dask) == _outcomes(inline) == seeds
    assert list(on_dask.execution_time)[:2] == ["p3", "t3"]  # cancelled at start, in the order of tasks
    assert "in func1" in (on_dask.raise_exception["p2"].traceback or "")  # the worker's traceback
    assert {name for name, pid in ran_on.items() if pid != os.getpid()} == {"p1", "p2", "p4"}


def test_the_classic_task_scheduler_takes_the_backend_options(client: Any) -> None:
    p1 = scheduled_task(multiprocessing.Process, "p1", pid_of)
    t1 = scheduled_task(threading.Thread, "t1", thread_pid, (p1.return_value,), continual=True)
    result = task_scheduler((p1, t1), processes=2, threads=1, backend="dask", client=client)
    assert result.return_value["t1"][0] == os.getpid()
    assert set(result.elapsed_time) == {"p1", "t1"}
    assert client.status == "running"  # an existing client is left as it was
    with pytest.raises(InvalidOptionError, match='backend="dask"'):
        task_scheduler((p1,), address=client.scheduler.address)
    with pytest.raises(InvalidOptionError, match="not both"):
        task_scheduler((p1,), backend="dask", address=client.scheduler.address, client=client)
    with pytest.raises(InvalidOptionError, match="not known"):
        task_scheduler((p1,), backend="nope")


# --- the cluster we start -------------------------------------------------------------------------


def test_our_own_cluster_is_started_for_the_run_and_closed_with_its_processes() -> None:
    with scheduler(processes=2, threads=1, backend="dask") as result:
        pids = [pid_of(i) for i in range(4)]
        too_big = greedy()  # 3 process slots of the 2 workers we start
    workers = {p.result() for p in pids}
    assert os.getpid() not in workers and 1 <= len(workers) <= 2
    lack = too_big.exception()
    assert isinstance(lack, WorkerError) and lack.processes == 1
    assert len(result.elapsed_time) == 4
    for pid in workers:  # gone: not running, at most a zombie being reaped
        assert _state_of(pid) in (None, "Z")
    assert not multiprocessing.active_children()


def test_no_cluster_is_started_when_no_process_task_runs() -> None:
    @thread
    def children() -> int:
        return len(multiprocessing.active_children())

    with scheduler(processes=2, threads=1, backend="dask"):
        count = children()
        never = greedy()  # cancelled at start: nothing needs the cluster
    assert count.result() == 0
    assert isinstance(never.exception(), WorkerError)


def test_ctrl_c_stops_the_run_and_closes_our_cluster(tmp_path: Path) -> None:
    script = tmp_path / "interrupted.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, signal, sys, threading
            from parallelism import process, scheduler

            # Ctrl-C as a terminal delivers it, whatever SIGINT disposition the test run inherited.
            signal.signal(signal.SIGINT, signal.default_int_handler)

            @process
            def announce_and_wait() -> int:
                print("started", os.getpid(), flush=True)
                threading.Event().wait(120)  # only the interrupt ends it
                return 0

            if __name__ == "__main__":
                try:
                    with scheduler(processes=1, threads=1, backend="dask"):
                        task = announce_and_wait()
                except KeyboardInterrupt:
                    print("interrupted", type(task.exception()).__name__, flush=True)
                    sys.exit(3)
            """
        )
    )
    child = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=environment(), cwd=tmp_path
    )
    assert child.stdout is not None
    try:
        started = child.stdout.readline().split()
        assert started[:1] == ["started"], started
        worker = int(started[1])
        child.send_signal(signal.SIGINT)
        rest = child.stdout.read()
        assert child.wait(timeout=120) == 3
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    assert "interrupted RunInterruptedError" in rest
    assert _state_of(worker) in (None, "Z")


def _state_of(pid: int) -> str | None:
    """A process's state letter, or None when it no longer exists."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_the_example_runs_on_a_local_cluster() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "dask_cluster.py")],
        check=False,
        capture_output=True,
        text=True,
        env=environment(),
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "total:  " in out.stdout
