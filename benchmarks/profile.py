"""``python -m benchmarks.profile WORKLOAD [--case NAME] [--quick] [--sort tottime] [--top 30]``.

Runs this library's implementation of one workload in this process under :mod:`cProfile` and prints
the hottest functions of the caller's side (the scheduler loop, recording, pickling, pipes).
Worker processes are not profiled here; ``py-spy record --subprocesses -- python -m
benchmarks.profile ...`` sees them too.  The warm-up runs unprofiled; the timed part is profiled.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Sequence

from .harness import configure_logging
from .registry import Measurement, all_workloads

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("workload")
    parser.add_argument("--case", help="case name (default: the first)")
    parser.add_argument("--quick", action="store_true", help="use the quick sizes")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative, ...)")
    parser.add_argument("--top", type=int, default=30)
    options = parser.parse_args(argv)
    workloads = {w.name: w for w in all_workloads()}
    workload = workloads[options.workload]
    cases = workload.cases(options.quick)
    case = next(c for c in cases if c.name == options.case) if options.case else cases[0]
    calibration = workload.calibrate(case) if workload.calibrate is not None else {}
    configure_logging("parallelism")
    profiler = cProfile.Profile()
    m = Measurement("parallelism", case, calibration, profiler=profiler)
    begin = time.perf_counter()
    workload.implementations["parallelism"](m)
    total = time.perf_counter() - begin
    wall = m.wall_s or 0.0
    print(
        f"{workload.name} [{case.name}]: timed part {wall:.3f} s under the profiler "
        f"({wall / case.tasks * 1e6:.1f} us/task), {total:.3f} s in all"
    )
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(options.sort).print_stats(options.top)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
