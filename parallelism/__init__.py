"""parallelism: typed task graphs over processes and threads.

::

    from parallelism import process, thread, scheduler

    @process
    def crunch(n: int) -> list[float]: ...

    with scheduler(processes=2, threads=2) as result:
        parts = [crunch(i) for i in range(8)]     # Deferred[list[float]]: nothing runs yet
    print(parts[0].result(), result.elapsed_time)

Everything public is re-exported here; the ``_modules`` are private.  Importing this package
configures nothing (no logging handler, no start method) and starts nothing.
"""

from __future__ import annotations

from ._classic import scheduled_task as scheduled_task
from ._classic import task_scheduler as task_scheduler
from ._deferred import Deferred as Deferred
from ._errors import DependencyError as DependencyError
from ._errors import DuplicateTaskNameError as DuplicateTaskNameError
from ._errors import ForeignDeferredError as ForeignDeferredError
from ._errors import InvalidOptionError as InvalidOptionError
from ._errors import InvalidTransitionError as InvalidTransitionError
from ._errors import NotCallableError as NotCallableError
from ._errors import NotRunError as NotRunError
from ._errors import OutsideSchedulerError as OutsideSchedulerError
from ._errors import ParallelismError as ParallelismError
from ._errors import RemoteTraceback as RemoteTraceback
from ._errors import RunInterruptedError as RunInterruptedError
from ._errors import TaskTimeoutError as TaskTimeoutError
from ._errors import UnpicklableArgumentError as UnpicklableArgumentError
from ._errors import UnpicklableExceptionError as UnpicklableExceptionError
from ._errors import UnpicklableResultError as UnpicklableResultError
from ._errors import WorkerCrashedError as WorkerCrashedError
from ._errors import WorkerError as WorkerError
from ._result import RaiseException as RaiseException
from ._result import SchedulerResult as SchedulerResult
from ._scheduler import scheduler as scheduler
from ._state import TaskState as TaskState
from ._task import Task as Task
from ._task import TaskDecorator as TaskDecorator
from ._task import process as process
from ._task import thread as thread

__version__ = "0.2.0"

__all__ = [
    "Deferred",
    "DependencyError",
    "DuplicateTaskNameError",
    "ForeignDeferredError",
    "InvalidOptionError",
    "InvalidTransitionError",
    "NotCallableError",
    "NotRunError",
    "OutsideSchedulerError",
    "ParallelismError",
    "RaiseException",
    "RemoteTraceback",
    "RunInterruptedError",
    "SchedulerResult",
    "Task",
    "TaskDecorator",
    "TaskState",
    "TaskTimeoutError",
    "UnpicklableArgumentError",
    "UnpicklableExceptionError",
    "UnpicklableResultError",
    "WorkerCrashedError",
    "WorkerError",
    "process",
    "scheduled_task",
    "scheduler",
    "task_scheduler",
    "thread",
]


def _fix_module_names() -> None:
    """Show public classes as ``parallelism.X`` (in reprs, docs, pickles of the classes)."""
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, type) and obj.__module__.startswith("parallelism._"):
            obj.__module__ = __name__


_fix_module_names()
