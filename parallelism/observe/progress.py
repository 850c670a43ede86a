"""Progress of a run on stderr: a live bar on a terminal, or one line per 10% with ``"log"``.

``scheduler(..., progress=True)`` shows done / failed / cancelled / running / total, the elapsed
time and an estimate of the time left, on one line of stderr that redraws itself ten times a
second, only when stderr is a terminal.  With the optional extra ``parallelism[progress]``
(``rich``) the bar is drawn by rich; without it by a plain renderer.  ``progress="log"`` does the
same on a terminal and, when stderr is not one (a CI log, a file), writes a line each time another
tenth of the tasks has finished (seen at the next tick).  Otherwise nothing is shown or started.

How it stays cheap: the loop does no work at all for it.  A display thread wakes ten times a
second and counts the states of the run's tasks in the graph's live state list (``list.count``,
C speed; the loop alone writes that list, this thread only reads it, as ``Deferred.state`` does);
when the run has ended it counts the result instead, so the last line is exact.  Building the
per-task events of :mod:`parallelism.events` for a progress listener would cost about 2
microseconds a task, 5 to 10% of a run of tiny tasks (``benchmarks/progress_overhead.py``), so
the events stay free for your own monitoring.  A graph so large that counting takes long is
counted less often (at most a twentieth of the display thread's time).

While the bar is live, ``sys.stderr`` is wrapped so that whatever else is written there (the run's
log lines, a task's prints) erases the bar first instead of being glued to it; the bar is redrawn
on the next tick.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Literal, TextIO, Union, cast

from .._errors import InvalidOptionError
from .._state import TaskState

if TYPE_CHECKING:
    from .._graph import Graph
    from .._result import SchedulerResult

__all__ = [
    "Counts",
    "ProgressOption",
    "check_progress",
    "count_states",
    "log_line",
    "progress_line",
    "showing",
]

ProgressOption = Union[bool, Literal["log"]]  # noqa: UP007 - a runtime alias, and 3.10 is supported
"""``False`` (the default), ``True`` (a live bar on a terminal) or ``"log"``."""

REFRESH = 0.1
"""Seconds between two redraws of a live bar."""
BAR_WIDTH = 24


def check_progress(value: object) -> ProgressOption:
    """``progress=`` as given, or :class:`InvalidOptionError` naming what it may be."""
    if value is True or value is False:
        return value
    if value == "log":
        return "log"
    raise InvalidOptionError(f"progress= must be True, False or 'log', not {value!r}")


@dataclass(frozen=True)
class Counts:
    """How far a run is: its tasks by state, and the seconds since it began."""

    total: int
    succeeded: int
    failed: int
    cancelled: int
    running: int
    elapsed: float

    @property
    def done(self) -> int:
        """Tasks with an outcome."""
        return self.succeeded + self.failed + self.cancelled


def count_states(
    states: Sequence[TaskState], externals: Iterable[int] = ()
) -> tuple[int, int, int, int, int]:
    """``(total, succeeded, failed, cancelled, running)`` of a run's tasks from its state list.

    ``externals`` are the keys of nodes that stand for an earlier block's Deferreds: they settle
    in the list too, but are not tasks of this run.
    """
    tallies = {
        TaskState.SUCCEEDED: states.count(TaskState.SUCCEEDED),
        TaskState.FAILED: states.count(TaskState.FAILED),
        TaskState.CANCELLED: states.count(TaskState.CANCELLED),
        TaskState.RUNNING: states.count(TaskState.RUNNING),
    }
    total = len(states)
    for key in externals:
        total -= 1
        if states[key] in tallies:
            tallies[states[key]] -= 1
    return (
        total,
        tallies[TaskState.SUCCEEDED],
        tallies[TaskState.FAILED],
        tallies[TaskState.CANCELLED],
        tallies[TaskState.RUNNING],
    )


def _count_result(result: SchedulerResult) -> tuple[int, int, int, int, int]:
    total = len(result.execution_time)
    ran = len(result.elapsed_time)
    failed = sum(1 for name in result.raise_exception if name in result.elapsed_time)
    return total, ran - failed, failed, total - ran, 0


class _Watch:
    """Reads how far a run is: the graph's live state list while it runs, its result after."""

    def __init__(self, graph: Graph) -> None:
        self._graph = graph
        self._states: list[TaskState] | None = None
        self._began = time.monotonic()

    def read(self) -> Counts | None:
        """The counts now, or ``None`` before the run has begun."""
        graph = self._graph
        elapsed = time.monotonic() - self._began
        if graph.result is not None:
            return Counts(*_count_result(graph.result), elapsed)
        if self._states is None:
            self._states = graph.states  # the live list, set when the run begins
            if self._states is None:
                return None
        return Counts(*count_states(self._states, graph.externals), elapsed)


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _estimate(counts: Counts) -> str:
    done, total = counts.done, counts.total
    if done == 0 or done >= total:
        return ""
    left = counts.elapsed / done * (total - done)
    return f", ~{_clock(left)} left"


