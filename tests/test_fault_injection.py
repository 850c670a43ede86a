"""Random DAGs while random workers die: every task gets exactly one outcome, and no hang."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallelism import Deferred, DependencyError, TaskState, WorkerCrashedError, scheduler
from tests.fault_tasks import chaos_process, chaos_thread
from tests.test_property import dependencies

FATES = ["ok", "ok", "ok", "raise", "crash", "kill"]


Node = tuple[bool, tuple[int, ...], str, bool]
"""(is a process task, dependencies, fate, whether the caller keeps its Deferred)."""


@st.composite
def chaotic_dags(draw: st.DrawFn) -> list[Node]:
    count = draw(st.integers(min_value=1, max_value=14))
    nodes = []
    for i in range(count):
        deps = tuple(draw(dependencies(i)))
        is_process = draw(st.booleans())
        fate = draw(st.sampled_from(FATES if is_process else ["ok", "ok", "raise"]))
        nodes.append((is_process, deps, fate, draw(st.booleans())))
    return nodes


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chaotic_dags())
def test_random_crashes_leave_exactly_one_outcome_per_task(nodes: list[Node]) -> None:
    with scheduler(processes=2, threads=2) as result:
        made: list[Deferred[int]] = []
        for i, (is_process, deps, fate, _) in enumerate(nodes):
            task = chaos_process if is_process else chaos_thread
            made.append(task.options(name=f"n{i}")(i, [made[d] for d in deps], fate))
        # Values whose Deferred is dropped may stay in their worker (a chain): crash them too.
        kept = [deferred if node[3] else None for deferred, node in zip(made, nodes, strict=True)]
        del made
    values: dict[int, int] = {}
    broken: set[int] = set()
    for i, (_, deps, fate, _) in enumerate(nodes):
        deferred = kept[i]
        if any(d in broken for d in deps):
            broken.add(i)
            assert deferred is None or deferred.state is TaskState.CANCELLED
            assert isinstance(result.raise_exception[f"n{i}"].exception, DependencyError)
        elif fate != "ok":
            broken.add(i)
            assert deferred is None or deferred.state is TaskState.FAILED
            expected = ValueError if fate == "raise" else WorkerCrashedError
            error = result.raise_exception[f"n{i}"].exception
            assert isinstance(error, expected)
        else:
            values[i] = i + sum(values[d] for d in deps)
            assert deferred is None or deferred.result() == values[i]
    assert len(result.execution_time) == len(nodes)
    assert set(result.raise_exception) == {f"n{i}" for i in broken}
