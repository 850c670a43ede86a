"""Quickstart: count primes in chunks on worker processes, save each count from a thread, total them.

Run it with ``python examples/quickstart.py``.
"""

from __future__ import annotations

from parallelism import process, scheduler, thread


@process
def count_primes(lo: int, hi: int) -> int:
    """How many primes lie in [lo, hi): CPU-bound, so it runs in a worker process."""
    return sum(1 for n in range(max(lo, 2), hi) if all(n % d for d in range(2, int(n**0.5) + 1)))


@thread
def save(name: str, value: int) -> str:
    """Pretend to store a count somewhere: I/O-bound, so it runs in a thread of this process."""
    return f"memory://{name}={value}"


@process
def total(counts: list[int]) -> int:
    """A fan-in: the list of Deferreds arrives as a list of ints."""
    return sum(counts)


def main() -> None:
    with scheduler(processes=2, threads=2) as result:
        counts = [count_primes(i * 10_000, (i + 1) * 10_000) for i in range(8)]
        paths = [save(f"chunk{i}", c) for i, c in enumerate(counts)]
        grand = total(counts)
    print("counts:", [c.result() for c in counts])
    print("saved: ", [p.result() for p in paths])
    print("total: ", grand.result())
    print(result)


if __name__ == "__main__":
    main()
