"""What seeing a run costs: 10,000 tiny thread tasks with and without progress, events and records.

Run it with ``python -m benchmarks.progress_overhead [--tasks N] [--repeat R]``.

Modes, each a run of ``N`` thread tasks that return at once (``processes=0, threads=2``, the local
backend, the ``parallelism`` logger at WARNING), interleaved ``R`` times (each mode taking each place in a
round in turn):

* ``default``: what every run does: no events are built, the record for ``summary()`` and the
  trace is made from the loop's own records when the run ends;
* ``no record``: the same with that record switched off (``record_run`` replaced by a stub), to
  show what the always-on part costs;
* ``on_event``: a no-op ``on_event`` callback: what building the per-task events costs (the reason
  progress is not built on them, see ``parallelism/observe/progress.py``);
* ``log``: ``progress="log"`` with stderr not a terminal (a line per 10%);
* ``bar``: ``progress=True`` with stderr on a pseudo-terminal (the plain renderer, rich hidden);
* ``bar (rich)``: the same drawn by rich, when it is installed.

It prints the median and the best wall and CPU time of each mode and its ratio to ``default``,
then what the outputs cost after such a run (``summary()``, the trace, the HTML page).  The
machine's noise shows in the spread between best and median: compare medians over many repeats.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from parallelism import SchedulerResult, scheduler, thread
from parallelism import _scheduler as scheduler_module
from parallelism.observe import progress as progress_module


@thread
def tiny(i: int) -> int:
    return i


BACKEND = "local"


def _run(tasks: int, **options: Any) -> SchedulerResult:
    with scheduler(processes=0, threads=2, backend=BACKEND, **options) as result:
        for i in range(tasks):
            tiny(i)
    return result


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextlib.contextmanager
def _no_record() -> Iterator[None]:
    namespace = vars(scheduler_module)
    original = namespace["record_run"]
    namespace["record_run"] = lambda **_: None
    try:
        yield
    finally:
        namespace["record_run"] = original


@contextlib.contextmanager
def _stderr_not_a_terminal() -> Iterator[None]:
    saved = sys.stderr
    sys.stderr = io.StringIO()
    try:
        yield
    finally:
        sys.stderr = saved


@contextlib.contextmanager
def _stderr_on_a_terminal(rich: bool) -> Iterator[None]:
    """``sys.stderr`` on a pseudo-terminal whose output a thread reads and throws away."""
    master, slave = os.openpty()
    stream = open(slave, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed below
    os.environ["COLUMNS"] = "160"

    def drain() -> None:
        with contextlib.suppress(OSError):
            while os.read(master, 65536):
                pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    saved_stderr, saved_rich = sys.stderr, progress_module._rich
    sys.stderr = stream
    if not rich:
        progress_module._rich = lambda: None
    try:
        yield
    finally:
        sys.stderr = saved_stderr
        progress_module._rich = saved_rich
        stream.close()
        reader.join(10)
        os.close(master)
        del os.environ["COLUMNS"]


def _has_rich() -> bool:
    return progress_module._rich() is not None


def _modes() -> dict[str, tuple[Callable[[], contextlib.AbstractContextManager[None]], dict[str, Any]]]:
    modes: dict[str, tuple[Callable[[], contextlib.AbstractContextManager[None]], dict[str, Any]]] = {
        "default": (_nothing, {}),
        "no record": (_no_record, {}),
        "on_event": (_nothing, {"on_event": lambda event: None}),
        "log": (_stderr_not_a_terminal, {"progress": "log"}),
        "bar": (lambda: _stderr_on_a_terminal(rich=False), {"progress": True}),
    }
    if _has_rich():
        modes["bar (rich)"] = (lambda: _stderr_on_a_terminal(rich=True), {"progress": True})
    return modes


def _time(
    tasks: int, context: Callable[[], contextlib.AbstractContextManager[None]], options: dict[str, Any]
) -> tuple[float, float]:
    with context():
        wall, cpu = time.perf_counter(), time.process_time()
        _run(tasks, **options)
        return time.perf_counter() - wall, time.process_time() - cpu


def _outputs(tasks: int) -> list[tuple[str, float]]:
    result = _run(tasks)
    costs: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as directory:
        for label, action in (
            ("summary()", result.summary),
            ("to_chrome_trace()", lambda: result.to_chrome_trace(os.path.join(directory, "t.json"))),
            ("to_html()", lambda: result.to_html(os.path.join(directory, "t.html"))),
            ("graph.to_mermaid()", result.graph.to_mermaid),
        ):
            start = time.perf_counter()
            action()
            costs.append((label, time.perf_counter() - start))
    return costs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--backend", default="local", choices=("local", "inline"))
    args = parser.parse_args(argv)
    global BACKEND  # noqa: PLW0603 - a script's setting
    BACKEND = args.backend
    logging.getLogger("parallelism").setLevel(logging.WARNING)

    modes = _modes()
    _run(200)  # warm up: imports, thread start-up
    walls: dict[str, list[float]] = {name: [] for name in modes}
    cpus: dict[str, list[float]] = {name: [] for name in modes}
    names = list(modes)
    for repeat in range(args.repeat):
        shift = repeat % len(names)  # each mode takes each place in a round in turn
        for name in names[shift:] + names[:shift]:
            context, options = modes[name]
            gc.collect()
            wall, cpu = _time(args.tasks, context, options)
            walls[name].append(wall)
            cpus[name].append(cpu)

    base_wall = statistics.median(walls["default"])
    base_cpu = statistics.median(cpus["default"])
    print(
        f"{args.tasks} tiny thread tasks (processes=0, threads=2, backend={BACKEND!r}), "
        f"{args.repeat} interleaved repeats"
    )
    print(
        f"{'mode':<12} {'wall median':>12} {'wall best':>10} {'ratio':>7}   {'cpu median':>11} {'ratio':>7}"
    )
    for name in modes:
        wall_median = statistics.median(walls[name])
        cpu_median = statistics.median(cpus[name])
        print(
            f"{name:<12} {wall_median:>11.3f}s {min(walls[name]):>9.3f}s {wall_median / base_wall:>7.3f}"
            f"   {cpu_median:>10.3f}s {cpu_median / base_cpu:>7.3f}"
        )
    print(f"\nafter a run of {args.tasks} tasks (not part of the run):")
    for label, seconds in _outputs(args.tasks):
        print(f"  {label:<20} {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
