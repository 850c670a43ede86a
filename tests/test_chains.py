"""Chains: a process task whose only consumer is one process task hands its value over in place.

The loop chains such a dependent behind its input in the worker that runs the input, and the
value never travels (``_scheduler._Run._chain``).  These tests check that the semantics are those
of any other run -- values, failures, cancellations, crashes, timeouts, copies, events -- and, with
a spy on the loop, that the chains they build really are chained on the local backend.
"""

from __future__ import annotations

import logging
import os
import select
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallelism import (
    Deferred,
    DependencyError,
    TaskState,
    TaskTimeoutError,
    UnpicklableArgumentError,
    UnpicklableResultError,
    WorkerCrashedError,
    events,
    scheduler,
)
from parallelism._scheduler import _Run
from parallelism._serialize import _refcount_of_fresh_local, dumps, loads, sole_owner
from tests.chain_tasks import (
    chatty_step,
    double_in_place,
    fresh_array,
    hang,
    holds,
    lock_in_thread,
    mutate_and_report,
    pair,
    shared_list,
    step,
    step_after_byte,
    total,
    where,
)


class ChainSpy:
    """Records which tasks the loop chained, and which completions came without a value."""

    def __init__(self) -> None:
        self.chained: list[str] = []
        self.kept: list[str] = []


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChainSpy]:
    found = ChainSpy()
    chain, complete = _Run._chain, _Run._complete

    def spied_chain(run: _Run, key: int, follower: int | None) -> None:
        before = set(run._state.chained)
        chain(run, key, follower)
        found.chained += [run._specs[k].name for k in sorted(run._state.chained - before)]

    def spied_complete(run: _Run, completion: Any) -> None:
        if completion.ok and completion.value is None:
            found.kept.append(run._specs[completion.key].name)
        complete(run, completion)

    monkeypatch.setattr(_Run, "_chain", spied_chain)
    monkeypatch.setattr(_Run, "_complete", spied_complete)
    yield found


def _links(count: int, fates: dict[int, str] | None = None, keep: tuple[int, ...] = ()) -> list[Any]:
    """Record ``step`` links ``s1`` .. ``s<count>``; return the Deferreds of ``keep`` (and the last)."""
    fates = fates or {}
    kept: list[Any] = []
    value: Any = 0
    for i in range(1, count + 1):
        value = step.options(name=f"s{i}")(value, fates.get(i, "ok"))
        if i in keep:
            kept.append(value)
    return [*kept, value]


def test_a_chain_runs_in_place_and_its_values_stay_in_the_worker(backend: str, spy: ChainSpy) -> None:
    with scheduler(processes=2, threads=2, backend=backend) as result:
        (last,) = _links(30)
    assert last.result() == 30
    assert len(result.elapsed_time) == 30 and result.raise_exception == {}
    if backend == "local":
        assert spy.chained, "no link was chained"
        # Every chained link's input stayed in the worker: it never came back to the caller.
        assert set(spy.kept) == {f"s{int(name[1:]) - 1}" for name in spy.chained}
        assert "s30" not in spy.kept  # the caller holds its Deferred: it came back
    else:
        assert spy.chained == []


def test_many_short_chains_handed_ahead_at_once(backend: str, spy: ChainSpy) -> None:
    # Quick first tasks give both workers a deep queue; then 40 two-link chains are ready at
    # once. Each head handed ahead brings its tail into the same queue, so the room counted for
    # the heads runs out before they are all placed: they go to the shortest queue regardless.
    with scheduler(processes=2, threads=2, backend=backend):
        warm = [step.options(name=f"warm{i}")(i) for i in range(4)]
        tails = [step.options(name=f"tail{i}")(step.options(name=f"head{i}")(i)) for i in range(40)]
    assert [d.result() for d in warm] == [1, 2, 3, 4]
    assert [d.result() for d in tails] == [i + 2 for i in range(40)]
    if backend == "local":
        assert spy.chained, "no tail was chained"


def test_chained_links_run_in_the_worker_that_holds_their_input(spy: ChainSpy) -> None:
    with scheduler(processes=2, threads=2):
        value: Any = where.options(name="w1")(None)
        for i in range(2, 6):
            value = where.options(name=f"w{i}")(value)
    pids = []
    nested = value.result()
    while nested is not None:
        pid, nested = nested
        pids.append(pid)
    assert spy.chained == ["w2", "w3", "w4", "w5"]
    assert len(set(pids)) == 1, pids


def test_a_kept_deferred_in_a_chain_gets_its_value(backend: str, spy: ChainSpy) -> None:
    with scheduler(processes=2, threads=2, backend=backend):
        third, last = _links(6, keep=(3,))
    assert (third.result(), last.result()) == (3, 6)
    assert "s3" not in spy.kept


