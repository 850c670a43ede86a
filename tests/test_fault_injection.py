"""Random DAGs while random workers die: every task gets exactly one outcome, and no hang."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallelism import Deferred, DependencyError, TaskState, WorkerCrashedError, scheduler
from tests.fault_tasks import chaos_process, chaos_thread

FATES = ["ok", "ok", "ok", "raise", "crash", "kill"]


@st.composite
def chaotic_dags(draw: st.DrawFn) -> list[tuple[bool, tuple[int, ...], str]]:
    count = draw(st.integers(min_value=1, max_value=14))
    nodes = []
    for i in range(count):
        deps = tuple(draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True))) if i else ()
        is_process = draw(st.booleans())
        fate = draw(st.sampled_from(FATES if is_process else ["ok", "ok", "raise"]))
        nodes.append((is_process, deps, fate))
    return nodes


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chaotic_dags())
def test_random_crashes_leave_exactly_one_outcome_per_task(
    nodes: list[tuple[bool, tuple[int, ...], str]],
) -> None:
    with scheduler(processes=2, threads=2) as result:
        made: list[Deferred[int]] = []
        for i, (is_process, deps, fate) in enumerate(nodes):
            task = chaos_process if is_process else chaos_thread
            made.append(task.options(name=f"n{i}")(i, [made[d] for d in deps], fate))
    values: dict[int, int] = {}
    broken: set[int] = set()
    for i, (_, deps, fate) in enumerate(nodes):
        deferred = made[i]
        if any(d in broken for d in deps):
            broken.add(i)
            assert deferred.state is TaskState.CANCELLED
            assert isinstance(deferred.exception(), DependencyError)
        elif fate != "ok":
            broken.add(i)
            assert deferred.state is TaskState.FAILED
            expected = ValueError if fate == "raise" else WorkerCrashedError
            assert isinstance(deferred.exception(), expected)
        else:
            values[i] = i + sum(values[d] for d in deps)
            assert deferred.result() == values[i]
    assert len(result.execution_time) == len(nodes)
    assert set(result.raise_exception) == {f"n{i}" for i in broken}
