"""Seeing a run: the quickstart pipeline with a progress bar, then every output of ``parallelism.observe``.

Run it with ``python examples/observe.py [DIRECTORY]`` (default: a new temporary directory).  It
writes, and prints the paths of:

* ``trace.json``: the timeline, for https://ui.perfetto.dev or ``chrome://tracing``;
* ``run.html``: one self-contained page (Gantt chart and summary) for any browser;
* ``graph.mmd`` and ``graph.dot``: the task graph as Mermaid and Graphviz DOT text;
* ``summary.txt``: the table that ``print(result.summary())`` shows.
"""

from __future__ import annotations

import logging
import pathlib
import sys
import tempfile

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


def main(argv: list[str]) -> None:
    out = pathlib.Path(argv[1]) if len(argv) > 1 else pathlib.Path(tempfile.mkdtemp(prefix="parallelism-"))
    out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("parallelism").setLevel(logging.WARNING)  # the bar instead of a line per task

    with scheduler(processes=2, threads=2, progress=True) as result:
        counts = [count_primes(i * 10_000, (i + 1) * 10_000) for i in range(8)]
        for i, count in enumerate(counts):
            save(f"chunk{i}", count)
        grand = total(counts)  # type: ignore[arg-type, unused-ignore]  # list of Deferreds: list[int]
    print("total:", grand.result())

    summary = result.summary()
    print(summary)
    (out / "summary.txt").write_text(summary + "\n", encoding="utf-8")
    result.to_chrome_trace(out / "trace.json")
    result.to_html(out / "run.html")
    (out / "graph.mmd").write_text(result.graph.to_mermaid(), encoding="utf-8")
    (out / "graph.dot").write_text(result.graph.to_dot(), encoding="utf-8")
    result.raise_for_failures()  # nothing failed, so nothing is raised

    print(f"\nwritten to {out}:")
    print(f"  {out / 'trace.json'}  open in https://ui.perfetto.dev (or chrome://tracing)")
    print(f"  {out / 'run.html'}    open in a browser (works offline)")
    print(f"  {out / 'graph.mmd'}   Mermaid: paste into a ```mermaid block or https://mermaid.live")
    print(f"  {out / 'graph.dot'}   Graphviz: dot -Tsvg graph.dot -o graph.svg")
    print(f"  {out / 'summary.txt'}")


if __name__ == "__main__":
    main(sys.argv)