def _details(counts: Counts) -> str:
    return (
        f"{counts.succeeded} succeeded, {counts.failed} failed, {counts.cancelled} cancelled, "
        f"{counts.running} running"
    )


def progress_line(counts: Counts, width: int | None = None) -> str:
    """``[#####-----] 12/40 done: 10 succeeded, 1 failed, 1 cancelled, 2 running | 0:00:03 ...``."""
    done, total = counts.done, counts.total
    filled = BAR_WIDTH * done // total if total else BAR_WIDTH
    bar = "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "]"
    line = (
        f"{bar} {done}/{total} done: {_details(counts)} | {_clock(counts.elapsed)} elapsed{_estimate(counts)}"
    )
    if width is not None and len(line) >= width:
        line = line[: max(width - 1, 0)]
    return line


def log_line(counts: Counts) -> str:
    """One line of the ``"log"`` mode."""
    done, total = counts.done, counts.total
    percent = 100 * done // total if total else 100
    return (
        f"parallelism progress: {percent}% ({done}/{total} done: {_details(counts)}), "
        f"{_clock(counts.elapsed)} elapsed{_estimate(counts)}"
    )


# --- displays ------------------------------------------------------------------------------------


class _Display:
    """Shows a run from ``start()`` to ``close()``: a thread reads the counts at each tick."""

    def __init__(self, stream: TextIO, watch: _Watch) -> None:
        self.stream = stream
        self.watch = watch
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._ticks, name="parallelism-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _ticks(self) -> None:
        interval = REFRESH
        while not self._stop.wait(interval):  # a redraw rate, not a wait for anything
            began = time.perf_counter()
            counts = self.watch.read()
            if counts is not None:
                self.show(counts)
            interval = max(REFRESH, 20 * (time.perf_counter() - began))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.finish(self.watch.read() or Counts(0, 0, 0, 0, 0, 0.0))

    def show(self, counts: Counts) -> None:
        """Show the counts of a tick."""

    def finish(self, counts: Counts) -> None:
        """Show the final counts (the run has ended, or failed to start)."""


class _LogDisplay(_Display):
    """A line each time another tenth of the tasks has finished, and a last one at the end."""

    def __init__(self, stream: TextIO, watch: _Watch) -> None:
        super().__init__(stream, watch)
        self._tenths = 0
        self._last: int | None = None

    def show(self, counts: Counts) -> None:
        tenths = 10 * counts.done // counts.total if counts.total else 0
        if tenths > self._tenths:
            self._tenths = tenths
            self._line(counts)

    def finish(self, counts: Counts) -> None:
        if self._last != counts.done or self._tenths < 10:
            self._line(counts)

    def _line(self, counts: Counts) -> None:
        self._last = counts.done
        self.stream.write(log_line(counts) + "\n")
        self.stream.flush()


