"""Seed conformance: the two examples of ``seed/task_scheduler.rst``, line by line.

Each example runs as a script in a subprocess, exactly as a user would run it, and every line it
prints is checked: the log lines' text, level, logger name and PID/TID (a process task's line
carries its worker's PID, never the caller's), the lines the tasks print, and the four result
dicts (contents, reprs, key order).  Durations, timestamps, PIDs and TIDs vary from run to run.

Order.  With real workers the order of independent events depends on timing: in the "Results"
example, whether ``p4`` starts before ``p2``'s failure is handled depends on which of ``p1``/``p2``
reports first.  The subprocess runs are therefore checked against every order the seed's flow
allows (each task after what it waits for, cancellations at start first, every dict ordered by
``execution_time``).  The seed's own order is the one where tasks finish in the order they started;
the inline backend runs tasks exactly that way, and with it the engine reproduces the seed's log
lines and dicts in the seed's exact order (``test_results_in_the_seeds_exact_order``).
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import runpy
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import parallelism._classic as classic
from parallelism import SchedulerResult
from parallelism._graph import Graph
from parallelism._scheduler import run_graph

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEADLOCK = 120  # seconds: a deadlock detector, never a way to order events

LINE = re.compile(
    r"(?P<asctime>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \[(?P<level>[A-Z]+)\] "
    r"\[(?P<logger>[^:\]]+):(?P<pid>\d+):(?P<tid>\d+)\] - (?P<message>.*)"
)
DURATION = re.compile(
    r"(?P<value>\d+(?:\.\d{1,2})?) "
    r"(?P<unit>(?:nano|micro|milli)?second|minute|hour|day|week)(?P<plural>s?)"
)
DATETIME = re.compile(r"datetime\.datetime\((?P<fields>\d+(?:, \d+){4,6})\)")


class Line(NamedTuple):
    level: str
    logger: str
    pid: int
    tid: int
    message: str


def parse_log(stderr: str) -> list[Line]:
    """Every stderr line must be a log line in the seed's format (no stray output)."""
    lines = []
    for text in stderr.splitlines():
        match = LINE.fullmatch(text)
        assert match, f"not a log line in the seed's format: {text!r}"
        datetime.datetime.strptime(match["asctime"], "%Y-%m-%d %H:%M:%S,%f")
        lines.append(
            Line(match["level"], match["logger"], int(match["pid"]), int(match["tid"]), match["message"])
        )
    return lines


def check_duration(text: str) -> None:
    """The seed's wording: up to 2 decimals, no trailing zeros, singular only for exactly 1."""
    match = DURATION.fullmatch(text)
    assert match, f"not a duration in the seed's wording: {text!r}"
    value = match["value"]
    assert not (("." in value) and value.endswith("0")), f"trailing zero in {text!r}"
    assert (match["plural"] == "") == (value == "1"), f"wrong number in {text!r}"


def normalize(message: str) -> str:
    """``'p1' ran approximately 2.5 microseconds`` -> ``'p1' ran approximately ...`` (checked)."""
    match = re.fullmatch(r"('.+' ran approximately )(.+?)( - .*)?", message)
    if match is None:
        return message
    check_duration(match[2])
    return f"{match[1]}...{match[3] or ''}"


def index_of(order: list[str], name: str) -> int:
    assert name in order, f"{name!r} missing from {order}"
    return order.index(name)


def assert_before(order: list[str], pairs: list[tuple[str, str]]) -> None:
    """Each ``(first, then)``: ``first`` comes before ``then`` in ``order``."""
    for first, then in pairs:
        assert index_of(order, first) < index_of(order, then), f"{first!r} after {then!r} in {order}"


