"""Bounded memory: values are dropped once nothing can reach them; recording is linear."""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import sys
import textwrap
import tracemalloc

from parallelism import scheduler, thread
from tests.fault_tasks import value

CHAIN = textwrap.dedent(
    """
    import resource
    from parallelism import scheduler
    from tests.fault_tasks import grow

    SIZE = 50 * 1024 * 1024
    if __name__ == "__main__":
        with scheduler(processes=2, threads=1):
            last = None
            for i in range(30):
                last = grow(last, i, SIZE)
        value = last.result()
        assert len(value) == SIZE and value[0] == 29
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """
)


PAIRS = textwrap.dedent(
    """
    import resource, sys
    from parallelism import scheduler
    from tests.fault_tasks import first_byte, grow

    SIZE = int(sys.argv[1])
    if __name__ == "__main__":
        with scheduler(processes=2, threads=1):
            firsts = [first_byte(grow(None, i, SIZE)) for i in range(4)]
        assert [d.result() for d in firsts] == [0, 1, 2, 3]
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """
)


def _last_number_printed_by(script: str, *args: str) -> int:
    """Run ``script`` in a fresh interpreter (memory is measured per process) and read its answer."""
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def test_a_chain_of_large_values_runs_in_bounded_memory() -> None:
    peak_mb = _last_number_printed_by(CHAIN)
    # 30 values of 50 MB; keeping them all would need 1,500 MB.  Only the last one, which the
    # caller keeps, comes to the caller (the others stay in their worker, see the next test).
    assert peak_mb < 400, f"the caller peaked at {peak_mb} MB"


def test_a_value_only_its_one_consumer_needs_never_enters_the_caller() -> None:
    # Each 150 MB value is consumed by one process task and by nobody else: it stays in the
    # worker that made it (a chain).  Had one of them come through the caller, its peak would be
    # at least 150 MB above that of the same run with 1 KB values.
    small = _last_number_printed_by(PAIRS, str(1024))
    large = _last_number_printed_by(PAIRS, str(150 * 1024 * 1024))
    assert large - small < 60, f"the caller peaked at {large} MB, against {small} MB for small values"


def _recorded_bytes_per_task(count: int) -> float:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        try:
            with scheduler(processes=1, threads=1, backend="inline"):
                made = [value(i) for i in range(count)]
                after = tracemalloc.get_traced_memory()[0]
                raise LookupError("stop before running: only recording is measured")
        except LookupError:
            pass
        del made
    finally:
        tracemalloc.stop()
    return (after - before) / count


def test_recording_memory_is_small_and_linear() -> None:
    small = _recorded_bytes_per_task(2_000)
    large = _recorded_bytes_per_task(20_000)
    assert large < 1_500, f"{large:.0f} bytes per recorded task"
    assert large < 1.5 * small, f"not linear: {small:.0f} then {large:.0f} bytes per task"


def test_many_tiny_tasks_run_to_completion() -> None:
    with scheduler(processes=2, threads=2) as result:
        made = [value(i) for i in range(3_000)]
    assert sum(d.result() for d in made) == sum(range(3_000))
    assert len(result.execution_time) == 3_000
    assert result.raise_exception == {}


BIG = textwrap.dedent(
    """
    import resource
    from parallelism import scheduler
    from tests.fault_tasks import big_array

    SIZE = 200 * 1024 * 1024
    if __name__ == "__main__":
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with scheduler(processes=1, threads=1):
            made = big_array(SIZE)
        value = made.result()
        assert len(value) == SIZE and value[-1] == 7
        value[0] = 1  # it arrives writable
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
    """
)


def test_a_large_buffer_reaches_the_caller_with_no_copy_beyond_pickling() -> None:
    grown_mb = _last_number_printed_by(BIG)
    # The 200 MB are read once into the buffer the array then uses; one more copy anywhere (in a
    # message, in a read buffer, in unpickling) would need 400 MB.
    assert grown_mb < 300, f"the caller grew by {grown_mb} MB for a 200 MB array"


def test_the_cyclic_collector_is_paused_only_while_a_block_records() -> None:
    assert gc.isenabled()
    with scheduler(processes=1, threads=1, backend="inline"):
        assert not gc.isenabled()
        made = value(1)
    assert gc.isenabled() and made.result() == 1
    try:
        with scheduler(processes=1, threads=1, backend="inline"):
            raise LookupError("the body failed")
    except LookupError:
        pass
    assert gc.isenabled()
    gc.disable()
    try:  # a collector the application turned off stays off
        with scheduler(processes=1, threads=1, backend="inline"):
            value(2)
        assert not gc.isenabled()
    finally:
        gc.enable()


@thread
def collector_state() -> tuple[bool, int]:
    """Whether the cyclic collector runs, and how many objects it leaves frozen, during a run."""
    return gc.isenabled(), gc.get_freeze_count()


def test_the_recorded_heap_is_frozen_for_the_run_and_thawed_after() -> None:
    assert gc.get_freeze_count() == 0
    with scheduler(processes=1, threads=1):
        during = collector_state()
    enabled, frozen = during.result()
    assert enabled and frozen > 0, "the collector runs, and the recorded graph is left out of it"
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    with contextlib.suppress(LookupError), scheduler(processes=1, threads=1):
        collector_state()
        raise LookupError("a failing body runs nothing, and freezes nothing")
    assert gc.get_freeze_count() == 0


def test_what_the_application_froze_stays_frozen() -> None:
    gc.freeze()
    try:
        theirs = gc.get_freeze_count()
        with scheduler(processes=1, threads=1):
            during = collector_state()
        # Objects frozen by the application may die meanwhile; none of the run's joins them.
        enabled, frozen = during.result()
        assert enabled and 0 < frozen <= theirs
        assert 0 < gc.get_freeze_count() <= theirs, "the application's frozen objects were thawed"
    finally:
        gc.unfreeze()