def test_a_failed_link_cancels_the_rest_of_its_chain_and_nothing_else(backend: str, spy: ChainSpy) -> None:
    with scheduler(processes=2, threads=2, backend=backend) as result:
        (last,) = _links(8, fates={4: "raise"})
        other = step.options(name="other")(100)
    assert other.result() == 101
    assert isinstance(result.raise_exception["s4"].exception, ValueError)
    for i in range(5, 9):
        error = result.raise_exception[f"s{i}"].exception
        assert isinstance(error, DependencyError) and error.tasks == (f"s{i - 1}",)
        assert f"s{i}" not in result.elapsed_time  # cancelled links never ran
    assert last.state is TaskState.CANCELLED
    assert set(result.elapsed_time) == {"s1", "s2", "s3", "s4", "other"}
    if backend == "local":
        assert "s5" in spy.chained  # the cancelled link had been handed to the worker


def test_an_unpicklable_value_fails_its_link_as_if_it_had_to_travel(backend: str) -> None:
    with scheduler(processes=2, threads=2, backend=backend) as result:
        _links(4, fates={2: "unpicklable"})
    assert isinstance(result.raise_exception["s2"].exception, UnpicklableResultError)
    assert "s2" in result.elapsed_time  # it ran; its value could not be pickled
    assert {"s3", "s4"} <= set(result.raise_exception)


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_a_crash_in_a_chain_fails_that_link_and_cancels_the_rest(method: str, spy: ChainSpy) -> None:
    with scheduler(processes=2, threads=2, start_method=method) as result:
        (last,) = _links(7, fates={3: "crash"})
        other = step.options(name="other")(100)
    assert other.result() == 101
    assert isinstance(result.raise_exception["s3"].exception, WorkerCrashedError)
    assert isinstance(last.exception(), DependencyError)
    assert set(result.elapsed_time) == {"s1", "s2", "s3", "other"}  # s3 ran, and crashed
    assert {"s3", "s4"} <= set(spy.chained)


def test_a_link_past_its_timeout_is_stopped_and_the_rest_cancelled(spy: ChainSpy) -> None:
    with scheduler(processes=2, threads=2) as result:
        first = step.options(name="s1")(0)
        stuck = hang.options(name="stuck", timeout=0.5)(first)
        del first
        after = step.options(name="after")(stuck)
        del stuck
    assert isinstance(result.raise_exception["stuck"].exception, TaskTimeoutError)
    assert isinstance(after.exception(), DependencyError)
    assert spy.chained == ["stuck", "after"]


def test_a_chained_consumer_gets_a_copy_not_the_producers_object(spy: ChainSpy) -> None:
    # shared_list returns a list its worker keeps referring to; the consumer writes into its
    # input: the worker's own list must not change, exactly as if the value had travelled.
    with scheduler(processes=1, threads=1):
        seen = mutate_and_report(shared_list())
    assert seen.result() == [0, 0, 0]
    assert spy.chained == ["mutate_and_report"]


def test_a_consumer_may_write_into_an_array_it_took_over(spy: ChainSpy) -> None:
    with scheduler(processes=2, threads=2):
        sums = [total(double_in_place(fresh_array(1_000, i))) for i in range(4)]
    assert [s.result() for s in sums] == [2_000 * i for i in range(4)]
    assert len(spy.chained) == 8


def test_a_chained_link_starts_after_its_input_finished_in_the_events(spy: ChainSpy) -> None:
    seen: list[tuple[str, str]] = []

    def record(event: events.Event) -> None:
        if isinstance(event, (events.TaskStarted, events.TaskFinished)):
            seen.append((type(event).__name__, event.name))

    with scheduler(processes=2, threads=2, on_event=record):
        _links(12)
    assert spy.chained
    for i in range(2, 13):
        assert seen.index(("TaskStarted", f"s{i}")) > seen.index(("TaskFinished", f"s{i - 1}"))


def test_only_a_sole_owner_may_hand_its_buffer_over() -> None:
    numpy = pytest.importorskip("numpy")
    baseline = _refcount_of_fresh_local()

    def verdict(value: Any, extra_refs: int = 0) -> bool:
        return sole_owner(value, baseline + extra_refs, dumps(value))

    fresh = numpy.zeros(100_000)
    assert verdict(fresh)
    assert not verdict(fresh, extra_refs=1)  # somebody else refers to it
    assert not verdict(fresh[10:])  # a view: its memory belongs to another array
    assert not verdict([fresh])  # the buffer belongs to an object inside the value
    assert not verdict(b"x" * 100_000)  # no out-of-band buffer at all
    frames = dumps(fresh)
    taken = loads(frames, copy=False)
    taken[0] = 5.0
    assert fresh[0] == 5.0  # taken over: the same memory, which is why only a sole owner may
    copied = loads(frames)
    copied[1] = 7.0
    assert fresh[1] == 0.0


