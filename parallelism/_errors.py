"""The library's exceptions, in one small module at the bottom of the import graph.

Every exception here derives from :class:`ParallelismError`; usage errors also derive from the
nearest builtin (``TypeError``, ``ValueError``, ``RuntimeError``) so that code written against the
builtins keeps working.  All of them pickle round-trip: they travel between worker processes and
the caller, and an exception that cannot be rebuilt on the other side would be lost.  The rule that
makes this work is simple: ``self.args`` always holds exactly the ``__init__`` arguments.
"""

from __future__ import annotations

__all__ = [
    "DependencyError",
    "DuplicateTaskNameError",
    "ForeignDeferredError",
    "InvalidOptionError",
    "InvalidTransitionError",
    "NotCallableError",
    "NotRunError",
    "OutsideSchedulerError",
    "ParallelismError",
    "RemoteTraceback",
    "RunInterruptedError",
    "TaskTimeoutError",
    "UnpicklableArgumentError",
    "UnpicklableExceptionError",
    "UnpicklableResultError",
    "WorkerCrashedError",
    "WorkerError",
]


class ParallelismError(Exception):
    """Root of every error raised by ``parallelism`` itself (never by a task's own code)."""


# --- usage errors: raised in the caller, at the line that misused the API -------------------------


class OutsideSchedulerError(ParallelismError, RuntimeError):
    """A task was called outside a ``with scheduler(...)`` block.

    Calling a task only records it; outside a block there is nothing to record into.  The message
    points to ``task.__wrapped__(...)``, the plain function, for a direct call.
    """


class NotRunError(ParallelismError, RuntimeError):
    """``Deferred.result()`` or ``.exception()`` was asked for before the task's block has run."""


class DuplicateTaskNameError(ParallelismError, ValueError):
    """An explicit task name was used twice in one block (default names are numbered instead)."""


class ForeignDeferredError(ParallelismError, ValueError):
    """A Deferred of another block that has not run yet was passed to a task.

    A Deferred of a block that already ran is fine: it stands for its value.
    """


class InvalidOptionError(ParallelismError, ValueError, TypeError):
    """A task or scheduler option has the wrong type or value (for example ``processes=-1``).

    It is both a ``TypeError`` and a ``ValueError`` so that either ``except`` clause catches it;
    the message says which rule was broken.
    """


class NotCallableError(ParallelismError, TypeError):
    """``@process`` / ``@thread`` was applied to something that cannot be called."""


class UnpicklableArgumentError(ParallelismError, TypeError):
    """An argument of a process task cannot be pickled; raised when the call is recorded."""


class InvalidTransitionError(ParallelismError, RuntimeError):
    """A task state moved in a way the lifecycle forbids: a bug in the scheduler, never the user's."""


# --- outcomes: what a task's Deferred / RaiseException can hold ------------------------------------


class WorkerError(ParallelismError):
    """A task was cancelled at start because the scheduler can never give it the slots it needs.

    ``WorkerError("'p3' has been canceled", (1, 2))``: ``.processes`` and ``.threads`` are how many
    process and thread slots were lacking.
    """

    def __init__(self, message: str, lack: tuple[int, int]) -> None:
        super().__init__(message, tuple(lack))

    @property
    def processes(self) -> int:
        """Process slots lacking."""
        lack: tuple[int, int] = self.args[1]
        return lack[0]

    @property
    def threads(self) -> int:
        """Thread slots lacking."""
        lack: tuple[int, int] = self.args[1]
        return lack[1]


class DependencyError(ParallelismError):
    """A task was cancelled because a task it depends on failed or was cancelled.

    ``DependencyError("'t2' has been canceled", ('p2',))``: ``.tasks`` names the direct
    dependencies that had failed or been cancelled by then, in recording order.
    """

    def __init__(self, message: str, tasks: tuple[str, ...]) -> None:
        super().__init__(message, tuple(tasks))

    @property
    def tasks(self) -> tuple[str, ...]:
        """Names of the failed or cancelled direct dependencies."""
        tasks: tuple[str, ...] = self.args[1]
        return tasks


class WorkerCrashedError(ParallelismError):
    """The worker process running a task died (exit, signal, OOM kill) before it answered."""


class RunInterruptedError(ParallelismError):
    """A task was cancelled because the run was interrupted (Ctrl-C, SIGTERM) before it finished."""


class TaskTimeoutError(ParallelismError, TimeoutError):
    """A task ran longer than its ``timeout=``; a process task's worker was killed for it."""


class UnpicklableResultError(ParallelismError):
    """A process task returned a value that cannot be pickled back to the caller.

    The message keeps the original pickling error's type name and message.
    """


class UnpicklableExceptionError(ParallelismError):
    """Stand-in for an exception raised in a worker process that could not cross back.

    ``.type_name`` is the original exception's qualified type name; the message is its text; the
    traceback text is kept in the task's ``RaiseException``.
    """

    def __init__(self, type_name: str, message: str) -> None:
        super().__init__(type_name, message)

    @property
    def type_name(self) -> str:
        """Qualified name of the exception type that could not be pickled."""
        name: str = self.args[0]
        return name

    def __str__(self) -> str:
        return f"{self.args[0]}: {self.args[1]}"


class RemoteTraceback(Exception):  # noqa: N818 - it is not an error, it explains one
    """Carries a worker's formatted traceback; set as ``__cause__`` of exceptions re-raised here.

    Not a ``ParallelismError``: it never stands on its own, it only explains another exception.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)

    def __str__(self) -> str:
        text: str = self.args[0]
        return "\n\n" + text.rstrip("\n")
