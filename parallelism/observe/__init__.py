"""Seeing a run: progress, timeline, graph and summary, with no dependency beyond the stdlib.

After every run the ``SchedulerResult`` can show what happened::

    with scheduler(progress=True) as result:     # a live bar on stderr, when it is a terminal
        ...
    print(result.summary())                      # counts, wall and critical-path time, failures
    result.to_chrome_trace("run.json")           # open in https://ui.perfetto.dev
    result.to_html("run.html")                   # one self-contained page: Gantt chart + summary
    print(result.graph.to_mermaid())             # or .to_dot()
    result.raise_for_failures()

One module per job: ``collector`` (what a run did, as a :class:`RunRecord`), ``progress`` (the
live bar and the log lines), ``trace`` (lanes and the Trace Event Format), ``html`` (the page),
``graph`` (Mermaid and DOT), ``summary`` (the table, the critical path, ``raise_for_failures``).
The same functions work on a record made by a :class:`Collector` from the events of any run.
"""

from __future__ import annotations

from .collector import Collector as Collector
from .collector import RunRecord as RunRecord
from .collector import TaskRecord as TaskRecord
from .graph import Edge as Edge
from .graph import Node as Node
from .graph import TaskGraph as TaskGraph

__all__ = ["Collector", "Edge", "Node", "RunRecord", "TaskGraph", "TaskRecord"]
