"""Ctrl-C and SIGTERM to a real caller process: nothing of ours survives, finished work is kept.

Each test runs a script in a subprocess.  Its tasks report their PIDs through a FIFO, which is
how the test knows they are running (no sleeps); the test then signals the script and checks,
once it has exited, that every reported PID is gone.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import signal, sys
    from parallelism import scheduler, thread
    from tests.fault_tasks import nested_blocking, report_pid_and_block, value
    import threading

    # Ctrl-C as a terminal delivers it, even when the test run itself was started with SIGINT
    # ignored (a background job of a non-interactive shell), which this process would inherit.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    @thread
    def thread_blocks() -> int:
        threading.Event().wait()
        return 0

    def main(fifo: str, method: str, nested: bool) -> None:
        try:
            with scheduler(processes=3, threads=2, start_method=method):
                kept = value(42)
                # The blocking tasks wait for `kept`: once they report, it has finished.
                if nested:
                    nested_blocking(fifo, kept)
                else:
                    report_pid_and_block(fifo, kept)
                    report_pid_and_block(fifo, kept)
                thread_blocks()
        except KeyboardInterrupt:
            print("interrupted", kept.result(), flush=True)
            raise

    if __name__ == "__main__":
        main(sys.argv[1], sys.argv[2], sys.argv[3] == "nested")
    """
)

DEADLOCK = 60.0  # seconds: only a deadlock detector


def _read_pids(fifo: Path, count: int) -> list[int]:
    """Block (with a deadlock detector) until ``count`` PIDs came through the FIFO."""
    descriptor = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    keeper = os.open(fifo, os.O_WRONLY)  # so the FIFO never reports EOF between writers
    data = b""
    deadline = time.monotonic() + DEADLOCK
    try:
        while data.count(b"\n") < count:
            ready, _, _ = select.select([descriptor], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"tasks did not report in time: {data!r}"
            data += os.read(descriptor, 4096)
    finally:
        os.close(descriptor)
        os.close(keeper)
    return [int(line) for line in data.split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def launched() -> Iterator[list[subprocess.Popen[str]]]:
    """Scripts started by a test; whatever a failed test left running is killed, group and all."""
    children: list[subprocess.Popen[str]] = []
    yield children
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()


def _start(
    tmp_path: Path, method: str, nested: bool, launched: list[subprocess.Popen[str]]
) -> tuple[subprocess.Popen[str], Path]:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    fifo = tmp_path / "pids"
    os.mkfifo(fifo)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    child = subprocess.Popen(
        [sys.executable, str(script), str(fifo), method, "nested" if nested else "flat"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, for the clean-up above
    )
    launched.append(child)
    return child, fifo


@pytest.mark.parametrize("method", ["forkserver", "spawn", "fork"])
@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested"])
def test_ctrl_c_stops_everything_and_keeps_finished_outcomes(
    tmp_path: Path, method: str, nested: bool, launched: list[subprocess.Popen[str]]
) -> None:
    child, fifo = _start(tmp_path, method, nested, launched)
    pids = _read_pids(fifo, 3 if nested else 2)  # nested: the worker and two grandchildren
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=DEADLOCK)
    assert child.returncode == -signal.SIGINT, err  # Python ends as SIGINT asks
    assert "KeyboardInterrupt" in err
    assert out.strip() == "interrupted 42"
    assert [pid for pid in pids if _alive(pid)] == []


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_sigterm_cleans_up_then_ends_the_process_as_sigterm(
    tmp_path: Path, method: str, launched: list[subprocess.Popen[str]]
) -> None:
    child, fifo = _start(tmp_path, method, True, launched)
    pids = _read_pids(fifo, 3)
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=DEADLOCK)
    assert child.returncode == -signal.SIGTERM
    assert [pid for pid in pids if _alive(pid)] == []


def test_a_sigkilled_caller_leaves_no_worker(tmp_path: Path, launched: list[subprocess.Popen[str]]) -> None:
    child, fifo = _start(tmp_path, "forkserver", True, launched)
    pids = _read_pids(fifo, 3)
    child.kill()
    child.communicate(timeout=DEADLOCK)
    # The workers notice their caller is gone (a pipe only the caller held reports EOF) and exit.
    deadline = time.monotonic() + DEADLOCK
    for pid in pids:
        descriptor = None
        try:
            descriptor = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            ready, _, _ = select.select([descriptor], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"worker {pid} outlived its killed caller"
        finally:
            os.close(descriptor)