def run_example(name: str) -> tuple[int, str, list[Line]]:
    """Run ``examples/<name>`` as a script; its PID, stdout, and parsed stderr log lines."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # prints reach the pipe in the order they happen
    env.pop("PYTHONWARNINGS", None)
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / name)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=DEADLOCK)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    return process.pid, stdout, parse_log(stderr)


def check_origins(lines: dict[str, Line], caller: int, kinds: dict[str, str]) -> None:
    """Loop lines: the caller's PID and main thread; thread tasks: the caller's PID, a worker thread;
    process tasks: a worker process's PID, never the caller's."""
    loop_tids = {lines[name].tid for name, kind in kinds.items() if kind == "loop"}
    assert len(loop_tids) <= 1
    for name, kind in kinds.items():
        line = lines[name]
        assert line.logger == "parallelism"
        if kind == "process":
            assert line.pid != caller, f"{name!r} logged with the caller's PID"
        else:
            assert line.pid == caller, f"{name!r} logged with PID {line.pid}, not the caller's"
        if kind == "thread":
            assert line.tid not in loop_tids, f"{name!r} logged with the loop's TID"
    process_pids = {lines[name].pid for name, kind in kinds.items() if kind == "process"}
    assert 1 <= len(process_pids) <= 2  # processes=2: at most two workers, reused


def by_task(lines: list[Line]) -> tuple[list[str], dict[str, Line]]:
    """Task names in log order (each exactly once) and each task's line."""
    order = [re.match(r"'(\w+)'", line.message)[1] for line in lines]  # type: ignore[index]
    assert len(order) == len(set(order)), f"a task logged twice: {order}"
    return order, dict(zip(order, lines, strict=True))


# --- Code flow ----------------------------------------------------------------------------------

CODE_FLOW_KINDS = {
    "p1": "process",
    "p2": "process",
    "p3": "process",
    "t1": "thread",
    "t2": "thread",
    "t3": "thread",
    "p4": "process",
    "t4": "thread",
}
CODE_FLOW_WAITS = [
    ("p1", "t1"),
    ("p2", "t2"),
    ("p3", "t3"),
    ("t1", "p4"),
    ("t2", "p4"),
    ("t3", "p4"),
    ("p4", "t4"),
]
CODE_FLOW_PRINTS = {
    "p1": "func1(a=1, b=2, c=3)",
    "p2": "func1(a=4, b=5, c=6)",
    "p3": "func1(a=7, b=8, c=9)",
    "t1": "func2(x=6)",
    "t2": "func2(x=15)",
    "t3": "func2(x=24)",
    "p4": "func1(a=6, b=15, c=24)",
    "t4": "func2(x=45)",
}


def test_code_flow_example() -> None:
    caller, stdout, log = run_example("seed_code_flow.py")
    order, lines = by_task(log)
    assert sorted(order) == sorted(CODE_FLOW_KINDS)
    for name, line in lines.items():
        assert (line.level, normalize(line.message)) == ("INFO", f"{name!r} ran approximately ...")
    assert_before(order, CODE_FLOW_WAITS)
    check_origins(lines, caller, CODE_FLOW_KINDS)

    printed = stdout.splitlines()
    assert sorted(printed) == sorted(CODE_FLOW_PRINTS.values())
    started = [next(n for n, text in CODE_FLOW_PRINTS.items() if text == line) for line in printed]
    assert_before(started, CODE_FLOW_WAITS)


# --- Results ------------------------------------------------------------------------------------

