"""The contract suite: what every backend must do the same way (parametrised by ``backend``)."""

from __future__ import annotations

import asyncio
import datetime
import os
import pickle
import threading
from typing import Any

import pytest

from parallelism import (
    Deferred,
    DependencyError,
    DuplicateTaskNameError,
    ForeignDeferredError,
    InvalidOptionError,
    NotCallableError,
    NotRunError,
    OutsideSchedulerError,
    ParallelismError,
    RaiseException,
    SchedulerResult,
    TaskState,
    UnpicklableArgumentError,
    UnpicklableExceptionError,
    UnpicklableResultError,
    WorkerError,
    process,
    scheduler,
    thread,
)

# --- tasks (module level, so that worker processes import them by reference) -----------------


@process
def square(x: float) -> float:
    return x * x


@process
def total(xs: list[float]) -> float:
    return sum(xs)


@thread
def add(a: float, b: float) -> float:
    return a + b


@thread
def identity(x: Any) -> Any:
    return x


@process
def echo(x: Any) -> Any:
    return x


@process
def divide(a: float, b: float) -> float:
    return a / b


@thread
def thread_divide(a: float, b: float) -> float:
    return a / b


@process
def pid() -> int:
    return os.getpid()


@thread
def tid() -> int:
    return threading.get_ident()


@process
async def async_double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


@thread
async def async_triple(x: int) -> int:
    await asyncio.sleep(0)
    return 3 * x


@process
def exits() -> None:
    raise SystemExit(3)


@thread
def interrupts() -> None:
    raise KeyboardInterrupt


@process
def unpicklable_value() -> Any:
    return threading.Lock()


@thread
def lock_in_thread() -> Any:
    return threading.Lock()


class LockedError(Exception):
    """An exception that cannot be pickled, whatever pickling support is installed."""

    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"{a}/{b}")
        self.lock = threading.Lock()


@process
def raises_custom() -> None:
    raise LockedError(1, 2)


class PlainError(Exception):
    pass


@process
def raises_plain() -> None:
    raise PlainError("plain")


@process(processes=2, threads=4)
def greedy(x: int) -> int:
    return x


@thread(processes=1)
def thread_reserving_process(x: int) -> int:
    return x


@process(continual=True)
def kept(x: int) -> int:
    return x + 100


@process
def describe(value: Any) -> str:
    return repr(value)


@thread
def describe_in_thread(value: Any) -> str:
    return repr(value)


# --- values, nesting, naming -------------------------------------------------------------------


def test_values_flow_between_kinds(backend: str) -> None:
    with scheduler(processes=2, threads=2, backend=backend) as result:
        a = square(3)
        b = square(4)
        c = add(a, b)
        d = square(c)
    assert (a.result(), b.result(), c.result(), d.result()) == (9, 16, 25, 625)
    assert isinstance(result, SchedulerResult)
    assert list(result.raise_exception) == []
    assert set(result.elapsed_time) == {"square", "square-2", "add", "square-3"}
    assert all(isinstance(t, datetime.datetime) for t in result.execution_time.values())
    assert all(isinstance(t, float) and t >= 0 for t in result.elapsed_time.values())


def test_the_result_is_empty_inside_the_block_and_filled_after(backend: str) -> None:
    with scheduler(processes=1, threads=1, backend=backend) as result:
        square(2)
        assert [len(field) for field in result] == [0, 0, 0, 0]
    assert list(result.execution_time) == ["square"]
    assert len(result) == 4


def test_deferreds_nested_in_containers_become_their_values(backend: str) -> None:
    with scheduler(processes=2, threads=2, backend=backend):
        a, b = square(2), square(3)
        in_list = describe([a, b, 5])
        in_tuple = describe((a, (b,)))
        in_dict = describe({"a": a, "nested": [b, {"deep": a}]})
        in_set = describe({a, b})
        thread_nested = describe_in_thread({"k": [a, (b, 1)]})
        fan_in = total([a, b, square(4)])
    assert in_list.result() == "[4, 9, 5]"
    assert in_tuple.result() == "(4, (9,))"
    assert in_dict.result() == "{'a': 4, 'nested': [9, {'deep': 4}]}"
    assert in_set.result() == repr({4, 9})
    assert thread_nested.result() == "{'k': [4, (9, 1)]}"
    assert fan_in.result() == 29


def test_deferreds_passed_by_keyword_and_more_than_once(backend: str) -> None:
    with scheduler(processes=2, threads=2, backend=backend):
        four = square(2.0)
        half = divide(b=four, a=2.0)
        one = divide(four, b=four)
        two = divide(8.0, b=square(2.0))  # its input's Deferred is not kept
        thread_half = thread_divide(a=2.0, b=four)
        deps = echo([four, {"k": four}])  # nested, beside the same Deferred passed directly
    assert (half.result(), one.result(), two.result(), thread_half.result()) == (0.5, 1.0, 2.0, 0.5)
    assert deps.result() == [4.0, {"k": 4.0}]


