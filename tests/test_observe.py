"""Seeing a run: the trace, the HTML page, the graph texts, the summary, raise_for_failures, events.

Runs are small and deterministic where the order matters (one slot of each kind); the timeline
tests also check lanes on synthetic records, where overlaps are certain.
"""

from __future__ import annotations

import html.parser
import itertools
import json
import pathlib
import pickle
import subprocess
import sys
from typing import Any

import pytest

from parallelism import (
    DependencyError,
    NotRunError,
    SchedulerResult,
    TaskState,
    WorkerError,
    events,
    process,
    scheduler,
    thread,
)
from parallelism._graph import CallTemplate, Graph, TaskKind
from parallelism._scheduler import run_graph
from parallelism.observe import Collector, Edge, Node, RunRecord, TaskGraph, TaskRecord
from parallelism.observe import summary as summary_module
from parallelism.observe.summary import critical_path, summarize
from parallelism.observe.trace import chrome_trace, lanes


@process
def square(x: int) -> int:
    return x * x


@thread
def add(a: int, b: int) -> int:
    return a + b


@process
def fail(x: int) -> int:
    raise ValueError(f"bad {x}")


@thread
def fail_thread(x: int) -> int:
    raise KeyError(x)


def _mixed_run(backend: str) -> SchedulerResult:
    """Six squares, five adds, a failure with a cancelled dependent, and an unfittable task."""
    with scheduler(processes=2, threads=2, backend=backend) as result:
        squares = [square(i) for i in range(6)]
        for left, right in itertools.pairwise(squares):
            add(left, right)
        broken = fail(squares[0])
        add(broken, 1)
        square.options(name="huge", processes=5)(1)
    return result


# --- the trace ------------------------------------------------------------------------------------


