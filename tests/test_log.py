"""Logging: the seed's wording, levels and format; nothing configured at import; worker PIDs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

from parallelism._log import cancelled_for_dependencies, cancelled_for_lack, format_duration, ran


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (2.5e-6, "2.5 microseconds"),
        (1e-6, "1 microsecond"),
        (5e-10, "0.5 nanoseconds"),
        (1e-9, "1 nanosecond"),
        (0.0, "0 nanoseconds"),
        (3.14159e-3, "3.14 milliseconds"),
        (1.005, "1.01 seconds"),
        (1.0, "1 second"),
        (59.996, "1 minute"),
        (90.0, "1.5 minutes"),
        (3600.0, "1 hour"),
        (7200.0, "2 hours"),
        (86400.0 * 2, "2 days"),
        (604800.0 * 3, "3 weeks"),
        (0.9999999, "1 second"),
        (2.125e-6, "2.13 microseconds"),
    ],
)
def test_durations_use_the_seed_wording(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_task_lines_match_the_seed() -> None:
    assert ran("p1", 2.5e-6) == "'p1' ran approximately 2.5 microseconds"
    assert (
        ran("p2", 3.1e-6, ZeroDivisionError("division by zero"))
        == "'p2' ran approximately 3.1 microseconds - ZeroDivisionError('division by zero')"
    )
    assert (
        cancelled_for_lack("p3", 1, 2)
        == "'p3' is being canceled, due to lack of 1 process and also 2 threads"
    )
    assert cancelled_for_lack("x", 2, 0) == "'x' is being canceled, due to lack of 2 processes"
    assert cancelled_for_lack("x", 0, 1) == "'x' is being canceled, due to lack of 1 thread"
    assert cancelled_for_dependencies("t3", ["p3"]) == "'t3' is being canceled, due to task 'p3'"
    assert (
        cancelled_for_dependencies("j", ["a", "b"]) == "'j' is being canceled, due to both tasks 'a' and 'b'"
    )
    assert (
        cancelled_for_dependencies("j", ["a", "b", "c"])
        == "'j' is being canceled, due to tasks 'a', 'b', and 'c'"
    )


def _run(script: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_import_configures_nothing() -> None:
    done = _run(
        """
        import logging
        import parallelism
        logger = logging.getLogger("parallelism")
        assert logger.handlers == [], logger.handlers
        assert logger.level == logging.NOTSET
        assert logging.getLogger().handlers == []
        print("ok")
        """
    )
    assert done.stdout.strip() == "ok", done.stderr


PIPELINE = """
    import os
    from parallelism import process, thread, scheduler
    from tests.test_contract import square, divide, add
    if __name__ == "__main__":
        print("PARENT", os.getpid())
        with scheduler(processes=2, threads=1):
            a = square(2)
            b = divide(1, 0)
            c = add(b, 1)
"""
LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[(?P<level>[A-Z]+)\] "
    r"\[parallelism:(?P<pid>\d+):(?P<tid>\d+)\] - (?P<message>.*)$"
)


def test_a_plain_script_prints_the_seed_lines_on_stderr() -> None:
    done = _run(PIPELINE)
    assert done.returncode == 0, done.stderr
    parent = int(done.stdout.split()[1])
    lines = [LINE.match(line) for line in done.stderr.splitlines()]
    assert all(lines), done.stderr
    by_message = {m["message"].split(" ")[0]: m for m in lines if m}
    assert set(by_message) == {"'square'", "'divide'", "'add'"}
    square_line = by_message["'square'"]
    assert square_line["level"] == "INFO"
    assert re.fullmatch(r"'square' ran approximately [\d.]+ \w+", square_line["message"])
    assert int(square_line["pid"]) != parent  # the worker's PID
    divide_line = by_message["'divide'"]
    assert divide_line["level"] == "ERROR"
    assert divide_line["message"].endswith(" - ZeroDivisionError('division by zero')")
    add_line = by_message["'add'"]
    assert (add_line["level"], add_line["message"]) == (
        "INFO",
        "'add' is being canceled, due to task 'divide'",
    )
    assert int(add_line["pid"]) == parent


def test_an_application_that_configured_logging_sees_each_line_once() -> None:
    done = _run(
        PIPELINE.replace(
            "if __name__",
            "import logging, sys\n"
            "    logging.basicConfig(stream=sys.stdout, level=logging.INFO,"
            " format='%(name)s|%(levelname)s|%(message)s')\n"
            "    if __name__",
        )
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = [line for line in done.stdout.splitlines() if line.startswith("parallelism|")]
    assert len(lines) == 3
    assert sum(line.startswith("parallelism|INFO|'square' ran approximately") for line in lines) == 1
    assert "parallelism|ERROR|'divide' ran approximately" in "\n".join(lines)
    assert "parallelism|INFO|'add' is being canceled, due to task 'divide'" in lines


def test_a_process_tasks_own_log_records_reach_the_callers_handlers() -> None:
    done = _run(
        """
        import logging, os, sys
        from parallelism import process, scheduler
        logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                            format='%(name)s|%(process)d|%(message)s')
        from tests.test_log_tasks import chatty
        if __name__ == "__main__":
            print("PARENT", os.getpid())
            with scheduler(processes=1, threads=1):
                chatty(5)
        """
    )
    assert done.returncode == 0, done.stderr
    parent = done.stdout.split()[1]
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("parallelism.user|")]
    _, pid, message = line.split("|")
    assert message == "hello 5"
    assert pid != parent
