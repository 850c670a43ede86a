"""Random DAGs of process and thread tasks, some raising, against a sequential reference."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parallelism import Deferred, DependencyError, TaskState, process, scheduler, thread


class NodeError(Exception):
    pass


def _node(i: int, inputs: list[int], fail: bool) -> int:
    if fail:
        raise NodeError(f"node {i}")
    return i + sum(inputs)


p_node = process(_node)
t_node = thread(_node)


@dataclass(frozen=True)
class Node:
    is_process: bool
    deps: tuple[int, ...]
    fail: bool
    kept: bool = True
    """Whether the caller keeps its Deferred: a value nobody keeps may stay in its worker."""


def dependencies(i: int) -> st.SearchStrategy[list[int]]:
    """Up to 3 earlier nodes; often just the one before, so that chains are common."""
    if i == 0:
        return st.just([])
    return st.one_of(st.just([i - 1]), st.lists(st.integers(0, i - 1), max_size=3, unique=True))


@st.composite
def dags(draw: st.DrawFn) -> list[Node]:
    count = draw(st.integers(min_value=1, max_value=12))
    nodes = []
    for i in range(count):
        deps = draw(dependencies(i))
        nodes.append(
            Node(draw(st.booleans()), tuple(deps), draw(st.integers(0, 5)) == 0, draw(st.booleans()))
        )
    return nodes


def reference(nodes: list[Node]) -> tuple[dict[int, int], set[int], set[int]]:
    """Sequential semantics: values, failed set, cancelled set."""
    values: dict[int, int] = {}
    failed: set[int] = set()
    cancelled: set[int] = set()
    for i, node in enumerate(nodes):
        if any(d in failed or d in cancelled for d in node.deps):
            cancelled.add(i)
        elif node.fail:
            failed.add(i)
        else:
            values[i] = i + sum(values[d] for d in node.deps)
    return values, failed, cancelled


def run(nodes: list[Node], backend: str) -> None:
    with scheduler(processes=2, threads=2, backend=backend) as result:
        made: list[Deferred[int]] = []
        for i, node in enumerate(nodes):
            task = p_node if node.is_process else t_node
            made.append(task.options(name=f"n{i}")(i, [made[d] for d in node.deps], node.fail))
        # Drop the Deferreds the caller does not keep: their values need not come back.
        kept = [deferred if node.kept else None for deferred, node in zip(made, nodes, strict=True)]
        del made
    values, failed, cancelled = reference(nodes)
    for i, deferred in enumerate(kept):
        if deferred is None:
            continue  # its outcome is checked through the result's dicts below
        if i in values:
            assert deferred.state is TaskState.SUCCEEDED
            assert deferred.result() == values[i]
        elif i in failed:
            assert deferred.state is TaskState.FAILED
            assert isinstance(deferred.exception(), NodeError)
        else:
            assert deferred.state is TaskState.CANCELLED
            error = deferred.exception()
            assert isinstance(error, DependencyError)
            named = {int(name[1:]) for name in error.tasks}
            assert named and named <= (failed | cancelled) & set(nodes[i].deps)
    names = {f"n{i}" for i in range(len(nodes))}
    assert set(result.execution_time) == names
    assert set(result.elapsed_time) == {f"n{i}" for i in set(values) | failed}
    assert set(result.raise_exception) == {f"n{i}" for i in failed | cancelled}
    assert result.return_value == {}
    times = list(result.execution_time.values())
    assert times == sorted(times)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dags())
def test_random_dags_inline(nodes: list[Node]) -> None:
    run(nodes, "inline")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dags())
def test_random_dags_local(nodes: list[Node]) -> None:
    run(nodes, "local")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dags())
def test_random_dags_dask(dask_backend: str, nodes: list[Node]) -> None:
    run(nodes, dask_backend)
