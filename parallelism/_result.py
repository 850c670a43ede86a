"""What a run leaves behind: ``SchedulerResult`` and ``RaiseException``, the seed's two records.

Both are namedtuples, as the seed documents.  ``SchedulerResult`` holds four dicts keyed by task
name, each ordered by ``execution_time``:

* ``execution_time``: every task, when it started (in its worker) or was cancelled;
* ``elapsed_time``: tasks that ran (failed ones too), seconds around the target call;
* ``raise_exception``: tasks that raised, and every cancelled task;
* ``return_value``: ``continual=True`` tasks that returned normally.

``with scheduler(...) as result`` binds a ``SchedulerResult`` whose dicts are empty; they are filled
in place when the block's run ends, so the object bound by ``as`` is the final result.
"""

from __future__ import annotations

import datetime
from typing import Any, NamedTuple

__all__ = ["RaiseException", "SchedulerResult"]


class RaiseException(NamedTuple):
    """An exception a task raised (or that cancelled it) and the formatted traceback.

    Its ``repr`` is the exception's, which is why ``result.raise_exception`` prints as
    ``{'p2': ZeroDivisionError('division by zero')}``.  ``traceback`` is ``None`` for cancellations.
    """

    exception: BaseException
    traceback: str | None

    def __repr__(self) -> str:
        return repr(self.exception)


class _SchedulerResultFields(NamedTuple):
    execution_time: dict[str, datetime.datetime]
    elapsed_time: dict[str, float]
    raise_exception: dict[str, RaiseException]
    return_value: dict[str, Any]


class SchedulerResult(_SchedulerResultFields):
    """The outcome of one run: the seed's four dicts keyed by task name.

    A tuple of exactly four fields (``execution_time``, ``elapsed_time``, ``raise_exception``,
    ``return_value``); methods may be added, fields never.
    """

    @classmethod
    def _empty(cls) -> SchedulerResult:
        return cls({}, {}, {}, {})

    def _fill(self, other: SchedulerResult) -> None:
        """Replace the contents of the four dicts, keeping the dict objects (bound by ``as``)."""
        pairs: tuple[tuple[dict[str, Any], dict[str, Any]], ...] = (
            (self.execution_time, other.execution_time),
            (self.elapsed_time, other.elapsed_time),
            (self.raise_exception, other.raise_exception),
            (self.return_value, other.return_value),
        )
        for mine, theirs in pairs:
            mine.clear()
            mine.update(theirs)
