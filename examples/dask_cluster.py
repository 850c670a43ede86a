"""The quickstart pipeline on a dask.distributed cluster: the same tasks, one more argument.

Run it with ``python examples/dask_cluster.py`` (after ``pip install "parallelism[dask]"``): the
``scheduler`` starts a ``LocalCluster`` of 2 worker processes for the run and closes it at the end.
Process tasks run on the cluster's workers; thread tasks still run in threads of this process; the
counts travel from the workers that made them to the worker that totals them without passing
through here, and come back only because this script reads them.

On a real cluster, point the scheduler at its scheduler's address instead (the workers need
``parallelism`` installed; functions defined in this script travel to them by value)::

    ADDRESS = "tcp://scheduler-host:8786"
    with scheduler(threads=2, backend="dask", address=ADDRESS) as result:
"""

from __future__ import annotations

from parallelism import process, scheduler, thread


@process
def count_primes(lo: int, hi: int) -> int:
    """How many primes lie in [lo, hi): CPU-bound, so it runs on a cluster worker."""
    return sum(1 for n in range(max(lo, 2), hi) if all(n % d for d in range(2, int(n**0.5) + 1)))


@thread
def save(name: str, value: int) -> str:
    """Pretend to store a count somewhere: I/O-bound, so it runs in a thread of this process."""
    return f"memory://{name}={value}"


@process
def total(counts: list[int]) -> int:
    """A fan-in: the list of Deferreds arrives as a list of ints, straight from the other workers."""
    return sum(counts)


def main() -> None:
    # processes=2: a LocalCluster of 2 single-threaded workers, started and closed by this block.
    with scheduler(processes=2, threads=2, backend="dask") as result:
        counts = [count_primes(i * 10_000, (i + 1) * 10_000) for i in range(8)]
        paths = [save(f"chunk{i}", c) for i, c in enumerate(counts)]
        grand = total(counts)
    print("counts:", [c.result() for c in counts])
    print("saved: ", [p.result() for p in paths])
    print("total: ", grand.result())
    print(result)


if __name__ == "__main__":
    main()
