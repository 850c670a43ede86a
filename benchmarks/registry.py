"""Workloads, the peers that run them, and what one measurement records.

A :class:`Workload` is a named job (say, 2,000 tiny process tasks) with its sizes for the full and
the quick mode (:class:`Case`), the peer it is compared with (``reference``, ``concurrent.futures``
unless it cannot express the job), the targets it is judged by, and one implementation per peer.
An implementation is a plain function ``(m: Measurement) -> checksum`` that does the job the way
that peer's users would write it; it wraps its warm-up in ``m.startup()`` and the part that is
timed in ``m.measure()``, and returns something the workload's ``check`` compares with the
expected answer, so a peer that computes the wrong thing fails instead of looking fast.

Every measurement runs in a fresh interpreter (``benchmarks.child``); this module is what both
sides import, so it stays light: no peer is imported here.
"""

from __future__ import annotations

import contextlib
import cProfile
import gc
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PEERS",
    "WORKERS",
    "Case",
    "Column",
    "Measurement",
    "Peer",
    "Target",
    "Workload",
    "all_workloads",
    "ratio_target",
    "register",
]

WORKERS = 2
"""Process and thread slots every peer gets (``processes=2, threads=2``, pools of 2)."""


@dataclass(frozen=True)
class Peer:
    """A scheduler compared in the tables."""

    name: str
    label: str
    requires: tuple[str, ...] = ()
    """Modules that must be importable for this peer to run (else its rows say so)."""


PEERS: dict[str, Peer] = {
    peer.name: peer
    for peer in (
        Peer("parallelism", "parallelism"),
        Peer("parallelism+info", "parallelism, INFO lines on"),
        Peer("cf", "concurrent.futures"),
        Peer("dask-threads", "dask threaded", ("dask",)),
        Peer("dask-processes", "dask processes", ("dask",)),
        Peer("dask-distributed", "dask.distributed", ("dask", "distributed")),
        Peer("dask-delayed", "dask.delayed", ("dask",)),
    )
}


@dataclass(frozen=True)
class Case:
    """One size of a workload: ``tasks`` is what the per-task figures divide by."""

    name: str
    tasks: int
    params: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]


Summary = Mapping[str, Any]
"""What a target reads: ``{peer: {"median_s": ..., "us_per_task": ..., <extras>...}}`` of one case."""


@dataclass(frozen=True)
class Target:
    """A goal from the issue, judged on one case's summary; ``None`` when it cannot be judged."""

    text: str
    judge: Callable[[Summary], tuple[bool, str] | None]


def ratio_target(text: str, peer: str, limit: float, *, against: str = "cf") -> Target:
    """``median(peer) <= limit * median(against)``, in the same run."""

    def judge(summary: Summary) -> tuple[bool, str] | None:
        ours, theirs = summary.get(peer), summary.get(against)
        if not ours or not theirs or not ours.get("median_s") or not theirs.get("median_s"):
            return None
        ratio = ours["median_s"] / theirs["median_s"]
        return ratio <= limit, f"{ratio:.2f}x {PEERS[against].label}"

    return Target(text, judge)


@dataclass(frozen=True)
class Column:
    """An extra column: a figure an implementation or ``derive`` puts in a measurement's extras."""

    key: str
    header: str
    format: str = "{:.3g}"


Implementation = Callable[["Measurement"], Any]


@dataclass
class Workload:
    """A job every peer does the same way its users would write it; see the module docstring."""

    name: str
    title: str
    order: int
    full: tuple[Case, ...]
    quick: tuple[Case, ...]
    peers: tuple[str, ...]
    reference: str = "cf"
    floor: str | None = "pipe"
    """Which machine floor per-task figures are shown against: "pipe", "thread" or None."""
    requires: tuple[str, ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)
    """Per peer: how the job had to be written for it (shown under the table); a key that is not
    a peer's name (say ``"*"``) is a note on the workload itself."""
    targets: tuple[Target, ...] = ()
    columns: tuple[Column, ...] = ()
    check: Callable[[Case, Any], bool] | None = None
    calibrate: Callable[[Case], dict[str, Any]] | None = None
    """Run once per case, in the floor child before any measurement; what it returns is the
    ``calibration`` of that case's measurements (e.g. loop turns for ~0.25 s of CPU)."""
    derive: Callable[[Case, Mapping[str, Any], Mapping[str, Any]], dict[str, float]] | None = None
    """``(case, measurement record, calibration) -> extra figures``, computed in the parent."""
    memory: bool = False
    """Also run one traced measurement per case and peer for bytes per task (tracemalloc)."""
    implementations: dict[str, Implementation] = field(default_factory=dict)

    def implementation(self, *peers: str) -> Callable[[Implementation], Implementation]:
        """Decorator: ``fn`` is how ``peers`` (names of :data:`PEERS`) do this workload."""

        def add(function: Implementation) -> Implementation:
            for peer in peers:
                if peer not in PEERS:
                    raise KeyError(f"unknown peer {peer!r}; add it to benchmarks.registry.PEERS")
                self.implementations[peer] = function
            return function

        return add

    def cases(self, quick: bool) -> tuple[Case, ...]:
        return self.quick if quick else self.full


_WORKLOADS: dict[str, Workload] = {}


def register(workload: Workload) -> Workload:
    """Make ``workload`` part of the run (called at import of its module)."""
    if workload.name in _WORKLOADS and _WORKLOADS[workload.name] is not workload:
        raise ValueError(f"workload {workload.name!r} is registered twice")
    _WORKLOADS[workload.name] = workload
    return workload


def all_workloads() -> list[Workload]:
    """Every workload module under ``benchmarks.workloads``, imported, in table order."""
    from . import workloads

    workloads.load_all()
    return sorted(_WORKLOADS.values(), key=lambda w: (w.order, w.name))


class Measurement:
    """What one implementation run records: start-up, the timed part, extra figures.

    ``startup()`` may be entered any number of times (the times add up); ``measure()`` exactly
    once.  With ``traced=True`` (the memory pass) ``measure()`` also records the bytes allocated
    and still held at its end (``bytes``) and the peak (``peak_bytes``), with tracemalloc.
    """

    def __init__(
        self,
        peer: str,
        case: Case,
        calibration: Mapping[str, Any],
        *,
        traced: bool = False,
        profiler: cProfile.Profile | None = None,
    ) -> None:
        self.peer = peer
        self.case = case
        self.calibration = calibration
        self.traced = traced
        self.profiler = profiler
        """Enabled for the timed part only (``python -m benchmarks.profile``)."""
        self.startup_s: float | None = None
        self.wall_s: float | None = None
        self.extras: dict[str, float] = {}

    @contextlib.contextmanager
    def startup(self) -> Iterator[None]:
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.startup_s = (self.startup_s or 0.0) + time.perf_counter() - begin

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        if self.wall_s is not None:
            raise RuntimeError("measure() is entered once per measurement")
        gc.collect()
        if self.traced:
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
        if self.profiler is not None:
            self.profiler.enable()
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.wall_s = time.perf_counter() - begin
            if self.profiler is not None:
                self.profiler.disable()
            if self.traced:
                current, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                self.extras["bytes"] = float(current - before)
                self.extras["peak_bytes"] = float(peak - before)
