"""The classic API: ``scheduled_task`` / ``task_scheduler`` on the same graph and loop as the DSL.

Validation (each wrong type or value, with its message), placeholders and their steps, ordering
with ``dependencies=`` and ``priority=``, executor kinds, reuse of task objects across runs, and the
same graph given to both front doors giving the same outcome.  The seed's two examples are in
``test_seed_conformance.py``.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import multiprocessing
import os
import pickle
import threading
from multiprocessing import Process
from threading import Thread
from types import SimpleNamespace
from typing import Any

import pytest

import parallelism._classic as classic
from parallelism import (
    DependencyError,
    DuplicateTaskNameError,
    NotCallableError,
    ParallelismError,
    SchedulerResult,
    WorkerError,
    process,
    scheduled_task,
    scheduler,
    task_scheduler,
    thread,
)
from parallelism._scheduler import run_graph

# --- module-level targets (process tasks import them by name) ------------------------------------


def ident(x: Any) -> Any:
    return x


def nothing() -> None:
    return None


def pid() -> int:
    return os.getpid()


def square(x: int) -> int:
    return x * x


def add(a: float, b: float) -> float:
    return a + b


def divide(a: float, b: float) -> float:
    return a / b


def record(x: Any) -> dict[str, Any]:
    return {"nums": [x, x + 1, x + 2], "text": "abcb", "pair": (x, -x)}


def collect(*args: Any, **kwargs: Any) -> tuple[Any, ...]:
    return (args, kwargs)


class MyProcess(Process):
    pass


class MyThread(Thread):
    pass


def _t(name: str, target: Any = nothing, *args: Any, **options: Any) -> scheduled_task:
    return scheduled_task(Thread, name, target, args, **options)


def _p(name: str, target: Any = nothing, *args: Any, **options: Any) -> scheduled_task:
    return scheduled_task(Process, name, target, args, **options)


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: scheduled_task(object, "a", nothing), "executor must be the class multiprocessing.Process"),
        (lambda: scheduled_task("Thread", "a", nothing), "not 'Thread'"),  # type: ignore[arg-type]
        (lambda: scheduled_task(Thread(), "a", nothing), "executor must be"),  # type: ignore[arg-type]
        (lambda: scheduled_task(Thread, 3, nothing), "name must be a non-empty str"),  # type: ignore[arg-type]
        (lambda: scheduled_task(Thread, "a", nothing, [1]), "args of 'a' must be a tuple"),  # type: ignore[arg-type]
        (lambda: scheduled_task(Thread, "a", nothing, (), [1]), "kwargs of 'a' must be a dict"),  # type: ignore[arg-type]
        (lambda: scheduled_task(Thread, "a", nothing, (), {1: 2}), "must have str keys"),  # type: ignore[dict-item]
        (lambda: _t("a", continual=1), "continual= must be True or False, not int"),
        (lambda: _t("a", processes="2"), "processes= must be an int"),
        (lambda: _t("a", threads=True), "threads= must be an int"),
        (lambda: _t("a", threads=1.0), "threads= must be an int"),
        (lambda: _t("a", priority="high"), "priority= must be a number or None"),
        (lambda: _t("a", dependencies=[_t("b")]), "dependencies of 'a' must be a tuple of scheduled_task"),
        (lambda: _t("a", dependencies=(nothing,)), "dependencies of 'a' must be scheduled_task objects"),
        (lambda: task_scheduler([_t("a")]), "tasks must be a tuple of scheduled_task, not list"),  # type: ignore[arg-type]
        (lambda: task_scheduler((_t("a"), "b")), "tasks[1] must be a scheduled_task, not str"),  # type: ignore[arg-type]
        (lambda: task_scheduler((), processes="2"), "processes= must be an int or None"),  # type: ignore[arg-type]
        (lambda: task_scheduler((), threads=2.0), "threads= must be an int or None"),  # type: ignore[arg-type]
    ],
)
def test_wrong_types_are_type_errors(call: Any, message: str) -> None:
    with pytest.raises(TypeError) as caught:
        call()
    assert isinstance(caught.value, ParallelismError)
    assert message in str(caught.value)


def test_a_target_that_is_not_callable() -> None:
    with pytest.raises(NotCallableError, match="target of 'a' must be callable, not int"):
        scheduled_task(Thread, "a", 42)  # type: ignore[arg-type]
    assert issubclass(NotCallableError, TypeError)


def test_a_class_of_both_kinds_is_refused() -> None:
    class Both(Thread, Process):
        pass

    with pytest.raises(TypeError, match=r"executor must be .* not <class"):
        scheduled_task(Both, "a", nothing)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: scheduled_task(Thread, "", nothing), "name must be a non-empty str, not ''"),
        (lambda: _t("a", processes=-1), "processes= must be 0 or more, not -1"),
        (lambda: _t("a", threads=-2), "threads= must be 0 or more, not -2"),
        (lambda: task_scheduler((), processes=-1), "processes= must be 0 or more, not -1"),
        (lambda: task_scheduler((), threads=-1), "threads= must be 0 or more, not -1"),
    ],
)
def test_wrong_values_are_value_errors(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        call()
    assert isinstance(caught.value, ParallelismError)


def test_duplicate_names() -> None:
    a = _t("a")
    with pytest.raises(DuplicateTaskNameError, match="'a' names two tasks"):
        task_scheduler((a, _t("a")))
    with pytest.raises(DuplicateTaskNameError, match="'a' appears twice in tasks"):
        task_scheduler((a, a))
    assert issubclass(DuplicateTaskNameError, ValueError)


def test_a_placeholder_of_a_task_not_in_tasks_names_both_and_is_no_cycle() -> None:
    producer = _t("producer", ident, 1)
    consumer = _t("consumer", ident, [producer.return_value["k"]])
    with pytest.raises(ValueError, match="takes the return value of task 'producer'") as caught:
        task_scheduler((consumer,))
    message = str(caught.value)
    assert "'consumer'" in message and "which is not in tasks" in message
    assert "cycle" not in message
    # Another object with the same name is not the same task.
    with pytest.raises(ValueError, match="is another scheduled_task object"):
        task_scheduler((consumer, _t("producer", ident, 1)))


def test_a_dependency_not_in_tasks() -> None:
    first = _t("first")
    second = _t("second", dependencies=(first,))
    with pytest.raises(ValueError, match="'second' depends on task 'first', which is not in tasks"):
        task_scheduler((second,))


def test_a_real_cycle_is_named() -> None:
    # Only a mutable argument can close a cycle: tasks are built from tasks that exist already.
    late: list[Any] = []
    a = _t("a", ident, late)
    b = _t("b", ident, a.return_value)
    c = _t("c", ident, b.return_value)
    late.append(c.return_value)
    free = _t("free")
    with pytest.raises(ValueError, match="dependency cycle") as caught:
        task_scheduler((free, a, b, c))
    assert str(caught.value).endswith("'a' waits for 'c', 'c' waits for 'b', 'b' waits for 'a'")


# --- the task object and its placeholder ----------------------------------------------------------


def test_the_task_keeps_what_it_was_given() -> None:
    dep = _t("dep")
    kwargs = {"x": 1}
    task = scheduled_task(
        MyProcess, "t", ident, (), kwargs, dependencies=(dep,), priority=2, processes=1, continual=True
    )
    kwargs["x"] = 2  # the task took a copy
    assert (task.executor, task.name, task.target, task.args) == (MyProcess, "t", ident, ())
    assert task.kwargs == {"x": 1}
    assert (task.dependencies, task.priority, task.processes, task.threads, task.continual) == (
        (dep,),
        2,
        1,
        0,
        True,
    )
    assert repr(task) == "<scheduled_task 't' (process) ident>"
    with pytest.raises(AttributeError):
        task.name = "other"  # type: ignore[misc]


def test_a_placeholder_records_steps_and_pretends_nothing() -> None:
    task = _t("p")
    rv = task.return_value
    assert rv is task.return_value
    step = rv["k"].attr(1, b=2)
    assert repr(step) == "<return value of 'p'['k'].attr(1, b=2)>"
    assert repr(rv) == "<return value of 'p'>"
    for probe in (lambda: list(rv), lambda: bool(rv), lambda: 1 in rv, lambda: pickle.dumps(rv)):
        with pytest.raises(TypeError):
            probe()
    assert copy.copy(rv) is rv and copy.deepcopy([rv])[0] is rv
    with pytest.raises(AttributeError):
        rv.__array__  # noqa: B018 - a protocol probe is not a step
    with pytest.raises(AttributeError):
        rv.x = 1
    with pytest.raises(TypeError, match="inside a step of another placeholder"):
        rv[_t("q").return_value]


# --- running --------------------------------------------------------------------------------------


def test_placeholder_steps_on_process_and_thread_values() -> None:
    rec = _p("rec", record, 10)
    obj = scheduled_task(Thread, "obj", SimpleNamespace, (), {"name": "n", "double": lambda v: 2 * v})
    fn = _t("fn", ident, lambda v: v + 100)
    rv, ov = rec.return_value, obj.return_value
    tasks = (
        rec,
        obj,
        fn,
        _p("item", ident, rv["nums"][1], continual=True),
        _p("method", ident, rv["text"].count("b"), continual=True),
        _t("attr", ident, ov.name, continual=True),
        _t("call", ident, ov.double(21), continual=True),
        _p("value_call", ident, fn.return_value(1), continual=True),
        scheduled_task(
            Process,
            "nested",
            collect,
            ([rv["nums"][0], 7], {"a": rv["text"]}),
            {"pair": (rv["pair"][1],)},
            continual=True,
        ),
        scheduled_task(
            Thread, "tnested", collect, ({rv["nums"][2]},), {"key": [rv["text"].upper()]}, continual=True
        ),
    )
    result = task_scheduler(tasks, processes=2, threads=2)
    assert result.raise_exception == {}
    assert result.return_value == {
        "item": 11,
        "method": 2,
        "attr": "n",
        "call": 42,
        "value_call": 101,
        "nested": (([10, 7], {"a": "abcb"}), {"pair": (-10,)}),
        "tnested": (({12},), {"key": ["ABCB"]}),
    }


def test_a_failing_step_fails_the_dependent_not_the_run() -> None:
    rec = _p("rec", record, 1)
    bad_p = _p("bad_p", ident, rec.return_value["missing"])
    bad_t = _t("bad_t", ident, rec.return_value.nope)
    after = _t("after", ident, bad_p.return_value)
    fine = _t("fine", ident, rec.return_value["text"], continual=True)
    result = task_scheduler((rec, bad_p, bad_t, after, fine), processes=1, threads=1)
    assert repr(result.raise_exception["bad_p"]) == "KeyError('missing')"
    assert "KeyError" in (result.raise_exception["bad_p"].traceback or "")
    assert isinstance(result.raise_exception["bad_t"].exception, AttributeError)
    assert (
        repr(result.raise_exception["after"]) == "DependencyError(\"'after' has been canceled\", ('bad_p',))"
    )
    assert result.return_value == {"fine": "abcb"}
    assert set(result.elapsed_time) == {"rec", "bad_p", "bad_t", "fine"}


def test_a_container_without_placeholders_reaches_a_thread_task_as_is() -> None:
    plain = [1, 2]
    result = task_scheduler((_t("t", ident, plain, continual=True),), threads=1)
    assert result.return_value["t"] is plain


def test_dependencies_order_without_passing_a_value() -> None:
    seen: list[str] = []
    first = _t("first", seen.append, "first")
    second = _t("second", lambda: list(seen), dependencies=(first,), continual=True)
    # Given in the "wrong" order on purpose: tasks may come in any order.
    result = task_scheduler((second, first), threads=2)
    assert result.return_value == {"second": ["first"]}
    assert list(result.execution_time) == ["first", "second"]


def test_a_failed_dependency_cancels_the_ordering_dependent() -> None:
    fails = _p("fails", divide, 1, 0)
    both = _t("both", ident, fails.return_value, dependencies=(fails,))
    after = _t("after", dependencies=(fails,))
    result = task_scheduler((fails, both, after), processes=1, threads=1)
    assert repr(result.raise_exception["both"]) == "DependencyError(\"'both' has been canceled\", ('fails',))"
    assert result.raise_exception["after"].exception.tasks == ("fails",)  # type: ignore[attr-defined]
    assert set(result.elapsed_time) == {"fails"}


def test_priority_orders_ready_tasks_and_ties_keep_the_order_of_tasks() -> None:
    tasks = (
        _t("none_a"),
        _t("two", priority=2),
        _t("one_a", priority=1),
        _t("none_b"),
        _t("one_b", priority=1.0),
        _t("neg", priority=-5),
    )
    result = task_scheduler(tasks, threads=1)  # one at a time: start order = priority order
    assert list(result.execution_time) == ["neg", "one_a", "one_b", "two", "none_a", "none_b"]


def test_ties_keep_the_order_of_tasks_even_when_recorded_in_another_order() -> None:
    # c comes first in tasks but is recorded after a (it waits for h, listed last): when a and c
    # become ready together, c still goes first.
    h = _t("h", priority=0)
    g = _t("g")
    c = _t("c", dependencies=(g, h))
    a = _t("a", dependencies=(g,))
    tasks = (c, a, g, h)
    graph = classic.record(tasks)
    assert [spec.name for spec in graph.specs] == ["g", "a", "h", "c"]
    result = task_scheduler(tasks, threads=1)
    assert list(result.execution_time) == ["h", "g", "c", "a"]


def test_executor_kinds_and_subclasses() -> None:
    spawn = multiprocessing.get_context("spawn").Process
    tasks = (
        scheduled_task(Process, "process", pid, continual=True),
        scheduled_task(MyProcess, "subprocess", pid, continual=True),
        scheduled_task(spawn, "context", pid, continual=True),
        scheduled_task(Thread, "thread", threading.get_ident, continual=True),
        scheduled_task(MyThread, "subthread", pid, continual=True),
    )
    values = task_scheduler(tasks, processes=1, threads=1).return_value
    me = os.getpid()
    assert values["process"] != me and values["subprocess"] != me and values["context"] != me
    assert values["thread"] != threading.get_ident()
    assert values["subthread"] == me


def test_reservations_follow_the_seed_accounting() -> None:
    # A thread task needs (p, 1 + t) slots, a process task (1 + p, t); here on (1, 2).
    tasks = (
        _t("thread_1p", processes=1),
        _t("thread_2t", threads=2),
        _p("process_2t", threads=2),
        _p("process_1p", processes=1),
    )
    result = task_scheduler(tasks, processes=1, threads=2)
    assert {name: repr(error) for name, error in result.raise_exception.items()} == {
        "thread_2t": "WorkerError(\"'thread_2t' has been canceled\", (0, 1))",
        "process_1p": "WorkerError(\"'process_1p' has been canceled\", (1, 0))",
    }
    assert set(result.elapsed_time) == {"thread_1p", "process_2t"}


def test_an_async_target_is_awaited() -> None:
    async def later(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    result = task_scheduler((_t("a", later, 1, continual=True),), threads=1)
    assert result.return_value == {"a": 2}


def test_a_task_object_runs_in_several_runs() -> None:
    p = _p("p", square, 3)
    t = _t("t", add, p.return_value, 1, continual=True)
    first = task_scheduler((p, t), processes=1, threads=1)
    second = task_scheduler((t, p), processes=1, threads=1)
    alone = task_scheduler((p,), processes=1, threads=1)
    assert first.return_value == second.return_value == {"t": 10}
    assert list(first.execution_time) == list(second.execution_time) == ["p", "t"]
    assert list(alone.execution_time) == ["p"]


def test_a_decorated_task_as_target_runs_its_plain_function() -> None:
    tasks = (
        scheduled_task(Thread, "t", thread(square), (4,), continual=True),
        scheduled_task(Process, "p", process(square), (5,), continual=True),
    )
    assert task_scheduler(tasks, processes=1, threads=1).return_value == {"t": 16, "p": 25}


def test_a_deferred_of_a_finished_block_may_be_passed() -> None:
    with scheduler(processes=1, threads=1):
        earlier = process(square)(5)
    result = task_scheduler((_t("t", add, earlier, 1, continual=True),), threads=1)
    assert result.return_value == {"t": 26}


def test_the_seed_log_lines_for_a_failure_and_its_dependents(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="parallelism")
    fails = _t("a", divide, 1, 0)
    b = _t("b", ident, fails.return_value)
    c = _t("c", ident, b.return_value)
    task_scheduler((fails, b, c), threads=1)
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert messages[0][0] == "ERROR"
    assert messages[0][1].endswith(" - ZeroDivisionError('division by zero')")
    assert messages[1:] == [
        ("INFO", "'b' is being canceled, due to task 'a'"),
        ("INFO", "'c' is being canceled, due to task 'b'"),
    ]


# --- one engine, two front doors ------------------------------------------------------------------


def _classic_graph() -> tuple[scheduled_task, ...]:
    a = _p("a", square, 3, continual=True)
    b = _t("b", add, a.return_value, 1, continual=True)
    c = _p("c", divide, a.return_value, 0, continual=True)
    d = _t("d", add, b.return_value, c.return_value, continual=True)
    e = _p("e", square, 2, processes=5, continual=True)
    f = _t("f", ident, e.return_value, continual=True)
    g = _t("g", ident, [b.return_value, a.return_value], continual=True)
    return (a, b, c, d, e, f, g)


def _dsl_graph(backend: str) -> SchedulerResult:
    opts: dict[str, Any] = {"continual": True}
    with scheduler(processes=2, threads=2, backend=backend) as result:
        a = process(name="a", **opts)(square)(3)
        b = thread(name="b", **opts)(add)(a, 1)
        c = process(name="c", **opts)(divide)(a, 0)
        thread(name="d", **opts)(add)(b, c)
        e = process(name="e", processes=5, **opts)(square)(2)
        thread(name="f", **opts)(ident)(e)
        thread(name="g", **opts)(ident)([b, a])
    return result


def _outcome(result: SchedulerResult) -> tuple[Any, ...]:
    return (
        set(result.execution_time),
        set(result.elapsed_time),
        {name: repr(error) for name, error in result.raise_exception.items()},
        result.return_value,
    )


def test_a_dsl_task_and_a_classic_task_give_the_same_outcome() -> None:
    dsl = _dsl_graph("local")
    ours = task_scheduler(_classic_graph(), processes=2, threads=2)
    assert _outcome(ours) == _outcome(dsl)
    assert ours.return_value == {"a": 9, "b": 10, "g": [10, 9]}
    assert repr(ours.raise_exception["d"]) == "DependencyError(\"'d' has been canceled\", ('c',))"
    assert isinstance(ours.raise_exception["e"].exception, WorkerError)
    assert isinstance(ours.raise_exception["f"].exception, DependencyError)


def test_both_front_doors_give_the_same_order_on_the_inline_backend() -> None:
    dsl = _dsl_graph("inline")
    ours = run_graph(classic.record(_classic_graph()), processes=2, threads=2, backend="inline")
    assert list(ours.execution_time) == list(dsl.execution_time) == ["e", "f", "a", "b", "c", "d", "g"]
    assert list(ours.elapsed_time) == list(dsl.elapsed_time)
    assert list(ours.raise_exception) == list(dsl.raise_exception)
    assert list(ours.return_value) == list(dsl.return_value)
    assert _outcome(ours) == _outcome(dsl)
