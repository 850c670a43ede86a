"""The default start method: fork while the caller is single-threaded, forkserver otherwise.

Each case runs in a fresh interpreter, whose threads are only the ones the case makes (the test
process has pytest's and other tests' threads).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="threads are counted in /proc")

BLOCKS_AFTER_THREAD_TASKS = textwrap.dedent(
    """
    import collections, logging, threading
    from parallelism import scheduler, thread
    from parallelism._scheduler import default_start_method

    logging.getLogger("parallelism").setLevel(logging.WARNING)

    @thread
    def one() -> int:
        return 1

    chosen = collections.Counter()
    for _ in range(60):
        with scheduler(processes=1, threads=2):
            one(), one()
        # The pool's threads have been joined: only this thread is left.
        chosen[default_start_method()] += 1
    print(dict(chosen))

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    print(default_start_method())
    release.set()
    other.join()
    """
)


def test_a_block_after_thread_tasks_still_forks_and_another_thread_prevents_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKS_AFTER_THREAD_TASKS],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    after_blocks, with_a_thread = done.stdout.splitlines()
    # Pool threads that were joined but had not yet left the OS's list made about one choice
    # in four forkserver.
    assert after_blocks == "{'fork': 60}"
    assert with_a_thread == "forkserver"