RESULTS_KINDS = {
    "p3": "loop",
    "t3": "loop",
    "p1": "process",
    "p2": "process",
    "t2": "loop",
    "p4": "process",
    "t1": "thread",
    "t4": "thread",
}
RESULTS_LOG = {
    "p3": ("WARNING", "'p3' is being canceled, due to lack of 1 process and also 2 threads"),
    "t3": ("WARNING", "'t3' is being canceled, due to task 'p3'"),
    "p1": ("INFO", "'p1' ran approximately ..."),
    "p2": ("ERROR", "'p2' ran approximately ... - ZeroDivisionError('division by zero')"),
    "t2": ("INFO", "'t2' is being canceled, due to task 'p2'"),
    "p4": ("INFO", "'p4' ran approximately ..."),
    "t1": ("INFO", "'t1' ran approximately ..."),
    "t4": ("INFO", "'t4' ran approximately ..."),
}
SEED_ORDER = ["p3", "t3", "p1", "p2", "t2", "p4", "t1", "t4"]
"""The order of the seed's log lines and of its ``execution_time`` dict."""
RESULTS_WAITS = [("p1", "t1"), ("p2", "t2"), ("p3", "t3"), ("p4", "t4")]
RESULTS_ERRORS = {
    "p3": "WorkerError(\"'p3' has been canceled\", (1, 2))",
    "t3": "DependencyError(\"'t3' has been canceled\", ('p3',))",
    "p2": "ZeroDivisionError('division by zero')",
    "t2": "DependencyError(\"'t2' has been canceled\", ('p2',))",  # the seed's typo says 't3'
}
RESULTS_VALUES = {"t1": "2.5", "t4": "3.5"}
RESULTS_PRINTS = {
    "p1": "func1(a=5, b=2)",
    "p2": "func1(a=3, b=0)",
    "p4": "func1(a=7, b=2)",
    "t1": "func2(x=2.5)",
    "t4": "func2(x=3.5)",
}


def assert_results_flow(order: list[str]) -> None:
    """An order of the Results example's tasks that its flow allows (the log's or the dicts')."""
    assert sorted(order) == sorted(RESULTS_KINDS)
    assert order[:2] == ["p3", "t3"], "cancellations at start come first, in the order of tasks"
    assert_before(order, RESULTS_WAITS)
    # p4 waits for a process slot: it starts after p1 or p2 has finished.
    assert index_of(order, "p4") > min(index_of(order, "p1"), index_of(order, "p2"))


def test_the_flow_check_accepts_the_seed_and_rejects_what_the_flow_forbids() -> None:
    assert_results_flow(SEED_ORDER)
    for wrong in (
        ["t3", "p3", "p1", "p2", "t2", "p4", "t1", "t4"],
        ["p3", "t3", "p1", "t2", "p2", "p4", "t1", "t4"],
        ["p3", "t3", "p4", "p1", "p2", "t2", "t1", "t4"],
    ):
        with pytest.raises(AssertionError):
            assert_results_flow(wrong)


def parse_dicts(stdout: str) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """The lines the tasks printed, and each ``>>> s1.<field>`` dict as (key, value repr) pairs."""
    text = stdout.splitlines()
    first = text.index(">>> s1.execution_time")
    dicts: dict[str, list[tuple[str, str]]] = {}
    rest = text[first:]
    while rest:
        header, opening = rest[0], rest[1]
        assert header.startswith(">>> s1."), header
        assert opening == "{"
        closing = rest.index("}")
        entries = []
        for entry in rest[2:closing]:
            match = re.fullmatch(r"    '(\w+)': (.*),", entry)
            assert match, f"not an entry in the seed's layout: {entry!r}"
            entries.append((match[1], match[2]))
        dicts[header.removeprefix(">>> s1.")] = entries
        rest = rest[closing + 1 :]
    assert list(dicts) == ["execution_time", "elapsed_time", "raise_exception", "return_value"]
    return text[:first], dicts


def check_results_dicts(dicts: dict[str, list[tuple[str, str]]]) -> None:
    """Contents, reprs and key order of the four dicts."""
    started: list[tuple[int, ...]] = []
    for name, value in dicts["execution_time"]:
        match = DATETIME.fullmatch(value)
        assert match, f"{name!r}: {value!r} is not a datetime repr"
        fields = tuple(int(field) for field in match["fields"].split(", "))
        started.append((*fields, 0, 0)[:7])  # a repr drops zero seconds and microseconds
    assert started == sorted(started), "execution_time is not ordered by its values"
    order = [name for name, _ in dicts["execution_time"]]
    assert_results_flow(order)

    def in_order(names: set[str]) -> list[str]:
        return [name for name in order if name in names]

    elapsed = dicts["elapsed_time"]
    assert [name for name, _ in elapsed] == in_order({"p1", "p2", "p4", "t1", "t4"})
    for name, value in elapsed:
        assert repr(float(value)) == value and float(value) >= 0, (name, value)
    assert dicts["raise_exception"] == [
        (name, RESULTS_ERRORS[name]) for name in in_order(set(RESULTS_ERRORS))
    ]
    assert dicts["return_value"] == [(name, RESULTS_VALUES[name]) for name in in_order(set(RESULTS_VALUES))]