def test_names_are_numbered_and_explicit_names_kept(backend: str) -> None:
    with scheduler(processes=1, threads=1, backend=backend) as result:
        first = square(1)
        named = square.options(name="square-2")(2)
        second = square(3)
        other = square.options(name="custom")(4)
    assert (first.name, named.name, second.name, other.name) == (
        "square",
        "square-2",
        "square-3",
        "custom",
    )
    assert set(result.execution_time) == {"square", "square-2", "square-3", "custom"}


def test_fan_out_and_fan_in(backend: str) -> None:
    with scheduler(processes=2, threads=2, backend=backend):
        root = square(2)
        branches = [add(root, i) for i in range(6)]
        squares = [square(b) for b in branches]
        joined = total(squares)
    assert joined.result() == sum((4 + i) ** 2 for i in range(6))


def test_thread_values_are_passed_by_reference_and_process_values_are_copies(backend: str) -> None:
    marker = object()
    container = [marker]
    with scheduler(processes=1, threads=1, backend=backend):
        same = identity(container)
        from_thread = identity(identity(marker))
        copied = echo([1, 2])
    assert same.result() is container
    assert from_thread.result() is marker
    assert copied.result() == [1, 2]


def test_async_functions_give_the_awaited_value(backend: str) -> None:
    with scheduler(processes=1, threads=1, backend=backend):
        doubled = async_double(4)
        tripled = async_triple(doubled)
    assert tripled.result() == 24


def test_continual_values_are_in_return_value(backend: str) -> None:
    with scheduler(processes=1, threads=1, backend=backend) as result:
        kept(1)
        square(2)
    assert result.return_value == {"kept": 101}


# --- failures and cancellations ---------------------------------------------------------------


def test_a_failure_cancels_exactly_its_downstream(backend: str) -> None:
    with scheduler(processes=2, threads=2, backend=backend) as result:
        bad = divide(1, 0)
        after_bad = add(bad, 1)
        after_after = describe(after_bad)
        good = divide(1, 4)
        after_good = add(good, 1)
    assert after_good.result() == 1.25
    with pytest.raises(ZeroDivisionError):
        bad.result()
    assert bad.state is TaskState.FAILED
    assert after_bad.state is TaskState.CANCELLED
    assert after_after.state is TaskState.CANCELLED
    error = after_bad.exception()
    assert isinstance(error, DependencyError)
    assert error.tasks == ("divide",)
    assert repr(error) == "DependencyError(\"'add' has been canceled\", ('divide',))"
    assert isinstance(after_after.exception(), DependencyError)
    assert after_after.exception().tasks == ("add",)  # type: ignore[union-attr]
    assert set(result.raise_exception) == {"divide", "add", "describe"}
    assert set(result.elapsed_time) == {"divide", "divide-2", "add-2"}
    failure = result.raise_exception["divide"]
    assert isinstance(failure, RaiseException)
    assert repr(failure) == "ZeroDivisionError('division by zero')"
    assert failure.traceback is not None
    assert "return a / b" in failure.traceback
    assert failure.traceback.rstrip().endswith("ZeroDivisionError: division by zero")
    assert result.raise_exception["add"].traceback is None


def test_thread_task_failures_keep_their_traceback(backend: str) -> None:
    with scheduler(processes=1, threads=1, backend=backend) as result:
        failed = thread_divide(1, 0)
    assert isinstance(failed.exception(), ZeroDivisionError)
    assert "return a / b" in (result.raise_exception["thread_divide"].traceback or "")


def test_system_exit_and_keyboard_interrupt_in_a_task_are_failures(backend: str) -> None:
    with scheduler(processes=1, threads=1, backend=backend) as result:
        exited = exits()
        interrupted = interrupts()
        dependent = describe_in_thread(interrupted)
    assert exited.state is TaskState.FAILED
    assert isinstance(exited.exception(), SystemExit)
    assert isinstance(interrupted.exception(), KeyboardInterrupt)
    assert dependent.state is TaskState.CANCELLED
    assert set(result.raise_exception) == {"exits", "interrupts", "describe_in_thread"}


def test_an_unpicklable_return_value_fails_the_process_task(backend: str) -> None:
    with scheduler(processes=1, threads=1, backend=backend) as result:
        bad = unpicklable_value()
        fine = lock_in_thread()
    error = bad.exception()
    assert isinstance(error, UnpicklableResultError)
    assert "lock" in str(error)
    assert "TypeError" in str(error)
    assert "unpicklable_value" in result.elapsed_time  # it ran
    assert fine.state is TaskState.SUCCEEDED


