"""Progress: the live bar on a pseudo-terminal (plain and rich), the log mode, nothing otherwise.

The live bar is redrawn by a refresh thread at a fixed rate; where a test needs the bar to be on
screen before something else is written, a task waits for the first draw (an Event set by the
display), never for time to pass.
"""

from __future__ import annotations

import fcntl
import io
import logging
import os
import re
import select
import struct
import subprocess
import sys
import termios
import textwrap
import threading
from collections.abc import Callable, Iterator
from typing import Any, TextIO, cast

import pytest

from parallelism import InvalidOptionError, TaskState, events, scheduler, thread
from parallelism.observe import progress

DEADLOCK = 60.0  # seconds: only a detector, never a way to order things


@thread
def work(i: int) -> int:
    return i


@thread
def broken(i: int) -> int:
    raise RuntimeError(f"broken {i}")


def _progress_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("parallelism progress:")]


def test_progress_must_be_true_false_or_log() -> None:
    for wrong in ("yes", 1, None, "LOG"):
        with pytest.raises(InvalidOptionError, match="progress= must be True, False or 'log'"):
            scheduler(progress=wrong)  # type: ignore[arg-type]


def test_log_mode_writes_a_line_when_a_tick_sees_another_tenth_done(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    written = threading.Event()
    line = progress._LogDisplay._line

    def line_and_tell(self: progress._LogDisplay, counts: progress.Counts) -> None:
        line(self, counts)
        written.set()

    monkeypatch.setattr(progress._LogDisplay, "_line", line_and_tell)

    @thread
    def after_a_line(i: int) -> int:  # holds the run at 5 of 10 done until a tick has logged it
        assert written.wait(DEADLOCK), "no progress line was written"
        return i

    with scheduler(processes=0, threads=1, backend="inline", progress="log"):
        for i in range(5):
            work(i)
        for i in range(5, 10):
            after_a_line(i) if i == 5 else work(i)
    lines = _progress_lines(capsys.readouterr().err)
    assert lines[0].startswith(
        "parallelism progress: 50% (5/10 done: 5 succeeded, 0 failed, 0 cancelled, 1 running), "
    )
    assert lines[-1].startswith(
        "parallelism progress: 100% (10/10 done: 10 succeeded, 0 failed, 0 cancelled, 0 running), "
    )
    percents = [int(line.split()[2].rstrip("%")) for line in lines]
    assert percents == sorted(set(percents)) and len(lines) <= 6


class _Script:
    """A watch that returns the counts it is given, one per tick."""

    def __init__(self, *counts: progress.Counts) -> None:
        self.counts = list(counts)

    def read(self) -> progress.Counts:
        return self.counts.pop(0)


def test_log_lines_are_one_per_tenth_crossed_and_a_last_one() -> None:
    stream = io.StringIO()
    ticks = [progress.Counts(20, done, 0, 0, 1, 1.0) for done in (0, 1, 2, 3, 7, 7, 19)]
    display = progress._LogDisplay(stream, cast(Any, _Script()))
    for counts in ticks:
        display.show(counts)
    display.finish(progress.Counts(20, 19, 1, 0, 0, 2.0))
    lines = stream.getvalue().splitlines()
    assert [line.split()[2] for line in lines] == ["10%", "35%", "95%", "100%"]
    assert lines[-1] == (
        "parallelism progress: 100% (20/20 done: 19 succeeded, 1 failed, 0 cancelled, 0 running), "
        "0:00:02 elapsed"
    )


def test_log_mode_counts_failures_and_cancellations(capsys: pytest.CaptureFixture[str]) -> None:
    with scheduler(processes=0, threads=1, backend="inline", progress="log"):
        for i in range(3):
            work(broken(i))
        work.options(name="huge", threads=5)(0)
        work(1)
    lines = _progress_lines(capsys.readouterr().err)
    assert lines[-1].startswith(
        "parallelism progress: 100% (8/8 done: 1 succeeded, 3 failed, 4 cancelled, 0 running)"
    )


def test_counting_states_leaves_out_earlier_blocks_deferreds() -> None:
    s = TaskState
    states = [s.SUCCEEDED, s.RUNNING, s.FAILED, s.CANCELLED, s.READY, s.PENDING, s.SUCCEEDED, s.FAILED]
    assert progress.count_states(states) == (8, 2, 2, 1, 1)
    assert progress.count_states(states, externals=(0, 7)) == (6, 1, 1, 1, 1)
    line = progress.progress_line(progress.Counts(6, 1, 1, 1, 1, 3.0), width=60)
    assert line.startswith("[############------------] 3/6 done: 1 succeeded") and len(line) == 59


def test_progress_true_shows_nothing_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seen: list[events.Event] = []
    with scheduler(processes=0, threads=1, backend="inline", progress=True, on_event=seen.append):
        work(1)
    err = capsys.readouterr().err
    assert "parallelism progress" not in err and "\r" not in err and "done:" not in err
    assert len(seen) == 4  # the user's callback is called as it is


def test_a_callback_that_raises_is_dropped_and_the_progress_goes_on(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[events.Event] = []

    def bad(event: events.Event) -> None:
        calls.append(event)
        raise ValueError("monitoring bug")

    with (
        caplog.at_level(logging.ERROR, logger="parallelism"),
        scheduler(processes=0, threads=1, backend="inline", progress="log", on_event=bad),
    ):
        for i in range(10):
            work(i)
    assert len(calls) == 1
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1 and "will not be called again" in errors[0].getMessage()
    assert _progress_lines(capsys.readouterr().err)[-1].startswith("parallelism progress: 100% (10/10 done")


# --- on a pseudo-terminal -------------------------------------------------------------------------


def _openpty() -> tuple[int, int]:
    """A pseudo-terminal 160 columns wide (a new one says 0 x 0)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    return master, slave


def _read_all(master: int, process: subprocess.Popen[bytes] | None = None) -> bytes:
    """Everything written to the terminal until every writer has closed it."""
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([master], [], [], DEADLOCK)
        if not ready:
            if process is not None:
                process.kill()
            raise AssertionError("the pseudo-terminal went quiet without closing (deadlock?)")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


_CHILD = textwrap.dedent(
    """
    import sys, threading
    if sys.argv[1] == "plain":
        sys.modules["rich"] = None  # as if the optional extra were not installed
    from parallelism import scheduler, thread
    from parallelism.observe import progress

    drawn = threading.Event()
    if sys.argv[1] == "plain":
        draw = progress._TerminalStream.draw
        def draw_and_tell(self, line, last=False):
            draw(self, line, last)
            drawn.set()
        progress._TerminalStream.draw = draw_and_tell
    else:
        renderable = progress._RichDisplay._renderable
        def renderable_and_tell(self):
            drawn.set()
            return renderable(self)
        progress._RichDisplay._renderable = renderable_and_tell

    @thread
    def after_the_first_draw() -> int:
        assert drawn.wait(60), "the bar was never drawn"
        return 0

    @thread
    def work(i: int) -> int:
        return i

    if __name__ == "__main__":
        with scheduler(processes=0, threads=2, progress=True) as result:
            for i in range(4):
                work(after_the_first_draw() if i == 0 else i)
        print("after the run", file=sys.stderr)
    """
)


def _run_on_pty(mode: str) -> str:
    master, slave = _openpty()
    env = dict(os.environ, TERM="xterm-256color")
    env.pop("COLUMNS", None)
    env.pop("NO_COLOR", None)
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, mode],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=slave,
            env=env,
        )
        os.close(slave)
        slave = -1
        output = _read_all(master, child)
        assert child.wait(DEADLOCK) == 0, output.decode(errors="replace")
    finally:
        os.close(master)
        if slave != -1:
            os.close(slave)
    return output.decode("utf-8", errors="replace")


def _visible(raw_line: str) -> str:
    """What a terminal shows of one line: ``\\r`` goes back to its start, ESC[K erases the rest."""
    cells: list[str] = []
    column = 0
    for token in re.split(r"(\r|\x1b\[K)", raw_line):
        if token == "\r":
            column = 0
        elif token == "\x1b[K":
            del cells[column:]
        else:
            for char in token:
                if column < len(cells):
                    cells[column] = char
                else:
                    cells.append(char)
                column += 1
    return "".join(cells)


def test_plain_live_bar_on_a_pseudo_terminal() -> None:
    out = _run_on_pty("plain")
    assert "\x1b[K" in out  # the line is redrawn in place
    final = "] 5/5 done: 5 succeeded, 0 failed, 0 cancelled, 0 running | 0:00:"
    assert final in out
    screen = [_visible(line) for line in out.replace("\r\n", "\n").split("\n")]
    assert screen[-3:] == [screen[-3], "after the run", ""]
    assert re.fullmatch(
        r"\[#{24}\] 5/5 done: 5 succeeded, 0 failed, 0 cancelled, 0 running \| 0:00:\d\d elapsed", screen[-3]
    )
    logged = [line for line in screen if "ran approximately" in line]
    assert len(logged) == 5
    for line in logged:  # each log line erased the bar first instead of being glued to it
        assert re.match(r"\d{4}-\d\d-\d\d ", line), repr(line)
    assert "\r[" in out.split("after_the_first_draw' ran")[0]  # a bar was on screen before it


def test_rich_live_bar_on_a_pseudo_terminal() -> None:
    pytest.importorskip("rich")
    out = _run_on_pty("rich")
    assert "5/5 done: 5 succeeded, 0 failed, 0 cancelled, 0 running" in out
    assert "after the run" in out
    assert out.count("ran approximately") == 5


@pytest.fixture
def terminal() -> Iterator[tuple[TextIO, Callable[[], str]]]:
    """A stream on a pseudo-terminal in this process, and a function that closes it and returns
    everything that reached the terminal.  (A test must set ``sys.stderr`` itself: pytest's
    capture sets it anew between a fixture and the test.)"""
    master, slave = _openpty()
    stream = open(slave, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed by output()
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(_read_all(master)))
    reader.start()

    def output() -> str:
        if not stream.closed:
            stream.close()
        reader.join(DEADLOCK)
        assert not reader.is_alive(), "the terminal reader did not finish"
        return b"".join(received).decode("utf-8", errors="replace")

    try:
        yield stream, output
    finally:
        output()
        os.close(master)


def test_plain_bar_in_process_restores_stderr_and_stops_its_thread(
    terminal: tuple[TextIO, Callable[[], str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    stream, output = terminal
    monkeypatch.setattr(progress, "_rich", lambda: None)
    monkeypatch.setattr(sys, "stderr", stream)
    before = sys.stderr
    during: list[object] = []

    @thread
    def look() -> int:
        during.append(sys.stderr)
        print("printed by a task", file=sys.stderr)
        return 1

    with scheduler(processes=0, threads=1, backend="inline", progress=True):
        look()
        work(2)
    assert sys.stderr is before
    assert len(during) == 1 and during[0] is not before  # wrapped while the bar was live
    assert not [t for t in threading.enumerate() if t.name == "parallelism-progress"]
    monkeypatch.undo()
    out = output().replace("\r\n", "\n")
    assert "printed by a task\n" in out
    assert out.endswith("] 2/2 done: 2 succeeded, 0 failed, 0 cancelled, 0 running | 0:00:00 elapsed\x1b[K\n")
