"""One measurement in a fresh interpreter: ``python -m benchmarks.child SPEC_JSON OUT_JSON``.

The parent (:mod:`benchmarks.cli`) starts one of these per measurement, so no peer inherits
another's warm caches, pools or imports.  ``SPEC_JSON`` says what to do:

* ``{"kind": "floor", "quick": bool, "megabytes": int|null, "calibrate": [[workload, case], ...]}``
  measures the machine floor and runs each listed case's calibration;
* ``{"kind": "measure", "workload": ..., "case": ..., "peer": ..., "traced": bool,
  "calibration": {...}, "quick": bool}`` runs one implementation once.

The answer is written as JSON to ``OUT_JSON`` (stdout is left to the tasks and the peers).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback
from typing import Any

__all__ = ["main"]


def _find_case(workload_name: str, case_name: str, quick: bool) -> tuple[Any, Any]:
    from .registry import all_workloads

    for workload in all_workloads():
        if workload.name == workload_name:
            for case in workload.cases(quick):
                if case.name == case_name:
                    return workload, case
    raise LookupError(f"no case {case_name!r} in workload {workload_name!r}")


def _floor(spec: dict[str, Any]) -> dict[str, Any]:
    from .floor import measure_floor

    answer: dict[str, Any] = {"floor": measure_floor(quick=spec["quick"], megabytes=spec.get("megabytes"))}
    calibration: dict[str, dict[str, Any]] = {}
    for workload_name, case_name in spec.get("calibrate", []):
        workload, case = _find_case(workload_name, case_name, spec["quick"])
        calibration.setdefault(workload_name, {})[case_name] = workload.calibrate(case)
    answer["calibration"] = calibration
    return answer


def _measure(spec: dict[str, Any]) -> dict[str, Any]:
    from .harness import configure_logging
    from .registry import Measurement

    configure_logging(spec["peer"])
    workload, case = _find_case(spec["workload"], spec["case"], spec["quick"])
    m = Measurement(spec["peer"], case, spec.get("calibration") or {}, traced=spec["traced"])
    value = workload.implementations[spec["peer"]](m)
    if m.wall_s is None:
        raise RuntimeError(f"{spec['workload']}/{spec['peer']}: the implementation never called measure()")
    correct = workload.check is None or workload.check(case, value)
    return {
        "wall_s": m.wall_s,
        "startup_s": m.startup_s,
        "extras": m.extras,
        "correct": bool(correct),
        "threads_left": [t.name for t in threading.enumerate() if t is not threading.main_thread()],
    }


def main(argv: list[str]) -> int:
    spec_text, out_path = argv
    spec = json.loads(spec_text)
    try:
        answer = _floor(spec) if spec["kind"] == "floor" else _measure(spec)
        answer["ok"] = True
    except BaseException as error:
        answer = {
            "ok": False,
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(),
        }
    answer["pid"] = os.getpid()
    with open(out_path, "w") as out:
        json.dump(answer, out)
    return 0 if answer["ok"] else 1


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Abandoned daemon threads or pools of a peer must not hold the measurement up.
    os._exit(code)