def test_exceptions_cross_back_with_their_type(backend: str) -> None:
    with scheduler(processes=1, threads=1, backend=backend):
        custom = raises_custom()
        plain = raises_plain()
    with pytest.raises(PlainError, match="plain"):
        plain.result()
    error = custom.exception()
    assert isinstance(error, UnpicklableExceptionError)
    assert error.type_name.endswith("LockedError")
    assert "1/2" in str(error)


# --- admission --------------------------------------------------------------------------------


def test_tasks_that_can_never_fit_are_cancelled_at_start(backend: str) -> None:
    with scheduler(processes=2, threads=2, backend=backend) as result:
        first = square(1)
        too_big = greedy(1)
        downstream = add(too_big, 1)
    assert first.result() == 1
    error = too_big.exception()
    assert isinstance(error, WorkerError)
    assert (error.processes, error.threads) == (1, 2)
    assert repr(error) == "WorkerError(\"'greedy' has been canceled\", (1, 2))"
    assert isinstance(downstream.exception(), DependencyError)
    assert list(result.execution_time)[:2] == ["greedy", "add"]
    assert "greedy" not in result.elapsed_time


def test_thread_tasks_need_no_process_slot(backend: str) -> None:
    with scheduler(processes=0, threads=1, backend=backend):
        in_thread = add(1, 2)
        in_process = square(2)
        reserving = thread_reserving_process(1)
    assert in_thread.result() == 3
    assert isinstance(in_process.exception(), WorkerError)
    assert in_process.exception().processes == 1  # type: ignore[union-attr]
    assert isinstance(reserving.exception(), WorkerError)


def test_priority_orders_ready_tasks(backend: str) -> None:
    order: list[int] = []

    @thread
    def note(i: int) -> None:
        order.append(i)

    with scheduler(processes=1, threads=1, backend=backend):
        note.options(name="none")(0)
        note.options(name="late", priority=5)(1)
        note.options(name="early", priority=1)(2)
    assert order == [2, 1, 0]


# --- blocks and Deferreds -------------------------------------------------------------------------


def test_a_finished_blocks_deferred_stands_for_its_value(backend: str) -> None:
    with scheduler(processes=1, threads=1, backend=backend):
        earlier = square(5)
        failed = divide(1, 0)
    with scheduler(processes=1, threads=1, backend=backend) as result:
        later = add(earlier, 1)
        in_process = square(earlier)
        cancelled = add(failed, 1)
    assert later.result() == 26
    assert in_process.result() == 625
    error = cancelled.exception()
    assert isinstance(error, DependencyError)
    assert error.tasks == ("divide",)
    assert set(result.execution_time) == {"add", "square", "add-2"}


def test_deferred_state_and_repr(backend: str) -> None:
    with scheduler(processes=1, threads=1, backend=backend):
        ok = square(2)
        assert ok.state is TaskState.PENDING
        assert not ok.done()
        assert "PENDING" in repr(ok)
        bad = divide(1, 0)
    assert ok.done()
    assert ok.exception() is None
    assert repr(ok) == "<Deferred 'square' SUCCEEDED>"
    assert repr(bad) == "<Deferred 'divide' FAILED ZeroDivisionError>"


def test_an_exception_in_the_block_runs_nothing_and_propagates(backend: str) -> None:
    class BoomError(Exception):
        pass

    with pytest.raises(BoomError), scheduler(processes=1, threads=1, backend=backend) as result:
        recorded = square(2)
        raise BoomError
    assert result == ({}, {}, {}, {})
    with pytest.raises(NotRunError, match="raised"):
        recorded.result()


# --- usage errors -----------------------------------------------------------------------------


def test_calling_a_task_outside_a_block_points_to_wrapped() -> None:
    with pytest.raises(OutsideSchedulerError, match=r"square\.__wrapped__"):
        square(2)
    assert square.__wrapped__(3) == 9


def test_result_before_the_run_is_a_clear_error() -> None:
    with scheduler(processes=1, threads=1, backend="inline"):
        early = square(2)
        with pytest.raises(NotRunError, match="after the `with scheduler"):
            early.result()
        with pytest.raises(NotRunError):
            early.exception()


def test_duplicate_explicit_names_are_rejected() -> None:
    with pytest.raises(DuplicateTaskNameError, match="'x'"), scheduler(backend="inline"):
        square.options(name="x")(1)
        square.options(name="x")(2)


def test_a_deferred_of_another_unfinished_block_is_rejected() -> None:
    with scheduler(backend="inline"):
        outer = square(1)
        with pytest.raises(ForeignDeferredError, match="'square'"), scheduler(backend="inline"):
            add(outer, 1)


