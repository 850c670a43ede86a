"""Messages on a worker pipe: a small pickled header, then raw frames.

Large values travel as *frames*: the pickle stream of a value and its protocol-5 out-of-band
buffers (a NumPy array's memory, a ``bytearray``), each written with ``send_bytes`` straight from
the producer's memory and read with ``recv_bytes_into`` into a buffer allocated once at its final
size.  So a value crosses a pipe with no copy beyond pickling, and arrays arrive writable.

A header is ``(message, inline, sizes)``: any small picklable message, then either the frames
themselves (``inline``, when they are small: one write and one read for the whole message, which is
what tiny tasks need) or the byte sizes of the frames that follow as messages of their own.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from ._serialize import PROTOCOL, Frames

__all__ = ["INLINE_LIMIT", "is_small", "receive", "send"]


INLINE_LIMIT = 64 * 1024
"""Frames adding up to at most this many bytes travel inside the header."""


def is_small(frames: Sequence[Any]) -> bool:
    """Whether these frames travel inside their message's header."""
    return sum(memoryview(frame).nbytes for frame in frames) <= INLINE_LIMIT


def send(conn: Connection, message: Any, frames: Sequence[Any] = ()) -> None:
    """Send ``message`` and ``frames`` (large frames are written as they are, without a copy)."""
    sizes = [memoryview(frame).nbytes for frame in frames]
    if sum(sizes) <= INLINE_LIMIT:
        conn.send_bytes(pickle.dumps((message, [bytes(frame) for frame in frames], None), PROTOCOL))
        return
    conn.send_bytes(pickle.dumps((message, None, sizes), PROTOCOL))
    for frame in frames:
        conn.send_bytes(frame)


def receive(conn: Connection) -> tuple[Any, Frames]:
    """Receive one message and its frames (large ones each a writable ``bytearray``)."""
    message, inline, sizes = pickle.loads(conn.recv_bytes())
    if inline is not None:
        return message, inline
    frames: Frames = []
    for size in sizes:
        buffer = bytearray(size)
        if size:
            conn.recv_bytes_into(buffer)
        else:
            conn.recv_bytes()
        frames.append(buffer)
    return message, frames
