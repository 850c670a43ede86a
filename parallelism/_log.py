"""The ``parallelism`` logger: the seed's messages, levels and format, and nothing at import.

The library never configures logging when imported (no handler, not even a ``NullHandler``, no
level).  While a run is active and neither the ``parallelism`` logger nor the root logger has a
handler, :func:`fallback_handler` attaches one stderr handler with the seed's format at INFO, so a
plain script prints what the seed shows; an application that configured logging gets every record
once, through its own handlers.

Records are built in the loop's thread but carry the PID and TID of whoever did the work: the
worker process and its thread for a process task, the worker thread for a thread task (see
:func:`emit`).  That is how a process task's line reaches the caller's handlers with the child's PID.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = [
    "LOGGER",
    "SEED_FORMAT",
    "cancelled_for_dependencies",
    "cancelled_for_lack",
    "emit",
    "fallback_handler",
    "format_duration",
    "handle_forwarded",
    "ran",
    "record_fields",
]

LOGGER = logging.getLogger("parallelism")
SEED_FORMAT = "%(asctime)s [%(levelname)s] [%(name)s:%(process)d:%(thread)d] - %(message)s"

# (upper bound in seconds, seconds per unit, unit name); the last unit has no upper bound.
_UNITS: tuple[tuple[float, float, str], ...] = (
    (1e-6, 1e-9, "nanosecond"),
    (1e-3, 1e-6, "microsecond"),
    (1.0, 1e-3, "millisecond"),
    (60.0, 1.0, "second"),
    (3600.0, 60.0, "minute"),
    (86400.0, 3600.0, "hour"),
    (604800.0, 86400.0, "day"),
    (float("inf"), 604800.0, "week"),
)
_HUNDREDTH = Decimal("0.01")


def format_duration(seconds: float) -> str:
    """``2.5 microseconds``, ``1 second``: the seed's duration wording.

    The unit is chosen by magnitude; the value is rounded half-up to two decimals with trailing
    zeros dropped; the unit is singular only when the shown value is exactly 1.  A value that
    rounds up to the next unit's size (999.999 ms) is shown in the next unit (1 second).
    """
    seconds = max(0.0, seconds)
    for index, (bound, size, unit) in enumerate(_UNITS):
        if seconds >= bound:
            continue
        shown, name = _round_half_up(seconds / size), unit
        next_unit = _UNITS[index + 1] if index + 1 < len(_UNITS) else None
        if next_unit is not None and shown * Decimal(repr(size)) >= Decimal(repr(bound)):
            shown, name = _round_half_up(seconds / next_unit[1]), next_unit[2]
        text = format(shown.normalize(), "f")
        return f"{text} {name}" if shown == 1 else f"{text} {name}s"
    raise AssertionError("unreachable: the last unit has no bound")  # pragma: no cover


def _round_half_up(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_HUNDREDTH, rounding=ROUND_HALF_UP)


def ran(name: str, seconds: float, error: BaseException | None = None) -> str:
    """``'p1' ran approximately 2.5 microseconds`` (``- ZeroDivisionError(...)`` on failure)."""
    line = f"{name!r} ran approximately {format_duration(seconds)}"
    return line if error is None else f"{line} - {error!r}"


def _plural(count: int, noun: str) -> str:
    return (
        f"{count} {noun}" if count == 1 else f"{count} {noun}es" if noun == "process" else f"{count} {noun}s"
    )


def cancelled_for_lack(name: str, lack_processes: int, lack_threads: int) -> str:
    """``'p3' is being canceled, due to lack of 1 process and also 2 threads``."""
    parts = []
    if lack_processes:
        parts.append(_plural(lack_processes, "process"))
    if lack_threads:
        parts.append(_plural(lack_threads, "thread"))
    return f"{name!r} is being canceled, due to lack of {' and also '.join(parts)}"


def cancelled_for_dependencies(name: str, causes: Sequence[str]) -> str:
    """``'t3' is being canceled, due to task 'p3'`` (``both tasks``, ``tasks 'a', 'b', and 'c'``)."""
    quoted = [repr(cause) for cause in causes]
    if len(quoted) == 1:
        return f"{name!r} is being canceled, due to task {quoted[0]}"
    if len(quoted) == 2:
        return f"{name!r} is being canceled, due to both tasks {quoted[0]} and {quoted[1]}"
    return f"{name!r} is being canceled, due to tasks {', '.join(quoted[:-1])}, and {quoted[-1]}"


def emit(
    level: int,
    message: str,
    *,
    pid: int,
    tid: int,
    created: float | None = None,
    exc_text: str | None = None,
) -> None:
    """Log ``message`` on the ``parallelism`` logger as if it came from process ``pid``, thread ``tid``.

    The loop builds every task line itself (so the printed order never contradicts the graph) but
    the record must say who did the work.  ``created`` is the wall-clock time of the event, when it
    happened elsewhere (a worker finished a moment before the loop heard of it).
    """
    if not LOGGER.isEnabledFor(level):
        return
    record = LOGGER.makeRecord(LOGGER.name, level, __file__, 0, message, (), None)
    record.process = pid
    record.thread = tid
    if created is not None:
        record.created = created
        record.msecs = (created - int(created)) * 1000
        record.relativeCreated = (created - logging._startTime) * 1000  # type: ignore[attr-defined]
    if exc_text is not None:
        record.exc_text = exc_text
    LOGGER.handle(record)


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """A log record as plain picklable fields, to be handled in another process.

    The message is formatted here (its arguments may not pickle) and an exception becomes its
    text.
    """
    fields = dict(record.__dict__)
    fields["msg"] = record.getMessage()
    fields["args"] = None
    if record.exc_info:
        fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
    fields["exc_info"] = None
    return fields


def handle_forwarded(fields: dict[str, Any]) -> None:
    """Handle here a record a worker logged (:func:`record_fields`), as if logged here."""
    record = logging.makeLogRecord(fields)
    logger = logging.getLogger(record.name)
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)


def has_configured_handlers() -> bool:
    """Whether the application gave ``parallelism`` (or anything it propagates to) a handler."""
    logger: logging.Logger | None = LOGGER
    while logger is not None:
        if logger.handlers:
            return True
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


@contextlib.contextmanager
def fallback_handler() -> Iterator[None]:
    """During a run, print the seed's lines on stderr when the application configured nothing.

    The handler is attached to ``parallelism`` at INFO for the run only, and removed when it ends;
    the logger's own level is left alone unless it is unset (NOTSET), in which case it is lowered
    to INFO for the run so that the seed's INFO lines show even though the root logger's default
    level is WARNING.
    """
    if has_configured_handlers():
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(SEED_FORMAT))
    handler.setLevel(logging.INFO)
    lowered = LOGGER.level == logging.NOTSET
    LOGGER.addHandler(handler)
    if lowered:
        LOGGER.setLevel(logging.INFO)
    try:
        yield
    finally:
        LOGGER.removeHandler(handler)
        if lowered:
            LOGGER.setLevel(logging.NOTSET)
