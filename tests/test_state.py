"""Pure transition tests of ``_state``: plain data in, plain data out; no process, no thread."""

from __future__ import annotations

import pytest

from parallelism import InvalidTransitionError, TaskState
from parallelism._state import (
    RunState,
    abandon_running,
    admit,
    cancel_pending,
    cancel_unfittable,
    finish,
    new_run_state,
    retry,
)

P1 = (1, 0)  # a plain process task
T1 = (0, 1)  # a plain thread task


def make(
    deps: list[list[int]],
    needs: list[tuple[int, int]] | None = None,
    priorities: list[float | None] | None = None,
    capacity: tuple[int, int] = (2, 2),
) -> RunState:
    count = len(deps)
    return new_run_state(deps, needs or [P1] * count, priorities or [None] * count, capacity)


def test_tasks_without_dependencies_start_ready_the_rest_pending() -> None:
    state = make([[], [0], []])
    assert state.states == [TaskState.READY, TaskState.PENDING, TaskState.READY]
    assert state.unfinished == 3
    assert not state.done


def test_admit_respects_capacity_and_recording_order() -> None:
    state = make([[], [], [], []], capacity=(2, 2))
    assert admit(state) == [0, 1]
    assert state.free_processes == 0
    assert admit(state) == []
    finish(state, 0, succeeded=True)
    assert admit(state) == [2]


def test_finish_makes_a_dependent_ready_only_when_all_deps_succeeded() -> None:
    state = make([[], [], [0, 1]])
    admit(state)
    ready, cancelled = finish(state, 0, succeeded=True)
    assert (ready, cancelled) == ([], [])
    assert state.states == [TaskState.SUCCEEDED, TaskState.RUNNING, TaskState.PENDING]
    ready, _ = finish(state, 1, succeeded=True)
    assert ready == [2]
    assert state.states == [TaskState.SUCCEEDED, TaskState.SUCCEEDED, TaskState.READY]


def test_failure_cancels_exactly_the_downstream() -> None:
    # 0 -> 1 -> 3, 2 independent, 4 depends on 2 only
    state = make([[], [0], [], [1], [2]], capacity=(4, 0))
    admit(state)
    _, cancelled = finish(state, 0, succeeded=False)
    assert [c.key for c in cancelled] == [1, 3]
    assert [c.causes for c in cancelled] == [(0,), (1,)]
    assert all(not c.at_start for c in cancelled)
    assert state.states[:4] == [
        TaskState.FAILED,
        TaskState.CANCELLED,
        TaskState.RUNNING,
        TaskState.CANCELLED,
    ]
    finish(state, 2, succeeded=True)
    assert admit(state) == [4]


def test_a_join_names_every_failed_or_cancelled_direct_dependency_so_far() -> None:
    # 2 depends on 0 and 1; both fail, 1 first: 2 is cancelled at the first failure naming only 1.
    state = make([[], [], [0, 1]])
    admit(state)
    _, cancelled = finish(state, 1, succeeded=False)
    assert [(c.key, c.causes) for c in cancelled] == [(2, (1,))]
    _, cancelled = finish(state, 0, succeeded=False)
    assert cancelled == []
    assert state.done


def test_join_names_all_failed_deps_in_recording_order() -> None:
    # 3 depends on 0, 1, 2 (in that order). 0 and 2 fail before 3's other input (1) finishes...
    # 3 is cancelled at the first failure: only what has failed by then is named.
    state = make([[], [], [], [2, 0, 1]], capacity=(3, 0))
    admit(state)
    finish(state, 0, succeeded=False)
    assert state.states[3] is TaskState.CANCELLED


def test_unfittable_tasks_and_their_downstream_are_cancelled_at_start() -> None:
    # the seed's example: p3 reserved processes=2, threads=4 -> needs (3, 4) on (2, 2)
    state = make([[], [], [0], [1]], needs=[P1, (3, 4), T1, T1], capacity=(2, 2))
    cancelled = cancel_unfittable(state)
    assert len(cancelled) == 1
    key, missing, downstream = cancelled[0]
    assert (key, missing) == (1, (1, 2))
    assert [(c.key, c.causes, c.at_start) for c in downstream] == [(3, (1,), True)]
    assert state.states[1] is TaskState.CANCELLED
    assert admit(state) == [0]


def test_thread_task_needs_no_process_slot() -> None:
    state = make([[], []], needs=[P1, T1], capacity=(1, 1))
    assert admit(state) == [0, 1]
    state = make([[]], needs=[T1], capacity=(0, 1))
    assert cancel_unfittable(state) == []
    assert admit(state) == [0]


def test_reservations_count_against_both_kinds() -> None:
    # a process task with threads=1 needs (1, 1): it cannot start while a thread task holds (0, 1)
    state = make([[], []], needs=[T1, (1, 1)], capacity=(2, 1))
    assert admit(state) == [0]
    finish(state, 0, succeeded=True)
    assert admit(state) == [1]


def test_priority_orders_ready_tasks_and_none_comes_last() -> None:
    state = make([[], [], [], []], priorities=[None, 5, 1, None], capacity=(1, 0))
    order = []
    while not state.done:
        (started,) = admit(state)
        order.append(started)
        finish(state, started, succeeded=True)
    assert order == [2, 1, 0, 3]


def test_a_later_task_that_fits_starts_while_a_larger_one_waits() -> None:
    # 0 runs (1 slot); 1 needs 2 slots and must wait; 2 needs 1 and fits now.
    state = make([[], [], []], needs=[P1, (2, 0), P1], capacity=(2, 0))
    assert admit(state) == [0, 2]
    finish(state, 0, succeeded=True)
    assert admit(state) == []
    finish(state, 2, succeeded=True)
    assert admit(state) == [1]


