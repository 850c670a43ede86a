"""Crashes, timeouts, retries and nested runs, under every start method."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

import pytest

from parallelism import (
    DependencyError,
    TaskState,
    TaskTimeoutError,
    WorkerCrashedError,
    process,
    scheduler,
    thread,
)
from tests.fault_tasks import (
    busy_for,
    exit_with,
    flaky,
    kill_and_wait,
    kill_self,
    my_pid,
    nested_sum,
    pid_after,
    scheduling_policy,
    segfault,
    value,
    wait_for_bytes,
    write_byte,
)

METHODS = ["forkserver", "spawn", "fork"]


@pytest.fixture(params=METHODS)
def method(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_crashes_fail_only_their_task(method: str) -> None:
    with scheduler(processes=2, threads=1, start_method=method) as result:
        exited = exit_with(7)
        killed = kill_self(signal.SIGKILL)
        crashed = segfault()
        after = value(exited)
        independent = [value(i) for i in range(6)]
    assert [d.result() for d in independent] == list(range(6))
    for deferred, text in [
        (exited, "exited with code 7"),
        (killed, "killed by SIGKILL"),
        (crashed, "killed by SIGSEGV"),
    ]:
        error = deferred.exception()
        assert isinstance(error, WorkerCrashedError), error
        assert text in str(error)
        assert deferred.name in str(error)
    assert isinstance(after.exception(), DependencyError)
    assert set(result.raise_exception) == {"exit_with", "kill_self", "segfault", "value"}
    assert {"exit_with", "kill_self", "segfault"} <= set(result.elapsed_time)


def test_a_worker_that_dies_idle_is_replaced_without_failing_anything(method: str) -> None:
    with scheduler(processes=1, threads=1, start_method=method) as result:
        first = my_pid()
        killed = kill_and_wait(first)
        second = pid_after(killed)
    assert killed.result() == first.result()
    assert second.result() != first.result()
    assert result.raise_exception == {}


def test_process_task_timeout_kills_its_worker(method: str) -> None:
    with scheduler(processes=2, threads=1, start_method=method) as result:
        slow = busy_for.options(timeout=0.2)(60.0)
        after = value(slow)  # type: ignore[arg-type]
        fine = value(1)
    error = slow.exception()
    assert isinstance(error, TaskTimeoutError)
    assert isinstance(error, TimeoutError)
    assert "timeout of 0.2 s" in str(error)
    assert isinstance(after.exception(), DependencyError)
    assert fine.result() == 1
    assert slow.state is TaskState.FAILED
    assert "busy_for" in result.elapsed_time


def test_thread_task_timeout_fails_it_and_abandons_the_thread() -> None:
    release = threading.Event()
    threads: list[threading.Thread] = []

    @thread(timeout=0.2)
    def stuck() -> int:
        threads.append(threading.current_thread())
        release.wait(60)
        return 1

    @thread
    def fine() -> int:
        return 2

    with scheduler(processes=1, threads=1) as result:
        blocked = stuck()
        other = fine()  # runs on a replacement thread while the stuck one is abandoned
    assert isinstance(blocked.exception(), TaskTimeoutError)
    assert other.result() == 2
    assert "stuck" in result.raise_exception
    release.set()
    for worker in threads:
        worker.join(30)
        assert not worker.is_alive()


@pytest.mark.parametrize(("how", "timeout"), [("raise", None), ("crash", None), ("hang", 0.3)])
def test_retries_run_a_failed_task_again(
    tmp_path: Path, how: str, timeout: float | None, caplog: pytest.LogCaptureFixture
) -> None:
    counter = str(tmp_path / "attempts")
    caplog.set_level(logging.INFO, logger="parallelism")
    with scheduler(processes=1, threads=1) as result:
        third_time = flaky.options(retries=2, timeout=timeout)(counter, 2, how)
    assert third_time.result() == 3
    retried = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retried) == 2
    assert retried[-1].endswith("retrying (attempt 3 of 3)")
    assert all(r.levelno == logging.WARNING for r in caplog.records if "retrying" in r.getMessage())
    assert result.raise_exception == {}
    assert list(result.elapsed_time) == ["flaky"]


def test_retries_exhausted_fail_with_the_last_error(tmp_path: Path) -> None:
    counter = str(tmp_path / "attempts")
    with scheduler(processes=1, threads=1) as result:
        failing = flaky.options(retries=1)(counter, 5, "raise")
        after = value(failing)
    error = failing.exception()
    assert isinstance(error, RuntimeError)
    assert str(error) == "attempt 2"
    assert isinstance(after.exception(), DependencyError)
    assert repr(result.raise_exception["flaky"]) == "RuntimeError('attempt 2')"


def test_retries_work_inline(tmp_path: Path) -> None:
    counter = str(tmp_path / "attempts")
    with scheduler(processes=1, threads=1, backend="inline"):
        second = flaky.options(retries=1)(counter, 1, "raise")
    assert second.result() == 2


def test_a_run_timeout_stops_the_run_and_keeps_what_finished() -> None:
    release = threading.Event()

    @thread
    def waits() -> int:
        release.wait(60)
        return 1

    with (
        pytest.raises(TaskTimeoutError, match="run exceeded its timeout"),
        # long enough for `done` to finish even on a loaded machine; the rest blocks for good
        scheduler(processes=1, threads=2, timeout=2.0) as result,
    ):
        done = value(5)
        slow = busy_for(60.0)
        waiting = waits()
        after = value(slow)  # type: ignore[arg-type]
    release.set()
    assert done.result() == 5
    for deferred in (slow, waiting, after):
        assert deferred.state is TaskState.CANCELLED
        assert isinstance(deferred.exception(), TaskTimeoutError)
    assert set(result.execution_time) == {"value", "busy_for", "waits", "value-2"}


def test_inline_reports_a_timeout_after_the_call() -> None:
    with scheduler(processes=1, threads=1, backend="inline"):
        slow = busy_for.options(timeout=0.05)(0.2)
    assert isinstance(slow.exception(), TaskTimeoutError)


def test_a_task_that_reserved_processes_can_run_its_own_scheduler(method: str) -> None:
    with scheduler(processes=3, threads=1, start_method=method) as result:
        total = nested_sum(5)
    assert total.result() == sum(i * i for i in range(5))
    assert list(result.execution_time) == ["nested_sum"]


def test_bad_timeout_and_retries_are_rejected() -> None:
    from parallelism import InvalidOptionError

    with pytest.raises(InvalidOptionError):
        process(timeout=0)
    with pytest.raises(InvalidOptionError):
        process(retries=-1)
    with pytest.raises(InvalidOptionError):
        scheduler(timeout=-1.0)


def test_tasks_queued_behind_a_crashing_task_run_elsewhere(method: str) -> None:
    with scheduler(processes=1, threads=1, start_method=method) as result:
        first = value(0)
        crashed = exit_with(5)
        queued = [value(i) for i in range(1, 12)]  # handed ahead behind the crash, most of them
    assert first.result() == 0
    assert isinstance(crashed.exception(), WorkerCrashedError)
    assert [d.result() for d in queued] == list(range(1, 12))
    assert set(result.raise_exception) == {"exit_with"}


def test_nothing_waits_behind_a_task_that_has_not_finished_its_first_call(
    method: str, tmp_path: Path
) -> None:
    # The first task blocks until every later one has run. Queued behind it in its worker (as
    # tasks are behind a worker whose tasks are quick), any later one would never run: the run's
    # timeout is the deadlock detector. A worker gets a queue only once its last task was quick.
    fifo = str(tmp_path / "bytes")
    os.mkfifo(fifo)
    count = 12
    with scheduler(processes=2, threads=1, start_method=method, timeout=60):
        blocked = wait_for_bytes(fifo, count)
        writers = [write_byte(fifo) for _ in range(count)]
    assert blocked.result() not in {d.result() for d in writers}  # all ran on the other worker


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is a Linux policy")
def test_workers_run_as_batch_work_so_they_do_not_preempt_the_loop(method: str) -> None:
    with scheduler(processes=1, threads=1, start_method=method):
        policy = scheduling_policy()
    assert policy.result() == os.SCHED_BATCH
    assert os.sched_getscheduler(0) != os.SCHED_BATCH  # the caller keeps its own policy