def test_results_example() -> None:
    caller, stdout, log = run_example("seed_results.py")
    order, lines = by_task(log)
    assert_results_flow(order)
    for name, line in lines.items():
        assert (line.level, normalize(line.message)) == RESULTS_LOG[name], name
    check_origins(lines, caller, RESULTS_KINDS)

    printed, dicts = parse_dicts(stdout)
    assert sorted(printed) == sorted(RESULTS_PRINTS.values())
    started = [next(n for n, text in RESULTS_PRINTS.items() if text == line) for line in printed]
    assert_before(started, [("p1", "t1"), ("p4", "t4")])
    check_results_dicts(dicts)


# --- in-process: the seed's exact order, and where process-task lines come from -------------------


class Recorder(logging.Handler):
    """Keeps the ``parallelism`` records; optionally checks each one as it is handled."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self.worker_ancestry: dict[str, bool] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if record.process != os.getpid():
            # The worker is alive while the loop handles its line: is it a descendant of ours?
            self.worker_ancestry[record.getMessage()] = _descends_from(record.process, os.getpid())


def _descends_from(pid: int | None, ancestor: int) -> bool:
    while pid and pid > 1:
        if pid == ancestor:
            return True
        with open(f"/proc/{pid}/stat") as stat:
            pid = int(stat.read().rsplit(")", 1)[1].split()[1])
    return False


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    logger = logging.getLogger("parallelism")
    handler = Recorder()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def run_results_example(monkeypatch: pytest.MonkeyPatch, backend: str) -> SchedulerResult:
    """The example's ``main()``, in this process, on ``backend``."""

    def run_on(graph: Graph, **options: Any) -> SchedulerResult:
        return run_graph(graph, **{**options, "backend": backend})

    monkeypatch.setattr(classic, "run_graph", run_on)
    example = runpy.run_path(str(EXAMPLES / "seed_results.py"), run_name="seed_results_example")
    result: SchedulerResult = example["main"]()
    return result


def test_results_in_the_seeds_exact_order(
    monkeypatch: pytest.MonkeyPatch, recorder: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tasks that finish in the order they started: the seed's lines and dicts, in its order."""
    result = run_results_example(monkeypatch, "inline")
    logged = [(r.levelname, normalize(r.getMessage())) for r in recorder.records]
    assert logged == [RESULTS_LOG[name] for name in SEED_ORDER]
    assert list(result.execution_time) == SEED_ORDER
    assert list(result.elapsed_time) == ["p1", "p2", "p4", "t1", "t4"]
    assert {k: repr(v) for k, v in result.raise_exception.items()} == RESULTS_ERRORS
    assert list(result.raise_exception) == ["p3", "t3", "p2", "t2"]
    assert result.return_value == {"t1": 2.5, "t4": 3.5}
    assert list(result.return_value) == ["t1", "t4"]
    assert capsys.readouterr().out.splitlines() == [RESULTS_PRINTS[n] for n in ("p1", "p2", "p4", "t1", "t4")]


def test_process_task_lines_come_from_a_child_process(
    monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    result = run_results_example(monkeypatch, "local")
    by_name = {re.match(r"'(\w+)'", r.getMessage())[1]: r for r in recorder.records}  # type: ignore[index]
    for name in ("p1", "p2", "p4"):
        record = by_name[name]
        assert record.process != os.getpid()
        assert recorder.worker_ancestry[record.getMessage()], f"{name!r}: PID {record.process} is not ours"
    for name in ("p3", "t3", "t2", "t1", "t4"):
        assert by_name[name].process == os.getpid()
    assert {k: repr(v) for k, v in result.raise_exception.items()} == RESULTS_ERRORS
