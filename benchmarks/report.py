"""Summaries of the raw measurements, and the tables printed from them."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from .registry import PEERS, Case, Workload

__all__ = ["format_markdown", "format_table", "summarize"]

_FLOOR_KEYS = {"pipe": ("pipe_rtt_us", "pipe RTT"), "thread": ("thread_rtt_us", "thread RTT")}


def summarize(
    workload: Workload,
    case: Case,
    runs: Sequence[Mapping[str, Any]],
    memory: Mapping[str, Any] | None,
    floor: Mapping[str, float],
) -> dict[str, Any]:
    """Median/min/max wall time, per-task figures and extras of one peer on one case."""
    good = [run for run in runs if run.get("ok")]
    if not good:
        return {}
    walls = [run["wall_s"] for run in good]
    summary: dict[str, Any] = {
        "rounds": len(good),
        "median_s": statistics.median(walls),
        "min_s": min(walls),
        "max_s": max(walls),
    }
    summary["us_per_task"] = summary["median_s"] / case.tasks * 1e6
    startups = [run["startup_s"] for run in good if run.get("startup_s") is not None]
    if startups:
        summary["startup_s"] = statistics.median(startups)
    extras: dict[str, list[float]] = {}
    for run in good:
        for key, value in run.get("derived", {}).items():
            extras.setdefault(key, []).append(value)
    if memory and memory.get("ok"):
        for key, value in memory.get("derived", {}).items():
            extras.setdefault(key, []).append(value)
    for key, values in extras.items():
        summary[key] = statistics.median(values)
    if workload.floor is not None:
        floor_key, _ = _FLOOR_KEYS[workload.floor]
        if floor.get(floor_key):
            summary["x_floor"] = summary["us_per_task"] / floor[floor_key]
    return summary


def _cell(value: Any, form: str) -> str:
    return "-" if value is None else form.format(value)


def format_table(
    workload: Workload,
    case: Case,
    peers: Mapping[str, Mapping[str, Any]],
    targets: Sequence[Mapping[str, Any]],
    load: Sequence[float],
) -> str:
    """One plain-text table: a row per peer, then notes, the INFO line cost and the targets."""
    reference = peers.get(workload.reference, {}).get("summary") or {}
    headers = ["peer", "median s", "min s", "max s", "us/task", f"x {workload.reference}"]
    if workload.floor is not None:
        headers.append(f"x {_FLOOR_KEYS[workload.floor][1]}")
    headers.append("start-up s")
    headers += [column.header for column in workload.columns]
    rows: list[list[str]] = []
    problems: list[str] = []
    for name, entry in peers.items():
        label = PEERS[name].label
        summary = entry.get("summary") or {}
        status = entry.get("status", "no result")
        if status != "ok":
            problems.append(f"  {label}: {status}")
        if not summary:
            short = "FAILED" if status.startswith("failed") else "n/a"
            rows.append([label, short] + ["-"] * (len(headers) - 2))
            continue
        ratio = None
        if reference.get("median_s"):
            ratio = summary["median_s"] / reference["median_s"]
        row = [
            label,
            _cell(summary["median_s"], "{:.4f}"),
            _cell(summary["min_s"], "{:.4f}"),
            _cell(summary["max_s"], "{:.4f}"),
            _cell(summary["us_per_task"], "{:,.1f}"),
            _cell(ratio, "{:.2f}"),
        ]
        if workload.floor is not None:
            row.append(_cell(summary.get("x_floor"), "{:.1f}"))
        row.append(_cell(summary.get("startup_s"), "{:.3f}"))
        row += [_cell(summary.get(column.key), column.format) for column in workload.columns]
        rows.append(row)
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers))]
    title = f"{workload.name} [{case.name}]: {workload.title}"
    lines = [title, f"(load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})"]
    line = "  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(headers))
    lines += [line, "-" * len(line)]
    for row in rows:
        lines.append(
            "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row))
        )
    lines += problems
    for name, note in workload.notes.items():
        if name not in peers and name in workload.peers:
            continue  # a peer left out of this run
        lines.append(f"  {PEERS[name].label}: {note}" if name in PEERS else f"  {note}")
    ours = (peers.get("parallelism") or {}).get("summary") or {}
    info = (peers.get("parallelism+info") or {}).get("summary") or {}
    if ours and info:
        extra = (info["median_s"] - ours["median_s"]) / case.tasks * 1e6
        lines.append(f"  INFO lines cost {extra:+.1f} us per task (parallelism at INFO vs WARNING, same run)")
    for target in targets:
        status = {True: "met", False: "MISSED", None: "not judged"}[target["met"]]
        detail = f" ({target['detail']})" if target.get("detail") else ""
        lines.append(f"  target {target['text']}: {status}{detail}")
    return "\n".join(lines)


def format_markdown(report: Mapping[str, Any]) -> str:
    """The tables of a finished run (its JSON), as Markdown for ``benchmarks/README.md``."""
    machine = report["machine"]
    floor = report.get("floor", {})
    source = report.get("source", {})
    lines = [
        f"Run of {report['started']} ({report['mode']}, {report['rounds']} rounds, "
        f"{report['workers']} workers, {report.get('duration_s', 0):.0f} s) on {machine['cpus']} x "
        f"{machine['cpu']}, {(machine.get('memory_bytes') or 0) / 2**30:.0f} GB, {machine['platform']}, "
        f"Python {machine['python']}; "
        + ", ".join(f"{name} {version}" for name, version in machine["versions"].items() if version)
        + ".",
        "",
        f"Load average (1, 5, 15 min) before {_triple(report['load_before'])}, after "
        f"{_triple(report.get('load_after', [0, 0, 0]))}; each table gives the load when it started.",
    ]
    if source.get("commit"):
        changed = source.get("uncommitted_changes")
        lines.append(
            f"Measured: `parallelism` at commit `{source['commit'][:10]}`"
            + (f" with {changed} uncommitted file(s) in the package." if changed else ".")
        )
    if floor:
        lines += [
            "",
            f"Machine floor: pipe round trip {floor['pipe_rtt_us']:.1f} us "
            f"({floor['pipe_rtt_pickled_us']:.1f} us with a pickled task tuple), pickle + unpickle of a "
            f"task and its reply {floor['pickle_task_us']:.1f} us, thread round trip "
            f"{floor['thread_rtt_us']:.1f} us." + (_array_floor(floor) if "pipe_array_s" in floor else ""),
        ]
    for workload in report["workloads"]:
        if workload.get("skipped"):
            lines += ["", f"### {workload['name']}", "", f"Skipped: {workload['skipped']}."]
            continue
        for case in workload["cases"]:
            lines += ["", f"### {workload['name']}: {case['name']}", "", f"{workload['title']}."]
            lines.append(f"Load average at start {_triple(case['load_at_start'])}.")
            lines.append("")
            reference = (case["peers"].get(workload["reference"]) or {}).get("summary") or {}
            floor_header = {"pipe": "x pipe RTT", "thread": "x thread RTT"}.get(workload.get("floor") or "")
            extra_keys = sorted(
                {
                    key
                    for entry in case["peers"].values()
                    for key in (entry.get("summary") or {})
                    if key in _EXTRA_HEADERS
                }
            )
            headers = ["peer", "median s", "min s", "max s", "us/task", f"x {workload['reference']}"]
            headers += [floor_header] if floor_header else []
            headers += ["start-up s"] + [_EXTRA_HEADERS[key][0] for key in extra_keys]
            lines.append("| " + " | ".join(headers) + " |")
            lines.append("|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|")
            for entry in case["peers"].values():
                summary = entry.get("summary") or {}
                if not summary:
                    lines.append(f"| {entry['label']} | {entry['status']} |" + " |" * (len(headers) - 2))
                    continue
                ratio = summary["median_s"] / reference["median_s"] if reference.get("median_s") else None
                row = [
                    entry["label"],
                    f"{summary['median_s']:.4f}",
                    f"{summary['min_s']:.4f}",
                    f"{summary['max_s']:.4f}",
                    f"{summary['us_per_task']:,.1f}",
                    _cell(ratio, "{:.2f}"),
                ]
                row += [_cell(summary.get("x_floor"), "{:.1f}")] if floor_header else []
                row.append(_cell(summary.get("startup_s"), "{:.3f}"))
                row += [_cell(summary.get(key), _EXTRA_HEADERS[key][1]) for key in extra_keys]
                lines.append("| " + " | ".join(row) + " |")
            lines.append("")
            for name, note in workload.get("notes", {}).items():
                label = case["peers"][name]["label"] if name in case["peers"] else None
                if label is None and name in PEERS and name not in ("cf",):
                    continue
                lines.append(f"- {PEERS[name].label + ': ' if name in PEERS else ''}{note}")
            ours = (case["peers"].get("parallelism") or {}).get("summary") or {}
            info = (case["peers"].get("parallelism+info") or {}).get("summary") or {}
            if ours and info:
                extra = (info["median_s"] - ours["median_s"]) / case["tasks"] * 1e6
                lines.append(f"- INFO lines cost {extra:+.1f} us per task (same run)")
            for target in case["targets"]:
                status = {True: "met", False: "**missed**", None: "not judged"}[target["met"]]
                detail = f" ({target['detail']})" if target.get("detail") else ""
                lines.append(f"- target {target['text']}: {status}{detail}")
    return "\n".join(lines) + "\n"


_EXTRA_HEADERS = {
    "efficiency": ("efficiency", "{:.3f}"),
    "mb_per_s": ("MB/s", "{:.0f}"),
    "bytes_per_task": ("B/task", "{:.0f}"),
    "peak_bytes_per_task": ("peak B/task", "{:.0f}"),
}


def _array_floor(floor: Mapping[str, float]) -> str:
    return (
        f" A {floor['array_megabytes']:.0f} MB array: pickle + unpickle {floor['pickle_array_s']:.3f} s, one "
        f"way through a pipe {floor['pipe_array_s']:.3f} s, one copy {floor['copy_array_s']:.3f} s."
    )


def _triple(load: Sequence[float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)
