"""The exception hierarchy: one root, the nearest builtins, and a pickle round trip for each."""

from __future__ import annotations

import inspect
import pickle

import pytest

import parallelism
from parallelism import (
    DependencyError,
    ParallelismError,
    RemoteTraceback,
    UnpicklableExceptionError,
    WorkerError,
)

ERRORS = [
    obj
    for name in parallelism.__all__
    if inspect.isclass(obj := getattr(parallelism, name)) and issubclass(obj, BaseException)
]


def _example(kind: type[BaseException]) -> BaseException:
    if kind is WorkerError:
        return WorkerError("'p3' has been canceled", (1, 2))
    if kind is DependencyError:
        return DependencyError("'t3' has been canceled", ("p3",))
    if kind is UnpicklableExceptionError:
        return UnpicklableExceptionError("mod.Custom", "message")
    return kind("message")


@pytest.mark.parametrize("kind", ERRORS, ids=lambda kind: kind.__name__)
def test_every_exception_pickles_round_trip(kind: type[BaseException]) -> None:
    error = _example(kind)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is kind
    assert copy.args == error.args
    assert str(copy) == str(error)


@pytest.mark.parametrize("kind", ERRORS, ids=lambda kind: kind.__name__)
def test_library_errors_share_one_root(kind: type[BaseException]) -> None:
    assert issubclass(kind, ParallelismError) or kind is RemoteTraceback
    assert kind.__module__ == "parallelism"


def test_seed_reprs_and_attributes() -> None:
    worker = WorkerError("'p3' has been canceled", (1, 2))
    assert repr(worker) == "WorkerError(\"'p3' has been canceled\", (1, 2))"
    assert (worker.processes, worker.threads) == (1, 2)
    dependency = DependencyError("'t3' has been canceled", ("p3",))
    assert repr(dependency) == "DependencyError(\"'t3' has been canceled\", ('p3',))"
    assert dependency.tasks == ("p3",)


def test_usage_errors_are_also_the_nearest_builtin() -> None:
    assert issubclass(parallelism.OutsideSchedulerError, RuntimeError)
    assert issubclass(parallelism.NotRunError, RuntimeError)
    assert issubclass(parallelism.DuplicateTaskNameError, ValueError)
    assert issubclass(parallelism.ForeignDeferredError, ValueError)
    assert issubclass(parallelism.InvalidOptionError, ValueError)
    assert issubclass(parallelism.InvalidOptionError, TypeError)
    assert issubclass(parallelism.NotCallableError, TypeError)
    assert issubclass(parallelism.UnpicklableArgumentError, TypeError)
    assert issubclass(parallelism.TaskTimeoutError, TimeoutError)


def test_public_names_are_exported_and_documented() -> None:
    for name in parallelism.__all__:
        obj = getattr(parallelism, name)
        assert obj.__doc__, f"{name} has no docstring"
