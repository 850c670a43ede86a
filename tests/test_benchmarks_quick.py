"""The benchmarks never rot: ``python -m benchmarks --quick`` runs every workload and reports.

It asserts nothing about time (timings on a shared 2-core machine are noise): only that the run
exits 0 (every measurement ran and computed the right answer), printed one table per workload
and case, and wrote JSON with the figures.  dask.distributed is left out here because its
cluster start-up alone would take most of the time budget; ``python -m benchmarks --quick`` by
hand exercises it too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmarks_run_and_report(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    peers = "parallelism,parallelism+info,cf,dask-threads,dask-processes,dask-delayed"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--peers", peers, "--json", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    report = json.loads(out.read_text())
    assert report["mode"] == "quick"
    assert report["floor"]["pipe_rtt_us"] > 0
    names = [workload["name"] for workload in report["workloads"]]
    for expected in ("tiny-process", "tiny-thread", "chain", "dag", "cpu-bound", "mixed", "recording"):
        assert expected in names
    for workload in report["workloads"]:
        if "skipped" in workload:  # big-data without NumPy
            assert workload["name"] == "big-data"
            continue
        assert workload["cases"], workload["name"]
        for case in workload["cases"]:
            ours = case["peers"]["parallelism"]
            assert ours["status"] == "ok"
            assert ours["summary"]["median_s"] > 0
            header = f"{workload['name']} [{case['name']}]"
            assert any(line.startswith(header) for line in done.stdout.splitlines()), header
    assert "machine floor" in done.stdout
