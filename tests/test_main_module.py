"""Functions, lambdas, closures, classes and exceptions defined in the caller's ``__main__``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import dataclasses, sys
    from parallelism import process, thread, scheduler

    class MyError(Exception):
        pass

    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    @process
    def make_point(x: int) -> Point:
        return Point(x, x + 1)

    @process
    def fails(message: str) -> None:
        raise MyError(message)

    @thread
    def norm(p: Point) -> int:
        return p.x * p.x + p.y * p.y

    def main(method: str) -> None:
        offset = 10
        shift = process(lambda p: Point(p.x + offset, p.y))
        with scheduler(processes=2, threads=1, start_method=method):
            point = make_point(3)
            shifted = shift(point)
            size = norm(shifted)
            failure = fails("from main")
        assert isinstance(point.result(), Point), type(point.result())
        assert shifted.result() == Point(13, 4)
        assert size.result() == 13 * 13 + 16
        try:
            failure.result()
        except MyError as error:
            assert str(error) == "from main"
        else:
            raise AssertionError("MyError was not raised")
        print("ok", method)

    if __name__ == "__main__":
        main(sys.argv[1])
    """
)


@pytest.mark.parametrize("method", ["forkserver", "spawn", "fork"])
def test_main_module_objects_work_in_process_tasks(tmp_path: os.PathLike[str], method: str) -> None:
    script = os.path.join(tmp_path, "pipeline.py")
    with open(script, "w") as file:
        file.write(SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    done = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", script, method],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ok {method}"
