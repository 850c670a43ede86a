"""Worker threads for thread tasks: calls in, completions out through a deque and a wake-up pipe.

The loop never blocks on a thread: a worker thread appends its completion to :attr:`done` and
writes one byte to the pool's wake-up pipe, which the loop waits on alongside the process pipes.

Threads cannot be killed.  A thread task past its timeout, or running when the run is
interrupted, is *abandoned*: its result is ignored when it comes, a replacement thread keeps the
pool at strength, and the thread is a daemon so it never keeps the interpreter alive.  After
:meth:`ThreadPool.close` no thread writes to the pipe again (the check and the write happen under
one lock), so the pipe can be closed and its descriptor numbers reused safely.
"""

from __future__ import annotations

import collections
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["ThreadPool", "other_threads_exist"]

C = TypeVar("C")

_joined: set[int] = set()
"""Native ids of pool threads that :meth:`ThreadPool.close` joined.

Joining returns once a thread has run its last Python code, but the OS lists it for a little
longer while it unwinds; counted as alive, it made a block that followed a block with thread
tasks choose forkserver over fork about one time in four."""


def other_threads_exist() -> bool:
    """Whether this process has a thread besides the calling one, as the OS counts them.

    Native threads count too (a BLAS pool): fork is unsafe with any of them.  Pool threads that
    were joined and are only unwinding do not.  ``True`` when it cannot tell.
    """
    try:
        listed = {int(name) for name in os.listdir("/proc/self/task")}
    except OSError:
        return True
    _joined.intersection_update(listed)  # the ids of threads gone may be reused: forget them
    return len(listed - _joined) > 1


class ThreadPool(Generic[C]):
    """Up to ``size`` worker threads (plus replacements for abandoned ones)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self.wake_read, self._wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        self._queue: queue.SimpleQueue[tuple[int, Callable[[], C]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False
        self._running: dict[int, float] = {}
        """Key -> time it was handed to a thread, for the tasks running now."""
        self._abandoned: set[int] = set()
        self._current: dict[threading.Thread, int] = {}
        """Which call each busy thread is running."""
        self._ahead: collections.deque[tuple[int, Callable[[], C]]] = collections.deque()
        """Calls handed ahead: a thread takes the next one as soon as it finishes a call."""
        self.done: collections.deque[tuple[C, int | None]] = collections.deque()
        """What each call returned, with the key of the call handed ahead that its thread then
        started (``None``: it took none)."""

    def submit(self, key: int, call: Callable[[], C]) -> None:
        """Run ``call`` in a thread; what it returns is appended to :attr:`done`."""
        with self._lock:
            self._running[key] = time.monotonic()
            allowed = self._size + len(self._abandoned)
            start_one = self._idle == 0 and len(self._threads) < allowed
            if not start_one:
                self._idle -= 1
            if start_one:
                worker = threading.Thread(
                    target=self._work,
                    name=f"parallelism-thread-{len(self._threads) + 1}",
                    daemon=True,
                )
                self._threads.append(worker)
        if start_one:
            worker.start()
        self._queue.put((key, call))

    def submit_ahead(self, key: int, call: Callable[[], C]) -> None:
        """Queue ``call`` for the next thread that finishes a call (never for an idle thread).

        No lock: a deque's append is atomic, and if every thread went idle just before, the
        call is given back by :meth:`take_back_ahead` (the lock would not prevent that race).
        """
        self._ahead.append((key, call))

    def room_ahead(self, depth: int) -> int:
        """How many calls may be handed ahead now: none while a thread is idle.

        Refilled once half empty, so that the loop hands several at a time.  Read without the
        lock, as :meth:`submit_ahead` writes: a stale answer only strands calls that
        :meth:`take_back_ahead` then gives back.
        """
        if self._idle > 0 or not self._threads or len(self._ahead) > depth * self._size // 2:
            return 0
        return depth * self._size - len(self._ahead)

    def take_back_ahead(self, *, all_of_them: bool = False) -> list[int]:
        """If a thread went idle while calls wait ahead, return them (they never started).

        ``all_of_them``: return them anyway (a thread was abandoned, so the one they wait for
        may never come).
        """
        if not self._ahead or (self._idle <= 0 and not all_of_them):
            # Read without the lock: the loop calls this after taking the completions of the
            # threads that went idle, and a thread counts itself idle before it adds its
            # completion, so an idle thread is never missed here.
            return []
        with self._lock:
            if not self._ahead or (self._idle <= 0 and not all_of_them):
                return []
            keys = [key for key, _ in self._ahead]
            self._ahead.clear()
            return keys

    def running_since(self, key: int) -> float | None:
        """``time.monotonic()`` when ``key`` was handed to a thread, if it is running."""
        return self._running.get(key)

    def abandon(self, key: int) -> None:
        """Forget a running call: its result will be dropped, and a new thread may take its place."""
        with self._lock:
            if self._running.pop(key, None) is not None:
                self._abandoned.add(key)

    def _work(self) -> None:
        item: tuple[int, Callable[[], C]] | None = None
        me = threading.current_thread()
        while True:
            if item is None:
                item = self._queue.get()
                if item is None:
                    return
            key, call = item
            self._current[me] = key
            completion = call()
            del call
            item = None
            with self._lock:
                self._current.pop(me, None)
                if self._closed:
                    return
                if key in self._abandoned:
                    self._abandoned.discard(key)
                    self._idle += 1
                    continue
                self._running.pop(key, None)
                next_key = None
                if self._ahead:  # move on at once to a call handed ahead
                    item = self._ahead.popleft()
                    next_key = item[0]
                    self._running[next_key] = time.monotonic()
                else:
                    self._idle += 1
                self.done.append((completion, next_key))
                # Wake the loop only if it may be waiting: it drains the deque before it waits
                # again, so a completion joining others that are already there needs no byte.
                if len(self.done) == 1:
                    os.write(self._wake_write, b"\0")

    def close(self, *, wait: bool) -> None:
        """Stop the threads and close the pipe; ``wait=False`` abandons running calls.

        With ``wait=True`` the threads are joined, except those still running an abandoned call
        (they are daemons, and exit silently when their call returns).
        """
        with self._lock:
            self._closed = True
            threads = list(self._threads)
            stuck = {t for t, key in self._current.items() if key in self._abandoned}
            self._threads.clear()
        for _ in threads:
            self._queue.put(None)
        if wait:
            for worker in threads:
                if worker not in stuck:
                    worker.join()
                    if worker.native_id is not None:
                        _joined.add(worker.native_id)
        with self._lock:
            os.close(self.wake_read)
            os.close(self._wake_write)