def test_the_refcount_baseline_matches_this_interpreter() -> None:
    value = object()
    assert sys.getrefcount(value) == _refcount_of_fresh_local()


def test_values_wanted_by_several_consumers_are_not_chained(spy: ChainSpy) -> None:
    with scheduler(processes=2, threads=2):
        shared: Deferred[int] = step(0)
        both = [step(shared), step(shared)]
        del shared
    assert [d.result() for d in both] == [2, 2]
    assert spy.chained == []


@st.composite
def chains(draw: st.DrawFn) -> list[list[tuple[str, bool]]]:
    """A few chains of links, each link a fate and whether the caller keeps its Deferred."""
    link = st.tuples(st.sampled_from(["ok"] * 6 + ["raise", "crash", "unpicklable"]), st.booleans())
    return draw(st.lists(st.lists(link, min_size=1, max_size=12), min_size=1, max_size=3))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chains())
def test_random_chains_with_failures_end_as_their_sequential_reference(
    plan: list[list[tuple[str, bool]]],
) -> None:
    with scheduler(processes=2, threads=2) as result:
        kept: dict[str, Deferred[int]] = {}
        for c, links in enumerate(plan):
            value: Any = 0
            for i, (fate, keep) in enumerate(links):
                value = step.options(name=f"c{c}s{i}")(value, fate)
                if keep:
                    kept[f"c{c}s{i}"] = value
        del value
    errors = {"raise": ValueError, "crash": WorkerCrashedError, "unpicklable": UnpicklableResultError}
    for c, links in enumerate(plan):
        broken = False
        for i, (fate, _) in enumerate(links):
            name = f"c{c}s{i}"
            outcome = result.raise_exception.get(name)
            if broken:
                assert outcome is not None and isinstance(outcome.exception, DependencyError)
            elif fate != "ok":
                assert outcome is not None and isinstance(outcome.exception, errors[fate])
                broken = True
            else:
                assert outcome is None
                if name in kept:
                    assert kept[name].result() == i + 1
    assert len(result.execution_time) == sum(len(links) for links in plan)


def test_a_chained_links_records_come_after_its_inputs_line(
    spy: ChainSpy, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    # Arranged so that the loop reads the input's completion and the chained link's record in
    # the same round: the input waits for a byte that the loop itself writes while it reports
    # another task, and the loop then waits there until the chained link has logged.
    caplog.set_level(logging.INFO, logger="parallelism")
    go, logged = tmp_path / "go", tmp_path / "logged"
    os.mkfifo(go)
    os.mkfifo(logged)
    go_fd = os.open(go, os.O_RDWR)
    logged_fd = os.open(logged, os.O_RDWR | os.O_NONBLOCK)

    def hold_the_loop(event: events.Event) -> None:
        if isinstance(event, events.TaskFinished) and event.name == "other":
            os.write(go_fd, b"x")
            assert select.select([logged_fd], [], [], 60)[0], "the chained link never logged"

    try:
        with scheduler(processes=2, threads=1, on_event=hold_the_loop):
            step.options(name="other")(0)
            first = step_after_byte.options(name="first")(0, str(go))
            chatty_step.options(name="chained")(first, str(logged))
            del first
    finally:
        os.close(go_fd)
        os.close(logged_fd)
    assert spy.chained == ["chained"]
    lines = [record.getMessage() for record in caplog.records]
    line_of_input = next(n for n, line in enumerate(lines) if line.startswith("'first' ran"))
    assert lines.index("link after 1") > line_of_input, lines


def test_a_chained_link_whose_other_input_cannot_be_pickled_fails_alone(spy: ChainSpy) -> None:
    with scheduler(processes=1, threads=1):
        lock = lock_in_thread()  # a thread value: it must be pickled to reach a process task
    with scheduler(processes=2, threads=2) as result:
        holds(lock)  # records the earlier block's value first, so it is settled before s1 starts
        first = step.options(name="s1")(0)
        second = pair.options(name="s2")(first, lock)
        del first
        last = step.options(name="s3")(second)
        del second
    assert isinstance(result.raise_exception["s2"].exception, UnpicklableArgumentError)
    assert isinstance(last.exception(), DependencyError)
    assert spy.chained[-2:] == ["s2", "s3"]
