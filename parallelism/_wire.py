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
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection
from typing import Any

from ._serialize import PROTOCOL, Frames

__all__ = ["INLINE_LIMIT", "Reader", "is_small", "receive", "send"]


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
    _read_into(fd, memoryview(buffer))
    return buffer


def _read_into(fd: int, view: memoryview) -> None:
    """Fill ``view`` from the pipe with ``readv``: the bytes land in place, never copied."""
    done, size = 0, len(view)
    while done < size:
        got = os.readv(fd, [view[done:]])
        if got == 0:
            raise EOFError("the pipe closed in the middle of a frame")
        done += got


def _read_exactly(fd: int, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = os.read(fd, count - len(data))
        if not chunk:
            raise EOFError("the pipe closed in the middle of a message")
        data += chunk
    return data


class Reader:
    """The caller's end of a worker pipe: one read for all the messages that are there.

    ``Connection.recv_bytes`` costs two reads per message (length, then body); a worker that
    finishes tiny tasks back to back sends many small messages, which this reads with one
    ``os.read`` and splits here.  Large frames are still read straight into their own buffer.
    Reads block only to finish a message whose first bytes have arrived.
    """

    _CHUNK = 1 << 16
    """Read at most this much at a time; a message larger than this is read to its end at once."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._start = 0
        self._landing = bytearray(self._CHUNK)
        """Where each read lands: ``os.read`` would allocate (and map, and shrink) a new
        chunk-sized object for every read, several system calls per read for a few bytes."""
        self._landed = memoryview(self._landing)

    def fill(self) -> None:
        """Read what the pipe has now (call it when it is readable); EOFError when it closed."""
        got = os.readv(self._fd, [self._landing])
        if not got:
            raise EOFError("the worker's pipe closed")
        if self._start:
            del self._buffer[: self._start]
            self._start = 0
        self._buffer += self._landed[:got]

    def messages(self) -> Iterator[tuple[Any, Frames]]:
        """Every whole message in the buffer, one at a time (reading on for a message's frames).

        A generator, so that a message is handled before the next one is parsed: if the pipe
        breaks in the middle of the next, the ones before it still count.
        """
        while True:
            body = self._take_record()
            if body is None:
                return
            message, inline, sizes = pickle.loads(body)
            if inline is not None:
                yield message, inline
            else:
                yield message, [self._read_frame(size) for size in sizes]

    def _take_record(self) -> bytes | None:
        """The next ``send_bytes`` record if all of it is buffered, else ``None``."""
        buffer, start = self._buffer, self._start
        available = len(buffer) - start
        if available < 4:
            return None
        (length,) = struct.unpack_from("!i", buffer, start)
        header = 4
        if length == -1:
            if available < 12:
                return None
            (length,) = struct.unpack_from("!Q", buffer, start + 4)
            header = 12
        if available < header + length:
            if header + length > self._CHUNK:  # a big message: read the rest of it now
                self._read_rest(header + length - available)
                return self._take_record()
            return None
        body = bytes(buffer[start + header : start + header + length])
        self._start = start + header + length
        return body

    def _read_rest(self, missing: int) -> None:
        while missing > 0:
            data = os.read(self._fd, missing)
            if not data:
                raise EOFError("the pipe closed in the middle of a message")
            self._buffer += data
            missing -= len(data)

    def _read_frame(self, size: int) -> bytearray:
        """One frame record of ``size`` bytes: what is buffered, then the rest read in place."""
        head = self._exactly(4)
        (length,) = struct.unpack("!i", head)
        if length == -1:
            (length,) = struct.unpack("!Q", self._exactly(8))
        if length != size:
            raise OSError(f"frame of {length} bytes where {size} were announced")
        frame = bytearray(size)
        view = memoryview(frame)
        buffered = min(size, len(self._buffer) - self._start)
        view[:buffered] = self._buffer[self._start : self._start + buffered]
        self._start += buffered
        _read_into(self._fd, view[buffered:])
        return frame

    def _exactly(self, count: int) -> bytes:
        available = len(self._buffer) - self._start
        if available < count:
            self._read_rest(count - available)
        data = bytes(self._buffer[self._start : self._start + count])
        self._start += count
        return data
