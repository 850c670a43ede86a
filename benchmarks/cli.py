"""``python -m benchmarks [--quick] [--rounds N] [--workloads a,b] [--peers a,b] [--json PATH]``.

The run: record the machine and its load; measure the floor and calibrate (one fresh child); then,
per workload and case, ``rounds`` rounds in which every available peer is measured once in a fresh
child, the order rotating each round so no peer always goes first; plus, for workloads that report
memory, one traced child per peer.  A table is printed as soon as a case is done; the raw figures
go to JSON (``benchmarks/results/latest.json``, or ``latest-quick.json`` with ``--quick``).

Exit status: 0 when every measurement ran and computed the right answer, 1 otherwise.  Timings
are never judged by the exit status (the targets are printed, not asserted).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .registry import PEERS, WORKERS, Case, Workload, all_workloads
from .report import format_markdown, format_table, summarize

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def _installed(modules: Sequence[str]) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in modules)


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_bytes": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "versions": {
            name: _version(name) for name in ("parallelism", "dask", "distributed", "numpy", "cloudpickle")
        },
    }


def _source() -> dict[str, Any]:
    """Which ``parallelism`` was measured: its path, and the commit and local changes if in git."""
    import parallelism

    package = Path(parallelism.__file__).resolve().parent
    source: dict[str, Any] = {"package": str(package)}
    try:

        def git(*arguments: str) -> str:
            command = ["git", *arguments]
            return subprocess.run(command, cwd=package, capture_output=True, text=True, check=True).stdout

        commit = git("rev-parse", "HEAD").strip()
        changed = git("status", "--porcelain", "--", ".").splitlines()
    except (OSError, subprocess.CalledProcessError):
        return source
    source.update(commit=commit, uncommitted_changes=len(changed))
    return source


def _load() -> list[float]:
    try:
        return list(os.getloadavg())
    except OSError:
        return [0.0, 0.0, 0.0]


def _child(spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one fresh interpreter on ``spec`` and return its JSON answer (or the failure)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="benchmarks-") as scratch:
        out = Path(scratch) / "answer.json"
        command = [sys.executable, "-m", "benchmarks.child", json.dumps(spec), str(out)]
        began = time.perf_counter()
        try:
            done = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return {"ok": False, "error": f"timed out after {timeout:g} s"}
        answer: dict[str, Any]
        try:
            answer = json.loads(out.read_text())
        except (OSError, ValueError):
            answer = {"ok": False, "error": f"exit status {done.returncode}, no answer"}
        if not answer.get("ok"):
            answer.setdefault("stderr", done.stderr[-4000:])
        answer["process_s"] = time.perf_counter() - began
        return answer


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round (what CI runs)")
    parser.add_argument("--rounds", type=int, help="rounds per case (default 5, quick 1)")
    parser.add_argument("--workloads", help="comma-separated workload names (default: all)")
    parser.add_argument("--peers", help="comma-separated peer names (default: all installed)")
    parser.add_argument("--json", type=Path, help="where to write the raw figures")
    parser.add_argument("--timeout", type=float, help="seconds per child (default 900, quick 120)")
    parser.add_argument("--list", action="store_true", help="list workloads and peers, then exit")
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="JSON",
        help="print the tables of a finished run as Markdown, then exit",
    )
    return parser.parse_args(argv)


def _select(options: argparse.Namespace) -> tuple[list[Workload], set[str]]:
    workloads = all_workloads()
    if options.workloads:
        wanted = {name.strip() for name in options.workloads.split(",") if name.strip()}
        unknown = wanted - {w.name for w in workloads}
        if unknown:
            raise SystemExit(f"unknown workload(s): {', '.join(sorted(unknown))}")
        workloads = [w for w in workloads if w.name in wanted]
    peers = set(PEERS)
    if options.peers:
        peers = {name.strip() for name in options.peers.split(",") if name.strip()}
        unknown = peers - set(PEERS)
        if unknown:
            raise SystemExit(f"unknown peer(s): {', '.join(sorted(unknown))}")
    return workloads, peers


def _list(workloads: Sequence[Workload]) -> None:
    for workload in workloads:
        print(f"{workload.name}: {workload.title}")
        full = ", ".join(case.name for case in workload.full)
        quick = ", ".join(case.name for case in workload.quick)
        print(f"    full: {full}; quick: {quick}")
        print(f"    peers: {', '.join(workload.peers)}")
    print("peers:")
    for peer in PEERS.values():
        state = "installed" if _installed(peer.requires) else f"needs {', '.join(peer.requires)}"
        print(f"    {peer.name}: {peer.label} ({state})")


def _big_data_megabytes(workloads: Sequence[Workload], quick: bool) -> int | None:
    sizes = [case["megabytes"] for w in workloads for case in w.cases(quick) if "megabytes" in case.params]
    return max(sizes) if sizes else None


def _run_case(
    workload: Workload,
    case: Case,
    peers: list[str],
    options: argparse.Namespace,
    *,
    calibration: dict[str, Any],
    floor: dict[str, float],
) -> dict[str, Any]:
    rounds = options.rounds
    runs: dict[str, list[dict[str, Any]]] = {peer: [] for peer in peers}
    memory: dict[str, dict[str, Any]] = {}
    base = {
        "kind": "measure",
        "workload": workload.name,
        "case": case.name,
        "quick": options.quick,
        "calibration": calibration,
    }

    def derive(answer: dict[str, Any]) -> None:
        if not answer.get("ok"):
            return
        if not answer.get("correct", True):
            answer["ok"] = False
            answer["error"] = "computed a wrong answer"
            return
        derived = dict(answer.get("extras", {}))
        if workload.derive is not None:
            record = {"wall_s": answer["wall_s"], **answer.get("extras", {})}
            derived.update(workload.derive(case, record, calibration))
        answer["derived"] = derived

    for index in range(rounds):
        shift = index % len(peers) if peers else 0
        for peer in peers[shift:] + peers[:shift]:
            answer = _child({**base, "peer": peer, "traced": False}, options.timeout)
            answer["load"] = _load()
            derive(answer)
            runs[peer].append(answer)
            if not answer.get("ok"):
                _report_failure(workload, case, peer, answer)
    if workload.memory:
        for peer in peers:
            answer = _child({**base, "peer": peer, "traced": True}, options.timeout)
            derive(answer)
            memory[peer] = answer
            if not answer.get("ok"):
                _report_failure(workload, case, peer, answer)
    result: dict[str, Any] = {}
    for peer in peers:
        summary = summarize(workload, case, runs[peer], memory.get(peer), floor)
        failed = [run for run in runs[peer] if not run.get("ok")]
        if peer in memory and not memory[peer].get("ok"):
            failed.append(memory[peer])
        result[peer] = {
            "label": PEERS[peer].label,
            "status": "ok" if not failed else f"failed: {failed[0].get('error')}",
            "measurements": runs[peer],
            "memory": memory.get(peer),
            "summary": summary,
        }
    return result


def _report_failure(workload: Workload, case: Case, peer: str, answer: dict[str, Any]) -> None:
    print(f"!! {workload.name} [{case.name}] {peer}: {answer.get('error')}", file=sys.stderr)
    detail = answer.get("traceback") or answer.get("stderr")
    if detail:
        print(detail.rstrip()[-3000:], file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    options = _parse(argv)
    options.rounds = options.rounds or (1 if options.quick else 5)
    options.timeout = options.timeout or (120.0 if options.quick else 900.0)
    workloads, wanted_peers = _select(options)
    if options.list:
        _list(workloads)
        return 0
    if options.markdown:
        print(format_markdown(json.loads(options.markdown.read_text())), end="")
        return 0
    started = time.perf_counter()
    mode = "quick" if options.quick else "full"
    report: dict[str, Any] = {
        "mode": mode,
        "rounds": options.rounds,
        "workers": WORKERS,
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": _machine(),
        "source": _source(),
        "load_before": _load(),
        "workloads": [],
    }
    machine = report["machine"]
    print(
        f"parallelism benchmarks ({mode}, {options.rounds} round(s), {WORKERS} workers) on "
        f"{machine['cpus']} x {machine['cpu']}, Python {machine['python']}; "
        f"load average {' '.join(f'{x:.2f}' for x in report['load_before'])}",
        flush=True,
    )
    calibrate = [
        [w.name, case.name] for w in workloads if w.calibrate is not None for case in w.cases(options.quick)
    ]
    base = _child(
        {
            "kind": "floor",
            "quick": options.quick,
            "megabytes": _big_data_megabytes(workloads, options.quick),
            "calibrate": calibrate,
        },
        options.timeout,
    )
    failures = 0
    if not base.get("ok"):
        failures += 1
        print(
            f"!! floor: {base.get('error')}\n{base.get('traceback') or base.get('stderr') or ''}",
            file=sys.stderr,
        )
    floor: dict[str, float] = base.get("floor", {})
    report["floor"] = floor
    report["calibration"] = base.get("calibration", {})
    if floor:
        print(
            "machine floor: pipe round trip {pipe_rtt_us:.1f} us ({pipe_rtt_pickled_us:.1f} us with a "
            "pickled task tuple), pickle+unpickle of a task and its reply {pickle_task_us:.1f} us, "
            "thread round trip {thread_rtt_us:.1f} us".format(**floor),
            flush=True,
        )
        if "pipe_array_s" in floor:
            print(
                "  {array_megabytes:.0f} MB array: pickle+unpickle {pickle_array_s:.3f} s, one way through "
                "a pipe {pipe_array_s:.3f} s, one copy {copy_array_s:.3f} s".format(**floor),
                flush=True,
            )
    for workload in workloads:
        entry: dict[str, Any] = {
            "name": workload.name,
            "title": workload.title,
            "reference": workload.reference,
            "floor": workload.floor,
            "notes": dict(workload.notes),
            "cases": [],
        }
        report["workloads"].append(entry)
        if not _installed(workload.requires):
            entry["skipped"] = f"needs {', '.join(workload.requires)}"
            print(f"\n{workload.name}: skipped ({entry['skipped']})", flush=True)
            continue
        peers = [
            peer
            for peer in workload.peers
            if peer in wanted_peers and peer in workload.implementations and _installed(PEERS[peer].requires)
        ]
        missing = {
            peer: f"not installed (needs {', '.join(PEERS[peer].requires)})"
            for peer in workload.peers
            if peer in wanted_peers and not _installed(PEERS[peer].requires)
        }
        for case in workload.cases(options.quick):
            load = _load()
            calibration = report["calibration"].get(workload.name, {}).get(case.name, {})
            results = _run_case(workload, case, peers, options, calibration=calibration, floor=floor)
            for peer, reason in missing.items():
                results[peer] = {
                    "label": PEERS[peer].label,
                    "status": reason,
                    "measurements": [],
                    "summary": {},
                }
            failures += sum(1 for peer in peers if results[peer]["status"] != "ok")
            summaries = {peer: results[peer]["summary"] for peer in results}
            targets = []
            for target in workload.targets:
                verdict = target.judge(summaries)
                targets.append(
                    {
                        "text": target.text,
                        "met": None if verdict is None else verdict[0],
                        "detail": None if verdict is None else verdict[1],
                    }
                )
            entry["cases"].append(
                {
                    "name": case.name,
                    "tasks": case.tasks,
                    "params": dict(case.params),
                    "load_at_start": load,
                    "calibration": calibration,
                    "peers": results,
                    "targets": targets,
                }
            )
            ordered = {peer: results[peer] for peer in workload.peers if peer in results}
            print("\n" + format_table(workload, case, ordered, targets, load), flush=True)
    report["load_after"] = _load()
    report["duration_s"] = time.perf_counter() - started
    report["failures"] = failures
    path = options.json or RESULTS / ("latest-quick.json" if options.quick else "latest.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(
        f"\n{failures} failed measurement(s); {report['duration_s']:.1f} s; load average after "
        f"{' '.join(f'{x:.2f}' for x in report['load_after'])}; raw figures in {path}",
        flush=True,
    )
    return 1 if failures else 0
