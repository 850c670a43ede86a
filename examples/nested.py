"""A task that runs a pipeline of its own: nested runs.

``split_and_sum`` reserved two process slots (``processes=2``) beyond its own, so the outer
scheduler keeps them free for it while it runs, and it opens its own ``scheduler`` inside its
worker process. If the outer run is interrupted (Ctrl-C, SIGTERM), the inner run's workers are
stopped with it: nothing is left behind.

Run it with ``python examples/nested.py``.
"""

from __future__ import annotations

from parallelism import process, scheduler


@process
def partial_sum(lo: int, hi: int) -> int:
    """Sum of squares in [lo, hi): runs in a worker of the inner run."""
    return sum(i * i for i in range(lo, hi))


@process(processes=2)
def split_and_sum(n: int) -> int:
    """Split [0, n) in four and sum the parts on the two process slots reserved for it."""
    step = n // 4
    with scheduler(processes=2, threads=1):
        parts = [partial_sum(k * step, (k + 1) * step if k < 3 else n) for k in range(4)]
    return sum(part.result() for part in parts)


@process
def check(total: int, n: int) -> bool:
    """Compare with the closed form."""
    return total == (n - 1) * n * (2 * n - 1) // 6


def main() -> None:
    with scheduler(processes=3, threads=1) as result:
        totals = [split_and_sum(n) for n in (10_000, 20_000)]
        checks = [check(t, n) for t, n in zip(totals, (10_000, 20_000), strict=True)]
    print("totals:", [t.result() for t in totals])
    print("checks:", [c.result() for c in checks])
    print("elapsed:", {name: round(t, 4) for name, t in result.elapsed_time.items()})


if __name__ == "__main__":
    main()
