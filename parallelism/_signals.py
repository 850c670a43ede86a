"""SIGTERM during a run: clean up like Ctrl-C does, then end the way SIGTERM asks.

Python's default SIGTERM action kills the process on the spot, which would leave its worker
processes running.  While a run is active in the main thread, and only if the application has not
set a SIGTERM handler of its own, SIGTERM raises :class:`Terminated` in the loop instead; the loop
stops its workers and records what finished, then the previous handler is restored and the signal
is delivered again, so the process exits with the status SIGTERM implies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["Terminated", "sigterm_raises"]


class Terminated(BaseException):
    """SIGTERM arrived while a run was active (a BaseException, like KeyboardInterrupt)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated("SIGTERM")


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated`; escaping it, SIGTERM is re-delivered."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    except Terminated:
        signal.signal(signal.SIGTERM, previous)
        os.kill(os.getpid(), signal.SIGTERM)
        raise  # only reached if the signal is blocked
    finally:
        signal.signal(signal.SIGTERM, previous)
