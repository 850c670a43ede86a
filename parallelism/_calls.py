"""Running one task call, the same way wherever it runs: worker process, worker thread, or inline.

Both functions here catch ``BaseException`` from the target, and only to report it: a task that
raises ``SystemExit`` or ``KeyboardInterrupt`` has failed, it has not stopped the worker.

* :func:`call_pickled` runs a process task: it unpickles the call (filling the holes with the
  values of its dependencies), calls the target and pickles the outcome.  Worker processes run it,
  and so does the inline backend, which is why inline process tasks behave exactly as in a worker
  (same copies, same pickling errors).
* :func:`call_live` runs a thread task on live objects, passed by reference.
"""

from __future__ import annotations

import asyncio
import datetime
import sys
import threading
import time
import traceback
from collections.abc import Callable, Container, Mapping
from typing import Any, NamedTuple

from ._errors import UnpicklableExceptionError, UnpicklableResultError
from ._serialize import Frames, dumps, loads, loads_call, sole_owner

__all__ = ["KeptValue", "Reply", "call_live", "call_pickled", "invoke", "pack_exception"]


class Reply(NamedTuple):
    """What a call reports back (as a plain tuple through a pipe, for process tasks).

    ``data`` is the pickled value (frames) on success and the pickled exception on failure, for
    process tasks; the value or the exception object itself for thread tasks.  ``started`` is the
    wall-clock time the target was about to be called (the seed's ``execution_time``);
    ``elapsed`` the seconds around the call.
    """

    key: int
    ok: bool
    data: Any
    traceback: str | None
    started: float
    elapsed: float
    finished: float
    tid: int


def invoke(function: Callable[..., Any], args: Any, kwargs: Any, is_async: bool) -> Any:
    """Call the target; an ``async def`` target is run to completion in a fresh event loop."""
    if is_async:
        return asyncio.run(function(*args, **kwargs))
    return function(*args, **kwargs)


def pack_exception(error: BaseException) -> tuple[Frames, str]:
    """Pickle an exception for the caller, with its formatted traceback.

    An exception that does not survive a pickle round trip (a custom ``__init__``, an unpicklable
    attribute) is replaced by :class:`UnpicklableExceptionError`, which keeps the type name and
    message; the traceback text is kept either way.
    """
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        data = dumps(error)
        loads(data)
    except Exception:
        kind = type(error)
        data = dumps(UnpicklableExceptionError(f"{kind.__module__}.{kind.__qualname__}", str(error)))
    return data, text


class KeptValue(NamedTuple):
    """A value a worker keeps for the dependent chained behind it (``Reply.data`` then).

    ``sole_owner``: that dependent may take the value's buffer over instead of copying it
    (:func:`~parallelism._serialize.sole_owner`).
    """

    frames: Frames
    sole_owner: bool


def call_pickled(
    key: int,
    function: Callable[..., Any],
    payload: bytes,
    values: Mapping[int, Frames],
    is_async: bool,
    *,
    owned: Container[int] = (),
    keep: bool = False,
) -> Reply:
    """Run a process task from its pickled call; the outcome comes back pickled.

    ``owned``: keys of ``values`` whose buffers the call may take over (``loads_call``).
    ``keep``: the value stays in this process for a chained dependent; ``data`` is then a
    :class:`KeptValue`.  It is pickled all the same, so a value that cannot be pickled fails the
    task exactly as it would if it had to travel.
    """
    started = time.time()
    begin = time.perf_counter()
    try:
        args, kwargs = loads_call(payload, values, owned)
        value = invoke(function, args, kwargs, is_async)
    except BaseException as error:  # a task's failure, whatever it raised: report it
        elapsed = time.perf_counter() - begin
        data, text = pack_exception(error)
        del error
        return Reply(key, False, data, text, started, elapsed, time.time(), threading.get_ident())
    elapsed = time.perf_counter() - begin
    refcount = sys.getrefcount(value)
    try:
        data = dumps(value)
    except Exception as error:
        failure = UnpicklableResultError(
            f"the return value (of type {type(value).__name__}) cannot be pickled back to the "
            f"caller: {type(error).__name__}: {error}"
        )
        data, text = pack_exception(failure)
        return Reply(key, False, data, text, started, elapsed, time.time(), threading.get_ident())
    finished, tid = time.time(), threading.get_ident()
    if keep:
        kept = KeptValue(data, sole_owner(value, refcount, data))
        return Reply(key, True, kept, None, started, elapsed, finished, tid)
    return Reply(key, True, data, None, started, elapsed, finished, tid)


def call_live(
    key: int,
    function: Callable[..., Any],
    resolve: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]],
    is_async: bool,
) -> Reply:
    """Run a thread task; ``resolve`` substitutes its dependencies' values into the arguments."""
    started = time.time()
    begin = time.perf_counter()
    try:
        args, kwargs = resolve()
        value = invoke(function, args, kwargs, is_async)
    except BaseException as error:  # a task's failure, whatever it raised: report it
        elapsed = time.perf_counter() - begin
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        return Reply(key, False, error, text, started, elapsed, time.time(), threading.get_ident())
    elapsed = time.perf_counter() - begin
    return Reply(key, True, value, None, started, elapsed, time.time(), threading.get_ident())


def timestamp_to_datetime(timestamp: float) -> datetime.datetime:
    """The seed's ``execution_time`` values are naive local datetimes."""
    return datetime.datetime.fromtimestamp(timestamp)