@pytest.mark.parametrize(
    "options",
    [{"processes": -1}, {"threads": -2}, {"processes": 1.5}, {"threads": "2"}, {"processes": True}],
)
def test_bad_reservations_are_rejected(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        process(**options)
    assert isinstance(caught.value, (TypeError, ValueError))
    assert isinstance(caught.value, ParallelismError)
    with pytest.raises(InvalidOptionError):
        square.options(**options)


def test_bad_scheduler_options_are_rejected() -> None:
    with pytest.raises(InvalidOptionError):
        scheduler(processes=-1)
    with pytest.raises(InvalidOptionError):
        scheduler(threads=1.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError, match="backend"):
        scheduler(backend="nope")
    with pytest.raises(InvalidOptionError, match="unknown task option"):
        square.options(procs=2)


def test_non_callables_are_rejected() -> None:
    with pytest.raises(NotCallableError, match="must decorate a function"):
        process(42)  # type: ignore[call-overload]
    with pytest.raises(NotCallableError):
        thread("text")  # type: ignore[call-overload]


def test_an_unpicklable_process_argument_is_caught_when_recorded() -> None:
    lock = threading.Lock()
    with pytest.raises(UnpicklableArgumentError) as caught, scheduler(backend="inline"):
        describe(lock)
    message = str(caught.value)
    assert "'describe'" in message
    assert "#1 (of type lock)" in message
    with pytest.raises(UnpicklableArgumentError, match="'value'"), scheduler(backend="inline"):
        describe(value=[1, lock])


def test_thread_task_arguments_need_not_pickle(backend: str) -> None:
    lock = threading.Lock()
    with scheduler(processes=1, threads=1, backend=backend):
        same = identity(lock)
    assert same.result() is lock


def test_deferred_has_no_public_constructor_and_no_truth_value() -> None:
    with pytest.raises(TypeError):
        Deferred()
    with scheduler(backend="inline"):
        pending = square(1)
        with pytest.raises(TypeError, match="truth value"):
            bool(pending)


def test_tasks_pickle_by_reference() -> None:
    assert pickle.loads(pickle.dumps(square)) is square
    assert pickle.loads(pickle.dumps(add)) is add


# --- lambdas, closures, local functions -------------------------------------------------------


def test_lambdas_and_closures_run_as_process_tasks(backend: str) -> None:
    offset = 7

    def shifted(x: int) -> int:
        return x + offset

    shift = process(shifted)
    twice = process(lambda x: 2 * x)
    with scheduler(processes=2, threads=1, backend=backend):
        a = shift(1)
        b = twice(a)
    assert (a.result(), b.result()) == (8, 16)


def test_process_tasks_run_in_other_processes_and_thread_tasks_in_other_threads(backend: str) -> None:
    if backend == "inline":
        pytest.skip("inline runs every task in the caller's thread (the test after this one)")
    with scheduler(processes=2, threads=2, backend=backend) as result:
        worker_pid = pid()
        worker_tid = tid()
    assert worker_pid.result() != os.getpid()
    assert worker_tid.result() != threading.get_ident()
    assert set(result.elapsed_time) == {"pid", "tid"}


def test_inline_runs_everything_in_the_callers_thread() -> None:
    with scheduler(processes=2, threads=2, backend="inline"):
        worker_pid = pid()
        worker_tid = tid()
    assert worker_pid.result() == os.getpid()
    assert worker_tid.result() == threading.get_ident()


def test_at_most_threads_thread_tasks_run_at_once(backend: str) -> None:
    if backend == "inline":
        pytest.skip("inline runs one task at a time: no two tasks can meet at the barrier")
    lock = threading.Lock()
    active = [0]
    peak = [0]
    meet = threading.Barrier(2, timeout=30)

    @thread
    def busy(i: int) -> int:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        meet.wait()  # two tasks must overlap to pass: proves 2 run at once
        with lock:
            active[0] -= 1
        return i

    with scheduler(processes=1, threads=2, backend=backend):
        done = [busy(i) for i in range(6)]
    assert [d.result() for d in done] == list(range(6))
    assert peak[0] == 2


def test_tasks_pickled_by_value_stay_tasks() -> None:
    import cloudpickle

    local = process(lambda x: x + 1)
    copy = cloudpickle.loads(cloudpickle.dumps(local))
    assert type(copy) is type(local)
    assert copy.kind is local.kind
    assert copy.__wrapped__(1) == 2


class Model:
    def __init__(self, scale: int) -> None:
        self.scale = scale

    @process
    def fit(self, x: int) -> int:
        return self.scale * x

    @process
    @staticmethod
    def load(x: int) -> int:
        return x + 1


def test_methods_bind_self_and_staticmethods_do_not(backend: str) -> None:
    model = Model(3)
    with scheduler(processes=1, threads=1, backend=backend):
        fitted = model.fit(2)
        # typed for calls on the class only: the type of an instance attribute cannot tell
        from_instance = model.load(1)  # type: ignore[call-arg]
        from_class = Model.load(fitted)
    assert (fitted.result(), from_instance.result(), from_class.result()) == (6, 2, 7)
