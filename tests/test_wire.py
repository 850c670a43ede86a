"""The caller's buffered reader of worker pipes (``_wire.Reader``) against ``_wire.send``."""

from __future__ import annotations

import multiprocessing
import select
import threading
from typing import Any

import pytest

from parallelism import _wire


def _sent_and_read(messages: list[tuple[Any, list[bytes]]]) -> list[tuple[Any, list[bytes]]]:
    """Send ``messages`` from a thread through a pipe; read them back with a Reader."""
    ours, theirs = multiprocessing.Pipe(duplex=False)
    try:

        def write() -> None:
            for message, frames in messages:
                _wire.send(theirs, message, frames)
            theirs.close()

        writer = threading.Thread(target=write)
        writer.start()
        reader = _wire.Reader(ours.fileno())
        received: list[tuple[Any, list[bytes]]] = []
        try:
            while True:
                assert select.select([ours], [], [], 60)[0], "nothing came (deadlock detector)"
                reader.fill()
                received += [(m, [bytes(f) for f in frames]) for m, frames in reader.messages()]
        except EOFError:
            pass
        writer.join()
        return received
    finally:
        ours.close()


def test_many_small_messages_and_large_frames_arrive_whole_and_in_order() -> None:
    big = bytes(range(256)) * 1024  # 256 KB: beyond the inline limit, so sent as frames
    messages: list[tuple[Any, list[bytes]]] = [(("done", i), [b"x" * i]) for i in range(200)]
    messages.insert(50, (("done", "big"), [big, big[::-1]]))
    messages.append((None, []))
    assert _sent_and_read(messages) == messages


def test_a_message_larger_than_one_read_arrives_whole() -> None:
    payload = b"y" * (_wire.INLINE_LIMIT - 100)  # inline, in a header bigger than a pipe buffer
    messages: list[tuple[Any, list[bytes]]] = [(("log", n), [payload]) for n in range(40)]
    # A message itself larger than what the reader takes in one read: read to its end at once.
    messages.insert(7, (("log", "z" * (3 * _wire.Reader._CHUNK)), []))
    assert _sent_and_read(messages) == messages


def test_a_pipe_that_closes_reports_eof() -> None:
    ours, theirs = multiprocessing.Pipe(duplex=False)
    theirs.close()
    try:
        with pytest.raises(EOFError):
            _wire.Reader(ours.fileno()).fill()
    finally:
        ours.close()