class _TerminalStream:
    """``sys.stderr`` while a bar is live: other writes erase the bar first, then it is redrawn."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._drawn = False
        self._partial = False

    def write(self, text: str) -> int:
        with self._lock:
            if self._drawn and text:
                self._stream.write("\r\x1b[K")
                self._drawn = False
            written = self._stream.write(text)
            if text:
                self._partial = not text.endswith("\n")
            return written

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def draw(self, line: str, last: bool = False) -> None:
        """Draw the bar over the current line (not over a line somebody else is half-way through)."""
        with self._lock:
            if self._partial and not last:
                return
            if self._partial:
                self._stream.write("\n")
                self._partial = False
            self._stream.write("\r" + line + "\x1b[K" + ("\n" if last else ""))
            self._stream.flush()
            self._drawn = not last

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _terminal_width(stream: TextIO) -> int:
    """Columns of the terminal: ``COLUMNS`` if set, else what the terminal says, else 80."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
    return columns if columns > 0 else 80


class _LineDisplay(_Display):
    """The plain live bar: one line redrawn in place at each tick."""

    def __init__(self, stream: TextIO, watch: _Watch) -> None:
        super().__init__(stream, watch)
        self._proxy = _TerminalStream(stream)
        self._saved: TextIO | None = None

    def start(self) -> None:
        self._saved = sys.stderr
        sys.stderr = cast(TextIO, self._proxy)
        super().start()

    def show(self, counts: Counts) -> None:
        self._proxy.draw(progress_line(counts, _terminal_width(self.stream)))

    def finish(self, counts: Counts) -> None:
        try:
            self._proxy.draw(progress_line(counts, _terminal_width(self.stream)), last=True)
        finally:
            if sys.stderr is cast(Any, self._proxy):
                sys.stderr = cast(TextIO, self._saved)


class _RichDisplay(_Display):
    """The live bar drawn by rich (``pip install parallelism[progress]``)."""

    def __init__(self, stream: TextIO, watch: _Watch, rich: dict[str, Any]) -> None:
        super().__init__(stream, watch)
        self._rich = rich
        self._latest: Counts | None = None
        self._live: Any = rich["Live"](
            get_renderable=self._renderable,
            console=rich["Console"](file=stream),
            refresh_per_second=1 / REFRESH,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=True,
        )

    def _renderable(self) -> Any:
        counts = self._latest or Counts(0, 0, 0, 0, 0, 0.0)
        grid = self._rich["Table"].grid(padding=(0, 1))
        bar = self._rich["ProgressBar"](total=max(counts.total, 1), completed=counts.done, width=BAR_WIDTH)
        grid.add_row(
            bar,
            f"{counts.done}/{counts.total} done: {_details(counts)}",
            f"{_clock(counts.elapsed)} elapsed{_estimate(counts)}",
        )
        return grid

    def start(self) -> None:
        self._live.start()
        super().start()

    def show(self, counts: Counts) -> None:
        self._latest = counts

    def finish(self, counts: Counts) -> None:
        self._latest = counts
        self._live.stop()  # draws the last state once more and restores stderr


def _rich() -> dict[str, Any] | None:
    """rich's few classes used here, or ``None`` when it is not installed."""
    try:
        from rich.console import Console
        from rich.live import Live
        from rich.progress_bar import ProgressBar
        from rich.table import Table
    except ImportError:
        return None
    return {"Console": Console, "Live": Live, "ProgressBar": ProgressBar, "Table": Table}


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _display(progress: ProgressOption, stream: TextIO | None, graph: Graph) -> _Display | None:
    if not progress or stream is None:  # no stderr at all (pythonw)
        return None
    watch = _Watch(graph)
    if _is_terminal(stream):
        rich = _rich()
        return _LineDisplay(stream, watch) if rich is None else _RichDisplay(stream, watch, rich)
    if progress == "log":
        return _LogDisplay(stream, watch)
    return None


@contextlib.contextmanager
def showing(progress: ProgressOption, graph: Graph) -> Iterator[None]:
    """Show the progress of the run of ``graph`` that happens inside this context, as asked."""
    display = _display(progress, sys.stderr, graph)
    if display is None:
        yield
        return
    display.start()
    try:
        yield
    finally:
        display.close()
