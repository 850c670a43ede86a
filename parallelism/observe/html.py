"""One self-contained HTML page of a run: an SVG Gantt chart of its lanes and the summary table.

Nothing in the page is fetched: the styles are inline, there is no script and no external URL (the
SVG is inline HTML5, which needs no namespace URL), so the file opens offline in any browser.
The chart has the lanes of :mod:`.trace` (one per slot) and a lane for the cancelled tasks; each
task is one ``<rect class="bar ...">`` coloured by outcome, with a ``<title>`` that the browser
shows on hover (name, kind, outcome, duration, error).
"""

from __future__ import annotations

import html
import math
import os
from datetime import datetime

from .._state import TaskState
from .collector import RunRecord, TaskRecord
from .summary import Summary, error_line, format_seconds, summarize
from .trace import lanes

__all__ = ["render_html", "write_html"]

_LABEL_WIDTH = 150
_PLOT_WIDTH = 900
_ROW = 20
_BAR = 14
_AXIS = 24
_COLOURS = {
    TaskState.SUCCEEDED: "#43a047",
    TaskState.FAILED: "#e53935",
    TaskState.CANCELLED: "#9e9e9e",
}

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 1.5em;
       color: #212121; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { text-align: left; padding: 0.2em 0.8em; border-bottom: 1px solid #e0e0e0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.chart { overflow-x: auto; border: 1px solid #e0e0e0; }
