"""Messages on a worker pipe: a small pickled header, then raw frames.

Large values travel as *frames*: the pickle stream of a value and its protocol-5 out-of-band
buffers (a NumPy array's memory, a ``bytearray``), each written with ``send_bytes`` straight from
the producer's memory and read with ``recv_bytes_into`` into a buffer allocated once at its final
size.  So a value crosses a pipe with no copy beyond pickling, and arrays arrive writable.

A header is ``(message, sizes)``: any small picklable message, and the byte sizes of the frames
that follow it.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from ._serialize import PROTOCOL, Frames

__all__ = ["receive", "send"]


def send(conn: Connection, message: Any, frames: Sequence[Any] = ()) -> None:
    """Send ``message`` and ``frames`` (each written as is, without a copy)."""
    sizes = [memoryview(frame).nbytes for frame in frames]
    conn.send_bytes(pickle.dumps((message, sizes), PROTOCOL))
    for frame in frames:
        conn.send_bytes(frame)


def receive(conn: Connection) -> tuple[Any, Frames]:
    """Receive one message and its frames (each a writable ``bytearray``)."""
    message, sizes = pickle.loads(conn.recv_bytes())
    frames: Frames = []
    for size in sizes:
        buffer = bytearray(size)
        if size:
            conn.recv_bytes_into(buffer)
        else:
            conn.recv_bytes()
        frames.append(buffer)
    return message, frames