def test_trace_has_one_slice_per_task_that_ran_and_lanes_never_overlap(
    backend: str, tmp_path: pathlib.Path
) -> None:
    result = _mixed_run(backend)
    path = tmp_path / "trace.json"
    result.to_chrome_trace(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    trace = document["traceEvents"]

    slices = [event for event in trace if event["ph"] == "X"]
    assert sorted(event["name"] for event in slices) == sorted(result.elapsed_time)
    groups = {event["pid"]: event["args"]["name"] for event in trace if event["name"] == "process_name"}
    assert groups == {1: "processes", 2: "threads", 3: "cancelled"}
    kinds = {"processes": "process", "threads": "thread"}
    for event in slices:
        assert kinds[groups[event["pid"]]] == event["cat"]
        assert 1 <= event["tid"] <= 2  # one lane per slot: 2 processes, 2 threads
        assert event["dur"] >= 0 and event["ts"] >= 0
        assert event["args"]["state"] in {"succeeded", "failed"}
        assert event["args"]["duration_s"] == result.elapsed_time[event["name"]]
    by_name = {event["name"]: event for event in slices}
    assert by_name["fail"]["args"]["state"] == "failed"
    assert by_name["fail"]["args"]["error"] == "ValueError: bad 0"
    assert by_name["square"]["args"]["error"] is None
    _assert_no_overlap(slices)

    instants = [event for event in trace if event["ph"] == "i"]
    assert sorted(event["name"] for event in instants) == ["add-6", "huge"]
    assert {event["pid"] for event in instants} == {3}
    lane_names = {(e["pid"], e["tid"]): e["args"]["name"] for e in trace if e["name"] == "thread_name"}
    assert lane_names[(1, 1)] == "process slot 1" and lane_names[(2, 2)] == "thread slot 2"


def _assert_no_overlap(slices: list[dict[str, Any]]) -> None:
    by_lane: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for event in slices:
        by_lane.setdefault((event["pid"], event["tid"]), []).append((event["ts"], event["ts"] + event["dur"]))
    for lane, spans in by_lane.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start, f"slices overlap on lane {lane}: {spans}"


def _task(name: str, started: float, elapsed: float | None, kind: str = "thread") -> TaskRecord:
    state = TaskState.CANCELLED if elapsed is None else TaskState.SUCCEEDED
    return TaskRecord(name, kind, state, started, elapsed, None)


def test_lanes_put_overlapping_tasks_on_different_lanes_and_reuse_freed_ones() -> None:
    tasks = [
        _task("a", 100.0, 2.0),  # 0..2 on lane 1
        _task("b", 100.5, 1.0),  # 0.5..1.5 on lane 2
        _task("c", 101.5, 1.0),  # 1.5..2.5: lane 2 is free again (b ended), lane 1 is not
        _task("d", 102.0, 1.0),  # 2..3: lane 1 is free (a ended)
        _task("p", 100.0, 3.0, "process"),
    ]
    record = RunRecord(began=100.0, ended=103.0, processes=1, threads=2, tasks=tasks)
    drawn = {lane.label: [piece.task.name for piece in lane.slices] for lane in lanes(record)}
    assert drawn == {"process slot 1": ["p"], "thread slot 1": ["a", "d"], "thread slot 2": ["b", "c"]}


def test_lanes_never_overlap_even_when_the_clock_says_more_ran_than_there_were_slots() -> None:
    tasks = [_task("a", 10.0, 1.0), _task("b", 10.2, 1.0), _task("c", 10.4, 1.0)]
    record = RunRecord(began=10.0, ended=12.0, processes=0, threads=2, tasks=tasks)
    slices = [event for event in chrome_trace(record)["traceEvents"] if event["ph"] == "X"]
    assert len(slices) == 3
    assert {event["tid"] for event in slices} == {1, 2}
    _assert_no_overlap(slices)


# --- the HTML page --------------------------------------------------------------------------------


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.bars: list[dict[str, str | None]] = []
        self.titles: list[str] = []
        self.tags: list[str] = []
        self.urls: list[str] = []
        self._in_bar_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        self.urls += [value or "" for name, value in attrs if name in {"src", "href", "xmlns"}]
        if tag == "rect" and "bar" in (values.get("class") or "").split():
            self.bars.append(values)
        if tag == "title" and self.tags[-2:-1] == ["rect"]:
            self._in_bar_title = True

    def handle_endtag(self, tag: str) -> None:
        self._in_bar_title = False

    def handle_data(self, data: str) -> None:
        if self._in_bar_title:
            self.titles.append(data)


def test_html_is_self_contained_with_one_bar_per_task(backend: str, tmp_path: pathlib.Path) -> None:
    result = _mixed_run(backend)
    path = tmp_path / "run.html"
    result.to_html(path)
    text = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    page.close()

    assert sorted(bar["data-task"] or "" for bar in page.bars) == sorted(result.execution_time)
    states = {bar["data-task"]: (bar["class"] or "").split()[1] for bar in page.bars}
    assert states["fail"] == "failed" and states["huge"] == "cancelled" and states["square"] == "succeeded"
    assert len(page.titles) == len(page.bars)
    assert any(title.startswith("fail\n") and "ValueError: bad 0" in title for title in page.titles)
    assert "svg" in page.tags and "table" in page.tags
    assert page.urls == []
    assert "://" not in text  # no external URL at all
    assert "<script" not in text


# --- the graph ------------------------------------------------------------------------------------


def test_graph_is_read_only_and_one_node_per_task_one_edge_per_dependency(backend: str) -> None:
    result = _mixed_run(backend)
    graph = result.graph
    assert [node.name for node in graph.nodes] == list(_recorded_names())
    assert len(graph.edges) == 5 * 2 + 1 + 1  # adds take two squares; fail one; add-6 one
    assert {(graph.nodes[e.source].name, graph.nodes[e.target].name) for e in graph.edges} >= {
        ("square", "add"),
        ("square-2", "add"),
        ("square", "fail"),
        ("fail", "add-6"),
    }
    states = {node.name: node.state for node in graph.nodes}
    assert states["fail"] is TaskState.FAILED and states["add-6"] is TaskState.CANCELLED
    assert states["add"] is TaskState.SUCCEEDED
    with pytest.raises(AttributeError):
        result.graph = graph  # type: ignore[misc]
    with pytest.raises(AttributeError):
        graph.nodes = ()  # type: ignore[misc]


def _recorded_names() -> list[str]:
    return [f"square{'' if i == 0 else f'-{i + 1}'}" for i in range(6)] + [
        "add",
        "add-2",
        "add-3",
        "add-4",
        "add-5",
        "fail",
        "add-6",
        "huge",
    ]


def _record_graph_with_ordering_edges() -> Graph:
    """a; b after a (ordering only); c takes a's value and runs after b (ordering only)."""

    def noop(*args: Any) -> int:
        return 1

    graph = Graph()

    def template(name: str) -> CallTemplate:
        return CallTemplate(TaskKind.THREAD, noop, name, True, 0, 0, None, False, False)

    a = graph.add(template("a"), (), {})
    b = graph.add(template("b"), (), {}, order_deps=(a,))
    graph.add(template("c"), (a,), {}, order_deps=(b, a))
    return graph


def test_ordering_only_dependencies_are_recorded_and_drawn_dashed() -> None:
    graph = _record_graph_with_ordering_edges()
    assert graph.order_edges == {(0, 1), (1, 2)}  # a -> c passes a value: not ordering-only
    result = run_graph(graph, processes=0, threads=1, backend="inline")
    edges = {(e.source, e.target): e.ordering for e in result.graph.edges}
    assert edges == {(0, 1): True, (0, 2): False, (1, 2): True}
    mermaid = result.graph.to_mermaid()
    assert "t0 -.-> t1" in mermaid and "t1 -.-> t2" in mermaid and "t0 --> t2" in mermaid
    dot = result.graph.to_dot()
    assert "t0 -> t1 [style=dashed];" in dot and "t1 -> t2 [style=dashed];" in dot
    assert "t0 -> t2;" in dot


def test_mermaid_and_dot_name_every_node_and_edge(backend: str) -> None:
    result = _mixed_run(backend)
    graph = result.graph
    mermaid = graph.to_mermaid()
    dot = graph.to_dot()
    assert mermaid.startswith("flowchart LR\n") and dot.startswith("digraph parallelism {\n")
    for key, node in enumerate(graph.nodes):
        shape = '["' if node.kind == "process" else '("'
        assert f"    t{key}{shape}{node.name}" in mermaid
        assert f't{key} [label="{node.name}", shape=box' in dot
        assert f'tooltip="{node.kind} task, {node.state.value if node.state else "not run"}' in dot
    for edge in graph.edges:
        assert f"    t{edge.source} --> t{edge.target}\n" in mermaid
        assert f"    t{edge.source} -> t{edge.target};\n" in dot
    assert mermaid.count("-->") == len(graph.edges) and dot.count("->") == len(graph.edges)
    failed = next(key for key, node in enumerate(graph.nodes) if node.name == "fail")
    classes = {
        line.split()[2]: line.split()[1].split(",")
        for line in mermaid.splitlines()
        if line.startswith("    class ")
    }
    assert classes["failed"] == [f"t{failed}"]
    assert sorted(classes["cancelled"]) == sorted(
        f"t{key}" for key, node in enumerate(graph.nodes) if node.state is TaskState.CANCELLED
    )
    assert 'fillcolor="#ffcdd2"' in dot.split(f"t{failed} [", 1)[1].split("\n", 1)[0]


def test_labels_are_escaped_exactly() -> None:
    name = 'we"ird <x> #1 & a\\b'
    graph = TaskGraph(
        [Node(name, "thread", None), Node("z", "external", TaskState.SUCCEEDED)], [Edge(1, 0, False)]
    )
    mermaid = graph.to_mermaid()
    assert 't0("we#quot;ird #lt;x#gt; #35;1 #amp; a\\b")' in mermaid
    assert 't1[/"z"/]' in mermaid
    dot = graph.to_dot()
    assert 'label="we\\"ird <x> #1 & a\\\\b"' in dot
    assert "shape=parallelogram" in dot


def test_a_deferred_of_an_earlier_block_is_an_external_node() -> None:
    with scheduler(processes=0, threads=1, backend="inline"):
        first = add(1, 2)
    with scheduler(processes=0, threads=1, backend="inline") as result:
        add(first, 3)
    nodes = result.graph.nodes
    assert nodes[0] == Node("add", "external", TaskState.SUCCEEDED)
    assert nodes[1] == Node("add", "thread", TaskState.SUCCEEDED)
    assert result.graph.edges == (Edge(0, 1, False),)


# --- the summary ----------------------------------------------------------------------------------


def test_critical_path_is_the_longest_sum_of_elapsed_times_along_dependencies() -> None:
    tasks = [_task("a", 0.0, 1.0), _task("b", 1.0, 2.0), _task("c", 1.0, 5.0), _task("d", 6.0, 1.0)]
    tasks.append(_task("e", 0.0, 4.0))  # independent: longer than a alone, shorter than a-c-d
    graph = TaskGraph(
        [Node(t.name, "thread", t.state) for t in tasks],
        [Edge(0, 1, False), Edge(0, 2, False), Edge(1, 3, False), Edge(2, 3, True)],
    )
    record = RunRecord(began=0.0, ended=7.5, processes=0, threads=2, tasks=tasks, graph=graph)
    assert critical_path(record) == (("a", "c", "d"), 7.0)
    summary = summarize(record)
    assert summary.critical_path == ("a", "c", "d") and summary.critical_time == 7.0
    assert [task.name for task in summary.slowest] == ["c", "e", "b", "a", "d"]
    assert "critical path  7.00 s  (a -> c -> d)" in str(summary)
    assert "wall time      7.50 s" in str(summary)


def test_critical_path_skips_tasks_that_did_not_run_at_its_end() -> None:
    tasks = [_task("a", 0.0, 2.0), _task("b", 2.0, None)]
    graph = TaskGraph([Node("a", "thread", None), Node("b", "thread", None)], [Edge(0, 1, False)])
    record = RunRecord(began=0.0, ended=2.0, processes=0, threads=1, tasks=tasks, graph=graph)
    assert critical_path(record) == (("a",), 2.0)


def test_summary_counts_outcomes_and_lists_each_failure(backend: str) -> None:
    result = _mixed_run(backend)
    text = result.summary()
    lines = text.splitlines()
    assert lines[0] == "parallelism run: 14 tasks on 2 process slots and 2 thread slots"
    assert "  succeeded  11" in lines and "  failed     1" in lines
    assert "  cancelled  2" in lines and "  total      14" in lines
    assert "failures (2)" in lines
    assert "  fail  ValueError: bad 0" in lines
    assert any(
        line.startswith("  huge  WorkerError: 'huge' has been canceled (lacking 4 process") for line in lines
    )
    assert "1 more cancelled as a consequence (a dependency failed or was cancelled)" in lines
    assert "slowest 5 tasks" in lines
    critical = next(line for line in lines if line.startswith("  critical path"))
    chain = critical.split("(", 1)[1].rstrip(")").split(" -> ")
    graph = result.graph
    index = {node.name: key for key, node in enumerate(graph.nodes)}
    edges = {(e.source, e.target) for e in graph.edges}
    assert all((index[a], index[b]) in edges for a, b in itertools.pairwise(chain))  # a real path


def test_results_stay_four_field_tuples_that_pickle_with_their_record(backend: str) -> None:
    result = _mixed_run(backend)
    assert len(result) == 4
    assert result._fields == ("execution_time", "elapsed_time", "raise_exception", "return_value")
    execution_time, elapsed_time, _, _ = result
    assert set(execution_time) == set(_recorded_names())
    copy = pickle.loads(pickle.dumps(result))
    assert len(copy) == 4 and set(copy.elapsed_time) == set(elapsed_time)
    assert copy.summary() == result.summary()
    assert [node.name for node in copy.graph.nodes] == [node.name for node in result.graph.nodes]


def test_a_result_that_has_not_run_says_so() -> None:
    with scheduler(processes=0, threads=1, backend="inline") as result:
        add(1, 2)
        with pytest.raises(NotRunError, match="after the scheduler block"):
            result.summary()
        with pytest.raises(NotRunError):
            result.graph  # noqa: B018
        result.raise_for_failures()  # nothing has failed yet
    assert "succeeded  1" in result.summary()


# --- raise_for_failures ---------------------------------------------------------------------------


def test_raise_for_failures_does_nothing_without_failures() -> None:
    with scheduler(processes=1, threads=1, backend="inline") as result:
        add(square(2), 1)
    assert result.raise_for_failures() is None


def test_one_failure_is_raised_as_it_is_and_its_cancelled_dependents_do_not_count(backend: str) -> None:
    with scheduler(processes=1, threads=1, backend=backend) as result:
        broken = fail(3)
        add(broken, 1)
        add(add(broken, 2), 3)
    with pytest.raises(ValueError, match="bad 3") as caught:
        result.raise_for_failures()
    assert type(caught.value) is ValueError
    assert caught.value is result.raise_exception["fail"].exception
    assert all(
        isinstance(result.raise_exception[name].exception, DependencyError) for name in ("add", "add-2")
    )


def test_a_task_cancelled_for_lack_of_slots_is_a_failure() -> None:
    with scheduler(processes=1, threads=1, backend="inline") as result:
        square.options(processes=3)(2)
    with pytest.raises(WorkerError):
        result.raise_for_failures()


def test_on_python_3_10_the_first_failure_is_raised_with_the_others_named_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(summary_module, "_EXCEPTION_GROUPS", False)
    with scheduler(processes=1, threads=1, backend="inline") as result:
        fail(1)
        fail_thread(2)
        fail(3)
    for _ in range(2):
        with pytest.raises(ValueError, match="bad 1") as caught:
            result.raise_for_failures()
        assert getattr(caught.value, "__notes__", None) == ["2 other tasks failed too: fail_thread, fail-2"]


if sys.version_info >= (3, 11):  # exception groups; 3.10 is tested just above

    def test_several_failures_raise_a_group_in_execution_order(backend: str) -> None:
        with scheduler(processes=1, threads=1, backend=backend) as result:
            fail(1)
            fail_thread(2)
            fail(3)
            square.options(name="huge", processes=4)(1)
        names = list(result.raise_exception)
        assert names[0] == "huge"  # cancelled at start, before anything ran
        with pytest.raises(ExceptionGroup) as caught:  # noqa: F821
            result.raise_for_failures()
        group = caught.value
        assert list(group.exceptions) == [result.raise_exception[name].exception for name in names]
        assert group.message == f"4 tasks failed: {', '.join(names)}"

    def test_base_exceptions_make_a_base_exception_group() -> None:
        @thread
        def interrupt() -> None:
            raise KeyboardInterrupt("from the task")

        with scheduler(processes=0, threads=1, backend="inline") as result:
            interrupt()
            fail_thread(1)
        with pytest.raises(BaseExceptionGroup) as caught:  # noqa: F821
            result.raise_for_failures()
        assert not isinstance(caught.value, ExceptionGroup)  # noqa: F821
        assert [type(error) for error in caught.value.exceptions] == [KeyboardInterrupt, KeyError]


# --- events -----------------------------------------------------------------------------------------


def _describe(event: events.Event) -> tuple[str, ...]:
    if isinstance(event, events.RunStarted):
        return ("RunStarted", str(event.total), str(event.processes), str(event.threads))
    if isinstance(event, events.TaskStarted):
        return ("TaskStarted", event.name, event.kind)
    if isinstance(event, events.TaskFinished):
        error = "" if event.error is None else type(event.error).__name__
        return ("TaskFinished", event.name, event.state.value, error)
    if isinstance(event, events.TaskCancelled):
        return ("TaskCancelled", event.name, type(event.error).__name__)
    if isinstance(event, events.TaskRetried):
        return ("TaskRetried", event.name, str(event.attempt))
    return ("RunFinished",)


def test_the_events_of_a_small_graph_come_in_exactly_this_order(backend: str) -> None:
    seen: list[events.Event] = []
    with scheduler(processes=1, threads=1, backend=backend, on_event=seen.append) as result:
        a = square(2)
        b = add(a, 1)
        c = fail(b)
        add(c, 1)
        huge = square.options(name="huge", processes=3)(1)
        add(huge, 1)
    assert [_describe(event) for event in seen] == [
        ("RunStarted", "6", "1", "1"),
        ("TaskCancelled", "huge", "WorkerError"),
        ("TaskCancelled", "add-3", "DependencyError"),
        ("TaskStarted", "square", "process"),
        ("TaskFinished", "square", "succeeded", ""),
        ("TaskStarted", "add", "thread"),
        ("TaskFinished", "add", "succeeded", ""),
        ("TaskStarted", "fail", "process"),
        ("TaskFinished", "fail", "failed", "ValueError"),
        ("TaskCancelled", "add-2", "DependencyError"),
        ("RunFinished",),
    ]
    last = seen[-1]
    assert isinstance(last, events.RunFinished)
    assert last.result.elapsed_time == result.elapsed_time


def test_a_collector_records_from_events_what_the_result_records(backend: str) -> None:
    collector = Collector()
    with scheduler(processes=2, threads=2, backend=backend, on_event=collector) as result:
        squares = [square(i) for i in range(4)]
        add(fail(squares[0]), 1)
        add(squares[1], squares[2])
    from_events = collector.record
    from_loop = result._run
    assert from_loop is not None

    def plain(record: RunRecord) -> list[tuple[Any, ...]]:
        return [(t.name, t.kind, t.state, t.started, t.elapsed, type(t.error).__name__) for t in record.tasks]

    assert plain(from_events) == plain(from_loop)
    assert (from_events.began, from_events.processes, from_events.threads) == (from_loop.began, 2, 2)
    assert all(task.pid is not None for task in from_events.tasks if task.ran)
    assert from_events.graph is None
    assert summarize(from_events).critical_time is None
    assert "critical path  unknown (no graph)" in str(summarize(from_events))
    assert len([e for e in chrome_trace(from_events)["traceEvents"] if e["ph"] == "X"]) == 6


# --- the example ----------------------------------------------------------------------------------


def test_the_example_writes_every_output(tmp_path: pathlib.Path) -> None:
    example = pathlib.Path(__file__).parent.parent / "examples" / "observe.py"
    done = subprocess.run(
        [sys.executable, str(example), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,  # a deadlock detector
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "total: 7837" in done.stdout and f"written to {tmp_path}:" in done.stdout
    trace = json.loads((tmp_path / "trace.json").read_text(encoding="utf-8"))
    assert len([event for event in trace["traceEvents"] if event["ph"] == "X"]) == 17
    page = _Page()
    page.feed((tmp_path / "run.html").read_text(encoding="utf-8"))
    assert len(page.bars) == 17
    assert (tmp_path / "graph.mmd").read_text(encoding="utf-8").count("-->") == 8 + 8
    assert (tmp_path / "graph.dot").read_text(encoding="utf-8").count("->") == 8 + 8
    assert "succeeded  17" in (tmp_path / "summary.txt").read_text(encoding="utf-8")