svg text { font-size: 11px; fill: #424242; }
svg .group { font-weight: bold; }
svg .grid { stroke: #eeeeee; }
svg .bar:hover { stroke: #000000; stroke-width: 1; }
.legend span { display: inline-block; width: 0.9em; height: 0.9em; margin: 0 0.3em 0 1em;
               vertical-align: middle; }
pre { background: #f5f5f5; padding: 0.8em; overflow-x: auto; }
"""


def _nice_step(span: float, ticks: int = 8) -> float:
    """A 1, 2 or 5 times a power of ten step that cuts ``span`` into about ``ticks`` parts."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _tick_label(seconds: float, step: float) -> str:
    """``0``, ``50 ms``, ``1.5 s``: in the unit of the step, with no more digits than it needs."""
    if seconds == 0:
        return "0"
    size, unit = (1e-6, "us") if step < 1e-3 else (1e-3, "ms") if step < 1 else (1.0, "s")
    value = seconds / size
    return f"{value:.0f} {unit}" if abs(value - round(value)) < 1e-6 else f"{value:.1f} {unit}"


def _hover(task: TaskRecord) -> str:
    parts = [task.name, f"{task.kind} task, {task.state.value}"]
    if task.elapsed is not None:
        parts.append(f"ran {format_seconds(task.elapsed)}")
    if task.error is not None:
        parts.append(error_line(task.error))
    return "\n".join(parts)


def _chart(record: RunRecord) -> tuple[str, int]:
    """The SVG and the number of bars in it."""
    span = max(
        record.wall,
        max((task.started + (task.elapsed or 0.0) - record.began for task in record.tasks), default=0.0),
    )
    scale = _PLOT_WIDTH / span if span > 0 else 0.0
    rows: list[tuple[str, str, list[tuple[TaskRecord, float, float]]]] = []
    for lane in lanes(record):
        group = "processes" if lane.kind == "process" else "threads"
        rows.append((group, lane.label, [(piece.task, piece.start, piece.end) for piece in lane.slices]))
    cancelled = [task for task in record.tasks if task.state is TaskState.CANCELLED]
    if cancelled:
        at = [(task, max(0.0, task.started - record.began)) for task in cancelled]
        rows.append(("cancelled", "cancelled tasks", [(task, start, start) for task, start in at]))
    parts: list[str] = []
    y = _AXIS
    previous_group = None
    bars = 0
    for group, label, pieces in rows:
        if group != previous_group:
            y += 4 if previous_group is None else 10
            parts.append(f'<text class="group" x="4" y="{y + 12}">{html.escape(group)}</text>')
            y += _ROW
            previous_group = group
        parts.append(f'<text x="14" y="{y + 14}">{html.escape(label)}</text>')
        for task, start, end in pieces:
            x = _LABEL_WIDTH + start * scale
            width = max(1.0, (end - start) * scale)
            if task.state is TaskState.CANCELLED:
                width = 2.0
            state = task.state.value
            parts.append(
                f'<rect class="bar {state}" data-task="{html.escape(task.name)}" x="{x:.2f}" '
                f'y="{y + (_ROW - _BAR) / 2:.1f}" width="{width:.2f}" height="{_BAR}" '
                f'fill="{_COLOURS[task.state]}"><title>{html.escape(_hover(task))}</title></rect>'
            )
            bars += 1
        y += _ROW
    height = y + 6
    axis = [f'<line class="grid" x1="{_LABEL_WIDTH}" y1="{_AXIS - 6}" x2="{_LABEL_WIDTH}" y2="{height}"/>']
    step = _nice_step(span)
    tick = 0
    while span > 0 and tick * step <= span + 1e-12:
        x = _LABEL_WIDTH + tick * step * scale
        axis.append(f'<line class="grid" x1="{x:.2f}" y1="{_AXIS - 6}" x2="{x:.2f}" y2="{height}"/>')
        axis.append(f'<text x="{x + 2:.2f}" y="{_AXIS - 10}">{_tick_label(tick * step, step)}</text>')
        tick += 1
    width = _LABEL_WIDTH + _PLOT_WIDTH + 70
    svg = (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="timeline of the run">' + "".join(axis) + "".join(parts) + "</svg>"
    )
    return svg, bars


def _summary_tables(summary: Summary) -> str:
    out = ["<h2>Summary</h2>", "<table>"]
    critical = "unknown (no graph)"
    if summary.critical_time is not None:
        chain = " &rarr; ".join(html.escape(name) for name in summary.critical_path or ()) or "-"
        critical = f"{html.escape(format_seconds(summary.critical_time))} ({chain})"
    rows = [
        ("wall time", html.escape(format_seconds(summary.wall))),
        ("critical path", critical),
        ("slots", f"{summary.processes} processes, {summary.threads} threads"),
    ]
    out += [f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows]
    out.append("</table>")
    out.append("<table><tr><th>outcome</th><th>tasks</th></tr>")
    for name, count in (
        ("succeeded", summary.succeeded),
        ("failed", summary.failed),
        ("cancelled", summary.cancelled),
        ("total", summary.total),
    ):
        out.append(f'<tr><td>{name}</td><td class="num">{count}</td></tr>')
    out.append("</table>")
    if summary.slowest:
        out.append(f"<h2>Slowest {len(summary.slowest)} tasks</h2>")
        out.append("<table><tr><th>task</th><th>kind</th><th>elapsed</th><th>outcome</th></tr>")
        for task in summary.slowest:
            out.append(
                f"<tr><td>{html.escape(task.name)}</td><td>{task.kind}</td>"
                f'<td class="num">{html.escape(format_seconds(task.elapsed or 0.0))}</td>'
                f"<td>{task.state.value}</td></tr>"
            )
        out.append("</table>")
    if summary.failures:
        out.append(f"<h2>Failures ({len(summary.failures)})</h2>")
        out.append("<table><tr><th>task</th><th>error</th></tr>")
        for task in summary.failures:
            out.append(
                f"<tr><td>{html.escape(task.name)}</td><td>{html.escape(error_line(task.error))}</td></tr>"
            )
        out.append("</table>")
    if summary.consequences:
        out.append(
            f"<p>{summary.consequences} more cancelled as a consequence (a dependency failed or was "
            "cancelled).</p>"
        )
    return "\n".join(out)


def render_html(record: RunRecord, title: str = "parallelism run") -> str:
    """The page as a string."""
    summary = summarize(record)
    svg, _ = _chart(record)
    began = (
        datetime.fromtimestamp(record.began).isoformat(sep=" ", timespec="seconds") if record.began else "-"
    )
    legend = "".join(
        f'<span style="background:{colour}"></span>{state.value}' for state, colour in _COLOURS.items()
    )
    graph = record.graph
    mermaid = ""
    if graph is not None:
        mermaid = (
            "<h2>Graph</h2><details><summary>Mermaid source (paste it in a Markdown "
            "<code>mermaid</code> block)</summary><pre>"
            + html.escape(graph.to_mermaid())
            + "</pre></details>"
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f"<p>Started {html.escape(began)}; {summary.total} tasks in "
        f"{html.escape(format_seconds(summary.wall))}. Hover a bar for its task.</p>\n"
        f'<p class="legend">{legend}</p>\n'
        f'<div class="chart">{svg}</div>\n'
        f"{_summary_tables(summary)}\n{mermaid}\n</body>\n</html>\n"
    )


def write_html(record: RunRecord, path: str | os.PathLike[str], title: str = "parallelism run") -> None:
    """Write :func:`render_html` to ``path``."""
    with open(path, "w", encoding="utf-8") as file:
        file.write(render_html(record, title))
