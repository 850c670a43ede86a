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
import os
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .observe.collector import RunRecord
    from .observe.graph import TaskGraph

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
    ``return_value``); methods may be added, fields never.  The methods that show the run
    (``summary``, ``to_chrome_trace``, ``to_html``, ``graph``) read the record the run attaches
    (``_run``, not a field); ``raise_for_failures`` needs only the four dicts.
    """

    _run: RunRecord | None = None
    """What the run did, task by task (``parallelism.observe``); ``None`` until it has run."""

    @classmethod
    def _empty(cls) -> SchedulerResult:
        return cls({}, {}, {}, {})

    def _record(self) -> RunRecord:
        if self._run is None:
            from ._errors import NotRunError

            raise NotRunError("this result has no run yet: use it after the scheduler block has exited")
        return self._run

    @property
    def graph(self) -> TaskGraph:
        """The recorded graph, nodes coloured by outcome: ``.to_mermaid()``, ``.to_dot()``."""
        graph = self._record().graph
        assert graph is not None
        return graph

    def summary(self) -> str:
        """A table: counts by outcome, wall and critical-path time, slowest tasks, failures."""
        from .observe.summary import summarize

        return str(summarize(self._record()))

    def to_chrome_trace(self, path: str | os.PathLike[str]) -> None:
        """Write the run's timeline as Trace Event Format JSON (Perfetto, ``chrome://tracing``)."""
        from .observe.trace import write_chrome_trace

        write_chrome_trace(self._record(), path)

    def to_html(self, path: str | os.PathLike[str]) -> None:
        """Write one self-contained HTML page: a Gantt chart of the run and its summary."""
        from .observe.html import write_html

        write_html(self._record(), path)

    def raise_for_failures(self) -> None:
        """Raise the failure (one), an ``ExceptionGroup`` of them (several, 3.11+), or nothing.

        Failures are the tasks that raised and those cancelled with ``WorkerError``; a task
        cancelled because a dependency failed is a consequence and is not raised.  On Python 3.10
        the first failure is raised, with a note naming the others.
        """
        from .observe.summary import raise_for_failures

        raise_for_failures(self)

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
        self._run = other._run
