"""Messages on a worker pipe: a small pickled header, then raw frames.

Large values travel as *frames*: the pickle stream of a value and its protocol-5 out-of-band
buffers (a NumPy array's memory, a ``bytearray``), each written with ``send_bytes`` straight from
the producer's memory and read with ``readv`` into a buffer allocated once at its final size.

A header is ``(message, inline, sizes)``: any small picklable message, then either the frames
themselves (``inline``, when they are small: one write and one read for the whole message, which is
what tiny tasks need) or the byte sizes of the frames that follow as messages of their own.
"""

from __future__ import annotations

import os
import pickle
import struct
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
    return message, [_receive_into_new_buffer(conn, size) for size in sizes]


def _receive_into_new_buffer(conn: Connection, size: int) -> bytearray:
    """Read one ``send_bytes`` message of ``size`` bytes straight into a new buffer.

    ``Connection.recv_bytes`` (and ``recv_bytes_into``) gather the data in an ``io.BytesIO``
    first, which would copy a large value once more; this reads the same framing (a 4-byte
    length, or -1 and an 8-byte length beyond 2 GiB) into the final buffer with ``readv``.
    """
    fd = conn.fileno()
    (length,) = struct.unpack("!i", _read_exactly(fd, 4))
    if length == -1:
        (length,) = struct.unpack("!Q", _read_exactly(fd, 8))
    if length != size:
        raise OSError(f"frame of {length} bytes where {size} were announced")
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        got = os.readv(fd, [view[done:]])
        if got == 0:
            raise EOFError("the pipe closed in the middle of a frame")
        done += got
    return buffer


def _read_exactly(fd: int, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = os.read(fd, count - len(data))
        if not chunk:
            raise EOFError("the pipe closed in the middle of a message")
        data += chunk
    return data
