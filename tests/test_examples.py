"""The examples run as documented (``python examples/<name>.py``) and print what they claim."""

from __future__ import annotations

import os
import subprocess
import sys


def _run(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, os.path.join("examples", name)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_quickstart() -> None:
    done = _run("quickstart.py")
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(":", 1) for line in done.stdout.splitlines() if ":" in line)
    counts = eval(lines["counts"])  # a printed list of ints
    assert len(counts) == 8
    assert sum(counts) == int(lines["total"])
    assert sum(counts) == 7837  # primes below 80,000
    assert "SchedulerResult(execution_time=" in done.stdout
    assert "'count_primes' ran approximately" in done.stderr


def test_nested() -> None:
    done = _run("nested.py")
    assert done.returncode == 0, done.stderr
    assert "checks: [True, True]" in done.stdout
    assert "'partial_sum' ran approximately" in done.stderr  # an inner run's line reached us