def test_illegal_moves_raise() -> None:
    state = make([[], [0]])
    with pytest.raises(InvalidTransitionError):
        finish(state, 1, succeeded=True)  # PENDING cannot succeed
    admit(state)
    finish(state, 0, succeeded=True)
    with pytest.raises(InvalidTransitionError):
        finish(state, 0, succeeded=True)  # twice


def test_dependencies_must_point_backwards() -> None:
    with pytest.raises(ValueError, match="not recorded before"):
        make([[1], []])


def test_retry_puts_a_running_task_back_and_frees_its_slots() -> None:
    state = make([[]], capacity=(1, 0))
    assert admit(state) == [0]
    retry(state, 0)
    assert state.states[0] is TaskState.READY
    assert state.free_processes == 1
    assert admit(state) == [0]


def test_interrupt_cancels_running_and_pending() -> None:
    state = make([[], [0], []], capacity=(1, 0))
    admit(state)
    stopped = abandon_running(state)
    pending = cancel_pending(state)
    assert stopped == [0]
    assert pending == [1, 2]
    assert state.done
    assert all(s is TaskState.CANCELLED for s in state.states)


def test_tasks_handed_ahead_hold_no_slot_until_they_start() -> None:
    from parallelism._state import hand_ahead, requeue, start_ahead

    state = make([[], [], [], []], capacity=(2, 0))
    assert admit(state) == [0, 1]
    assert hand_ahead(state, (1, 0), 1) == [2]
    assert state.states[2] is TaskState.RUNNING
    assert (state.free_processes, state.ahead) == (0, {2})
    finish(state, 0, succeeded=True)
    start_ahead(state, 2)  # worker of 0 moves on to 2: it takes 0's slot
    assert (state.free_processes, state.ahead) == (0, set())
    assert hand_ahead(state, (1, 0), 1) == [3]
    requeue(state, 3)  # its worker died before it started
    assert state.states[3] is TaskState.READY
    assert state.free_processes == 0


def test_nothing_is_handed_ahead_while_a_larger_task_waits() -> None:
    from parallelism._state import hand_ahead

    state = make([[], [], []], needs=[P1, (2, 0), P1], capacity=(2, 0))
    assert admit(state) == [0, 2]
    assert hand_ahead(state, (1, 0), 2) == []  # task 1 needs both slots: queueing more would delay it


def test_a_task_ending_before_it_started_ahead_frees_nothing() -> None:
    from parallelism._state import hand_ahead

    state = make([[], []], capacity=(1, 0))
    assert admit(state) == [0]
    assert hand_ahead(state, (1, 0), 1) == [1]
    finish(state, 1, succeeded=False)  # e.g. its input could not be sent
    assert state.free_processes == 0
    finish(state, 0, succeeded=True)
    assert state.free_processes == 1
    assert state.done


def test_a_chained_task_runs_after_its_input_in_that_inputs_slot() -> None:
    from parallelism._state import can_chain, chain, start_ahead

    state = make([[], [0], [1]], capacity=(1, 0))
    assert admit(state) == [0]
    assert can_chain(state, 0, 1)
    chain(state, 1)  # PENDING -> RUNNING, holding no slot
    assert state.states[1] is TaskState.RUNNING and state.free_processes == 0
    assert can_chain(state, 1, 2)
    chain(state, 2)
    finish(state, 0, succeeded=True)
    assert state.states[2] is TaskState.RUNNING  # not made READY: it is in a worker's hands
    start_ahead(state, 1)
    assert (state.free_processes, state.ahead, state.chained) == (0, {2}, {2})
    finish(state, 1, succeeded=True)
    start_ahead(state, 2)
    finish(state, 2, succeeded=True)
    assert state.done and state.free_processes == 1


def test_a_failed_input_cancels_what_is_chained_behind_it() -> None:
    from parallelism._state import chain

    state = make([[], [0], [1], [2]], capacity=(1, 0))
    admit(state)
    chain(state, 1)
    chain(state, 2)
    _, cancelled = finish(state, 0, succeeded=False)
    assert [(c.key, c.causes) for c in cancelled] == [(1, (0,)), (2, (1,)), (3, (2,))]
    assert state.ahead == set() and state.chained == set()
    assert state.done and state.free_processes == 1


def test_a_chained_task_whose_worker_died_before_its_input_ran_waits_again() -> None:
    from parallelism._state import chain, hand_ahead, requeue, unchain

    state = make([[], [], [1]], capacity=(1, 0))
    admit(state)
    assert hand_ahead(state, P1, 1) == [1]
    chain(state, 2)
    finish(state, 0, succeeded=False)  # the worker died running 0: 1 and 2 never started
    requeue(state, 1)
    unchain(state, 2)
    assert (state.states[1], state.states[2]) == (TaskState.READY, TaskState.PENDING)
    assert admit(state) == [1]
    finish(state, 1, succeeded=True)
    assert admit(state) == [2]


def test_a_dependent_is_not_chained_when_the_slot_is_owed_to_another() -> None:
    from parallelism._state import can_chain

    state = make([[], [], [0, 1], [0]], capacity=(1, 0))
    admit(state)
    assert not can_chain(state, 0, 2)  # it also waits for task 1
    assert not can_chain(state, 0, 3)  # task 1 is ready and recorded before it
    waiting_larger = make([[], [0], []], needs=[P1, P1, (2, 0)], capacity=(2, 0))
    assert admit(waiting_larger) == [0]
    assert not can_chain(waiting_larger, 0, 1)  # task 2 waits for both slots
    prioritised = make([[], [0], []], priorities=[None, 0, None], capacity=(1, 0))
    admit(prioritised)
    assert can_chain(prioritised, 0, 1)  # its priority beats the ready task 2
