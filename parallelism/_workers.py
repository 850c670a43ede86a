"""Backends: where admitted task calls run, and how their completions come back to the loop.

The loop (``_scheduler.py``) talks to a backend through three calls: :meth:`Backend.start` one
admitted task, :meth:`Backend.wait` for completions, and :meth:`Backend.close`.

* :class:`LocalBackend`: worker processes (``_processes``), one task at a time each, each with its
  own pipe and sentinel, so a crash is pinned to exactly the task that worker was running and a
  replacement starts when the next task needs one; and worker threads (``_threads``).  ``wait``
  blocks in one selector (epoll) on the worker pipes, their sentinels and the threads' wake-up
  pipe, with a timeout only when a task has a deadline: no polling, no sleeping.
  A task past its ``timeout`` is stopped here (its worker process killed, or its thread abandoned)
  and reported as failed with ``TaskTimeoutError``.
* :class:`InlineBackend`: every call runs in the caller's thread when the loop waits, in a valid
  order, so pdb and profilers work; process calls still go through pickling
  (:func:`~parallelism._calls.call_pickled`), so their semantics are exactly a worker's.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import multiprocessing
import os
import select
import selectors
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from . import _wire
from ._calls import Reply, call_live, call_pickled, pack_exception
from ._errors import TaskTimeoutError, UnpicklableArgumentError, WorkerCrashedError
from ._graph import Graph, TaskKind, TaskSpec
from ._log import LOGGER, handle_forwarded
from ._processes import ProcessWorker, Queued, crash_message, function_blob, stop_workers
from ._serialize import Frames, Value, apply_steps, loads
from ._task import resolve_function
from ._threads import ThreadPool, other_threads_exist
from ._values import substitute

__all__ = ["Backend", "Completion", "InlineBackend", "LocalBackend"]


class Completion(NamedTuple):
    """A finished call as the loop sees it: the value as a :class:`Value`, or a live exception.

    ``started`` and ``elapsed`` are ``None`` when the worker never reported (it crashed).
    """

    key: int
    ok: bool
    value: Value | None
    error: BaseException | None
    traceback: str | None
    started: float | None
    elapsed: float | None
    finished: float
    pid: int
    tid: int
    next_key: int | None = None
    """A task handed ahead to the same worker, which started it right after this one."""
    requeue: tuple[int, ...] = ()
    """Tasks handed ahead to a worker that died: they never started, and are ready again."""
    unchain: tuple[int, ...] = ()
    """Tasks chained behind a task in ``requeue``: they wait for their input again."""
    logs_after: tuple[dict[str, Any], ...] = ()
    """Log records a worker sent after this completion, to handle once the loop has reported it.

    A task chained behind this one may already be running and logging; its records must not be
    printed before this task's own line.
    """


_AHEAD_DEPTH = 8
"""Tasks a busy worker may have queued behind its current one (sent in one batch)."""
_QUICK_TASK = 0.001
"""A worker whose last task ran less than this (seconds) gets up to ``_AHEAD_DEPTH`` queued."""
_SLOW_TASK = 0.02
"""A worker whose last task ran this long or longer gets none queued; in between, one."""
_THREAD_AHEAD_DEPTH = 32
"""Calls handed ahead per worker thread: a thread task costs the loop so little that a deeper
queue, refilled less often, saves more loop rounds than it risks."""
_AHEAD_BYTES = 32 * 1024
"""A task handed ahead is written into the worker's pipe at once only up to this size."""


class Backend(Protocol):
    """Where admitted tasks run.

    A backend may also offer ``room_ahead() -> int`` and ``start(spec, values, ahead=True)``: it
    then accepts plain process tasks queued behind busy workers (``_state.hand_ahead``), and
    reports when one starts (``Completion.next_key``) or must go back (``Completion.requeue``).
    """

    def start(self, spec: TaskSpec, values: dict[int, Value]) -> None:
        """Start one admitted task; ``values`` holds the values of its dependencies by key."""

    def wait(self, timeout: float | None) -> list[Completion]:
        """Block until a started task completes (or ``timeout`` seconds pass); what completed."""

    def close(self, *, force: bool) -> None:
        """Stop every worker; ``force`` stops running work instead of waiting for it."""


def thread_completion(reply: Reply, pid: int, next_key: int | None = None) -> Completion:
    """A thread call's reply: the value and the exception are the live objects."""
    key, ok, data, traceback, started, elapsed, finished, tid = reply
    if ok:
        return Completion(
            key, True, Value(obj=data), None, None, started, elapsed, finished, pid, tid, next_key
        )  # fmt: skip
    return Completion(
        key, False, None, data, traceback, started, elapsed, finished, pid, tid, next_key
    )  # fmt: skip


def process_completion(
    reply: Reply | tuple[Any, ...], frames: Frames | None, pid: int, next_key: int | None = None
) -> Completion:
    """A process call's reply: the value stays pickled (frames); the exception is rebuilt.

    ``reply`` may be the plain tuple of a :class:`Reply`'s fields, as it comes through the pipe
    (its ``data`` is in ``frames``).  ``frames`` is ``None`` for a value its worker kept (a
    chain): the caller never holds it.
    """
    key, ok, _, traceback, started, elapsed, finished, tid = reply
    if ok:
        return Completion(
            key, True, None if frames is None else Value(data=frames), None, None,
            started, elapsed, finished, pid, tid, next_key,
        )  # fmt: skip
    assert frames is not None
    error: BaseException = loads(frames)
    return Completion(
        key, False, None, error, traceback, started, elapsed, finished, pid, tid, next_key
    )  # fmt: skip


def failed_completion(key: int, error: BaseException, started: float | None = None) -> Completion:
    """A task that failed without a reply: crashed, timed out, or could not be handed over."""
    now = time.time()
    text = pack_exception(error)[1] if error.__traceback__ is not None else None
    return Completion(key, False, None, error, text, started, None, now, os.getpid(), 0)


def thread_resolver(
    graph: Graph, spec: TaskSpec, values: dict[int, Value]
) -> Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]:
    """What a worker thread calls to get a thread task's arguments with the values filled in."""
    assert spec.args is not None and spec.kwargs is not None
    args, kwargs = spec.args, spec.kwargs
    if not spec.deps:
        return lambda: (args, kwargs)
    name = spec.name

    def value_of(deferred: Any) -> Any:
        source, steps = deferred._steps()
        return apply_steps(values[graph.key_of(source, name)].live(), steps)

    return lambda: (substitute(args, value_of), substitute(kwargs, value_of))


def pickled_inputs(spec: TaskSpec, values: dict[int, Value]) -> dict[int, Frames]:
    """The dependency values a process task needs, pickled (a thread task's value may not pickle)."""
    try:
        return {dep: value.pickled() for dep, value in values.items()}
    except Exception as error:
        raise UnpicklableArgumentError(
            f"process task {spec.name!r}: the value of one of its dependencies cannot be pickled "
            f"to send it to a worker process ({type(error).__name__}: {error})"
        ) from error


def timeout_error(spec: TaskSpec, what: str) -> TaskTimeoutError:
    """``'f' ran longer than its timeout of 2 s; <what>``."""
    return TaskTimeoutError(f"{spec.name!r} ran longer than its timeout of {spec.timeout:g} s; {what}")


class LocalBackend:
    """Worker processes and threads on this machine (the default backend)."""

    def __init__(self, graph: Graph, processes: int, threads: int, start_method: str) -> None:
        self._graph = graph
        self._context = multiprocessing.get_context(start_method)
        self._log_level = LOGGER.getEffectiveLevel()
        self._workers: list[ProcessWorker] = []
        self._idle: list[ProcessWorker] = []
        self._registered: set[ProcessWorker] = set()
        self._blobs: dict[int, bytes] = {}
        self._numbered = 0
        self._threads: ThreadPool[Reply] = ThreadPool(max(1, threads))
        self._pid = os.getpid()
        self._thread_deadlines: dict[int, float] = {}
        self._timeouts = any(spec.timeout is not None for spec in graph.specs)
        """Whether any task of the run has a timeout (if not, waiting watches no clock)."""
        self._done: list[Completion] = []
        # One selector for the whole run (worker pipes and sentinels are added as workers start):
        # building a new one for every wait, as multiprocessing.connection.wait does, costs more
        # than a tiny task.
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._threads.wake_read, selectors.EVENT_READ, None)
        self._outbox: dict[ProcessWorker, list[tuple[Any, Frames]]] = {}
        self._keeping: dict[int, ProcessWorker] = {}
        """Task started with ``keep`` -> its worker, until a dependent is chained behind it."""
        self._kept: set[int] = set()
        """Tasks whose value stays in their worker: their completion carries no value."""
        if start_method == "forkserver":
            # The server imports the worker code once; each worker it forks then has it already.
            self._context.set_forkserver_preload(["__main__", "parallelism._processes"])
        # Start the workers the run will need at once, in parallel, rather than one by one as
        # tasks arrive: the first tasks then start together (and in recording order).
        wanted = 0
        for spec in graph.specs:
            if wanted == processes:
                break
            if spec.kind is TaskKind.PROCESS:
                wanted += 1
        for _ in range(wanted):
            self._idle.append(self._new_worker())

    # -- start ---------------------------------------------------------------------------------

    def start(
        self,
        spec: TaskSpec,
        values: dict[int, Value],
        ahead: bool = False,
        *,
        keep: bool = False,
        after: int | None = None,
    ) -> None:
        """Start a task, or hand it ahead to a busy worker.

        ``keep``: the worker keeps the value, for the dependent that is chained behind it next.
        ``after``: chain this task behind that one (which was started with ``keep``), in the same
        worker, taking its value there; ``values`` then holds only its other inputs.
        """
        function = self._graph.functions[spec.function_key]
        if spec.kind is TaskKind.THREAD:
            key = spec.key
            # A partial, not a closure: one Python frame less per thread task.
            call = functools.partial(
                call_live, key, function, thread_resolver(self._graph, spec, values), spec.is_async
            )
            if ahead:
                self._threads.submit_ahead(key, call)
                return
            self._threads.submit(key, call)
            if spec.timeout is not None:
                self._thread_deadlines[key] = time.monotonic() + spec.timeout
            return
        if after is not None:
            chained_to = self._keeping.pop(after, None)
            if chained_to is None:
                return  # its input never reached a worker: it fails, and this is cancelled with it
            worker = chained_to
        try:
            inputs = pickled_inputs(spec, values)
        except UnpicklableArgumentError as error:
            # It reaches no worker: what the loop chains behind it finds no worker keeping its
            # value (``_keeping``), and is cancelled when this failure is reported.
            self._done.append(failed_completion(spec.key, error))
            return
        if after is None:
            worker = self._busiest_queue_shortest() if ahead else self._idle_worker()
        if keep:
            self._keeping[spec.key] = worker
            self._kept.add(spec.key)
        blob = None
        if spec.function_key not in worker.functions:
            blob = self._function_blob(spec.function_key, function)
            worker.functions.add(spec.function_key)
        dep_keys = list(inputs)
        frames = [frame for dep in dep_keys for frame in inputs[dep]]
        message = (
            "run", spec.key, spec.function_key, blob, spec.payload, dep_keys,
            [len(inputs[dep]) for dep in dep_keys], spec.is_async, spec.timeout is not None,
            () if after is None else (after,), keep,
        )  # fmt: skip
        if not ahead and after is None:
            worker.running = spec.key
            worker.started_at = None
            self._send(worker, message, frames)
            return
        # Small messages go into the worker's pipe now (it reads them when it is free); a large
        # one waits here, so that writing it can never block the loop while the worker is busy.
        size = len(spec.payload or b"")
        if frames:
            size += sum(memoryview(f).nbytes for f in frames)
        small = size <= _AHEAD_BYTES
        send_now = small and (not worker.queued or worker.queued[-1].sent)  # keep the order
        if send_now:
            self._send(worker, message, frames)
        worker.queued.append(Queued(spec.key, message, frames, send_now, after))

    def can_chain(self) -> bool:
        """This backend runs a dependent in the worker that holds its input (``start(after=)``)."""
        return True

    def room_ahead(self) -> tuple[int, int]:
        """How many plain (process, thread) tasks may be handed ahead now.

        None of a kind while one of its workers is idle.  A worker's queue is refilled only once
        it is half empty, so that tasks go in batches (one write for several) rather than one
        write per finished task; and it is as deep as its last task was quick (:func:`_depth`).
        """
        threads = self._threads.room_ahead(_THREAD_AHEAD_DEPTH)
        if self._idle or not self._workers:
            return 0, threads
        processes = 0
        for worker in self._workers:
            depth = _depth(worker)
            if worker.running is not None and len(worker.queued) <= depth // 2:
                processes += depth - len(worker.queued)
        return processes, threads

    def _busiest_queue_shortest(self) -> ProcessWorker:
        """The busy worker with room ahead and the fewest tasks queued (this runs per task).

        Room is a bound, not a promise: a task handed ahead may bring a chained dependent into
        the same queue, so the room :meth:`room_ahead` counted can run out before every task it
        was counted for is placed; those go to the shortest queue.
        """
        best: ProcessWorker | None = None
        best_rank = (True, 0)
        for worker in self._workers:
            if worker.running is None:
                continue
            queued = len(worker.queued)
            rank = (queued >= _depth(worker), queued)
            if best is None or rank < best_rank:
                best, best_rank = worker, rank
        assert best is not None, "a task was handed ahead with no busy worker"
        return best

    def _send(self, worker: ProcessWorker, message: Any, frames: Frames) -> None:
        """Queue a message for the worker; :meth:`_flush` writes each worker's queue at once."""
        self._outbox.setdefault(worker, []).append((message, frames))

    def _flush(self) -> None:
        """Write every queued message: several small ones to a worker go as one batch (one write).

        If a worker died just now, writing fails, and its sentinel reports the crash.
        """
        outbox, self._outbox = self._outbox, {}
        for worker, messages in outbox.items():
            with contextlib.suppress(OSError):
                if len(messages) > 1 and all(_wire.is_small(frames) for _, frames in messages):
                    batch = [(message, [bytes(f) for f in frames]) for message, frames in messages]
                    _wire.send(worker.conn, ("batch", batch))
                else:
                    for message, frames in messages:
                        _wire.send(worker.conn, message, frames)

    def _idle_worker(self) -> ProcessWorker:
        """An idle live worker, or a new one (a worker that died while idle is just replaced)."""
        while self._idle:
            worker = self._idle.pop(0)
            if worker.is_alive():
                return worker
            self._retire(worker)
            worker.release()
        return self._new_worker()

    def _new_worker(self) -> ProcessWorker:
        self._numbered += 1
        context = self._context
        if context.get_start_method() == "fork" and other_threads_exist():
            # A worker started mid-run (a replacement) while threads exist: fork is no longer safe.
            context = multiprocessing.get_context("forkserver")
        worker = ProcessWorker(context, self._log_level, self._numbered)
        self._workers.append(worker)
        self._selector.register(worker.conn, selectors.EVENT_READ, (worker, True))
        self._selector.register(worker.sentinel, selectors.EVENT_READ, (worker, False))
        self._registered.add(worker)
        return worker

    def _function_blob(self, function_key: int, function: Callable[..., Any]) -> bytes:
        blob = self._blobs.get(function_key)
        if blob is None:
            blob = self._blobs[function_key] = function_blob(function)
        return blob

    # -- wait ----------------------------------------------------------------------------------

    def wait(self, timeout: float | None) -> list[Completion]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done and not self._threads.done:
            self._flush()
            now = time.monotonic()
            if self._timeouts:
                self._enforce_timeouts(now)
                if self._done:
                    break
                limit = self._next_deadline(deadline)
            else:
                limit = deadline
            for selected, _ in self._selector.select(None if limit is None else max(0.0, limit - now)):
                if selected.data is None:
                    _drain(self._threads.wake_read)
                    continue
                worker, is_pipe = selected.data
                if worker not in self._workers:
                    continue  # retired earlier in this round (its pipe and sentinel both fired)
                if is_pipe:
                    self._receive(worker)
                else:
                    self._reap(worker)
            if deadline is not None and time.monotonic() >= deadline:
                break
        self._flush()
        done, self._done = self._done, []
        threads_done = self._threads.done
        while threads_done:
            reply, following = threads_done.popleft()
            completion = thread_completion(reply, self._pid, following)
            if self._timeouts:
                self._thread_deadlines.pop(completion.key, None)
                timeout = None if following is None else self._graph.specs[following].timeout
                if following is not None and timeout is not None:
                    self._thread_deadlines[following] = time.monotonic() + timeout
            done.append(completion)
        # A thread that found nothing ahead went idle; a call handed ahead just after it would
        # wait for a thread that is not coming: give it back to the loop, to start it normally.
        # (That thread's own completion is always in this batch or a later one.)
        if done and (stranded := self._threads.take_back_ahead()):
            done[-1] = done[-1]._replace(requeue=done[-1].requeue + tuple(stranded))
        return done

    def _next_deadline(self, run_deadline: float | None) -> float | None:
        deadlines = [d for d in self._thread_deadlines.values()]
        for worker in self._workers:
            spec = self._graph.specs[worker.running] if worker.running is not None else None
            if spec is not None and spec.timeout is not None and worker.started_at is not None:
                deadlines.append(worker.started_at + spec.timeout)
        if run_deadline is not None:
            deadlines.append(run_deadline)
        return min(deadlines) if deadlines else None

    def _enforce_timeouts(self, now: float) -> None:
        """Stop every task past its deadline and report it as timed out."""
        for key, deadline in list(self._thread_deadlines.items()):
            if now >= deadline:
                del self._thread_deadlines[key]
                self._threads.abandon(key)
                spec = self._graph.specs[key]
                failed = failed_completion(key, timeout_error(spec, "its thread was abandoned"))
                # Calls handed ahead might have waited for that thread: give them back.
                requeued = tuple(self._threads.take_back_ahead(all_of_them=True))
                self._done.append(failed._replace(requeue=requeued))
        for worker in list(self._workers):
            if worker.running is None or worker.started_at is None:
                continue
            spec = self._graph.specs[worker.running]
            if spec.timeout is not None and now >= worker.started_at + spec.timeout:
                worker.kill()
                self._retire(worker)
                worker.release()
                failed = failed_completion(spec.key, timeout_error(spec, "its worker process was killed"))
                self._done.append(self._with_requeue(failed, worker))

    def _receive(self, worker: ProcessWorker) -> None:
        """Read everything the worker has sent; a broken pipe means it died."""
        try:
            worker.reader.fill()
            for message, frames in worker.reader.messages():
                self._handle(worker, message, frames)
        except (EOFError, OSError):
            self._reap(worker)

    def _handle(self, worker: ProcessWorker, message: Any, frames: Frames) -> None:
        kind = message[0]
        if kind == "log":
            if self._done:  # completions the loop has not reported yet: keep the order
                last = self._done[-1]
                self._done[-1] = last._replace(logs_after=(*last.logs_after, message[1]))
            else:
                handle_forwarded(message[1])
        elif kind == "started":
            worker.started_at = time.monotonic()
        else:
            reply = message[1]  # a Reply's fields, as a plain tuple
            key, ok = reply[0], reply[1]
            value_frames: Frames | None = frames
            if key in self._kept:
                self._kept.remove(key)
                if ok:
                    value_frames = None  # its worker kept it for the task chained behind it
            worker.started_at = None
            worker.last_elapsed = reply[5]
            if not ok:
                self._drop_chained(worker, key)
            next_key = None
            if worker.queued:
                following = worker.queued.popleft()
                if not following.sent:
                    self._send(worker, following.message, following.frames)
                worker.running = next_key = following.key
            else:
                worker.running = None
                self._idle.append(worker)
            self._done.append(process_completion(reply, value_frames, worker.pid, next_key))

    def _reap(self, worker: ProcessWorker) -> None:
        """The worker's sentinel fired or its pipe broke: fail its task, forget the worker."""
        if worker not in self._workers:
            return
        if worker.is_alive():  # the pipe broke but the process lives on: it is unusable
            worker.kill()
        worker.process.join()
        try:  # a reply it sent before dying is still a reply
            for message, frames in worker.reader.messages():
                self._handle(worker, message, frames)
            while _readable(worker.conn):
                worker.reader.fill()
                for message, frames in worker.reader.messages():
                    self._handle(worker, message, frames)
        except (EOFError, OSError):
            pass
        self._retire(worker)
        if worker.running is not None:
            spec = self._graph.specs[worker.running]
            error = WorkerCrashedError(
                f"{spec.name!r} failed: {crash_message(worker.process.exitcode)} while running it"
            )
            self._done.append(self._with_requeue(failed_completion(spec.key, error), worker))
        worker.release()

    def _with_requeue(self, completion: Completion, worker: ProcessWorker) -> Completion:
        """The tasks queued behind a worker that is gone never started: they go back to ready.

        Except those chained behind the task that failed with it: they are cancelled with it.
        """
        self._drop_chained(worker, completion.key)
        if not worker.queued:
            return completion
        for entry in worker.queued:
            self._kept.discard(entry.key)
            self._keeping.pop(entry.key, None)
        requeue = tuple(entry.key for entry in worker.queued if entry.after is None)
        unchain = tuple(entry.key for entry in worker.queued if entry.after is not None)
        worker.queued.clear()
        return completion._replace(requeue=requeue, unchain=unchain)

    def _drop_chained(self, worker: ProcessWorker, failed: int) -> None:
        """Take out of the worker's queue what is chained behind ``failed`` (and behind those).

        The worker skips them itself (their input is not there); the loop cancels them when it
        learns of the failure.  The others chained further down the queue wait for inputs that
        are requeued with the worker's death (``Completion.unchain``).
        """
        self._kept.discard(failed)
        self._keeping.pop(failed, None)
        gone = {failed}
        remaining: collections.deque[Queued] = collections.deque()
        for entry in worker.queued:
            if entry.after in gone:
                gone.add(entry.key)
                self._kept.discard(entry.key)
                self._keeping.pop(entry.key, None)
            else:
                remaining.append(entry)
        worker.queued = remaining

    def _retire(self, worker: ProcessWorker) -> None:
        """Forget a worker (it is dead or being killed); the next task starts a new one."""
        if worker in self._workers:
            self._workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        if worker in self._registered:
            self._registered.discard(worker)
            self._selector.unregister(worker.conn)
            self._selector.unregister(worker.sentinel)

    # -- close ---------------------------------------------------------------------------------

    def close(self, *, force: bool) -> None:
        self._outbox.clear()
        workers = list(self._workers)
        for worker in workers:
            self._retire(worker)
        try:
            stop_workers(workers, force=force)
        finally:
            self._selector.close()
            self._threads.close(wait=not force)


def _depth(worker: ProcessWorker) -> int:
    """How many tasks may wait in ``worker``'s queue, from how long its last task ran.

    Queued tasks are the worker's alone: a worker that finishes early cannot take them, so the
    run's last tasks may wait behind a slower worker while the other is idle.  That costs
    little when tasks are quick, and a queue then saves the worker a round trip through the loop
    per task; for slow tasks the round trip is nothing and the balance is everything.  A worker
    that has finished nothing yet gets none: eight equal 0.2 s tasks on two workers, queued
    four and four before anything ran, took 2-3% longer than with a shared queue.
    """
    elapsed = worker.last_elapsed
    if elapsed is None or elapsed >= _SLOW_TASK:
        return 0
    return _AHEAD_DEPTH if elapsed < _QUICK_TASK else 1


def _readable(conn: Any) -> bool:
    """Whether ``conn`` has data (or EOF) to read now: one cheap system call."""
    return bool(select.select([conn], [], [], 0)[0])


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except BlockingIOError:
        pass


class InlineBackend:
    """Runs every call in the caller's thread, one at a time, when the loop waits for it.

    A call cannot be stopped from the thread that runs it: a task past its ``timeout`` runs to its
    end and is then failed with ``TaskTimeoutError``, the outcome it would have had elsewhere.
    """

    def __init__(self, graph: Graph) -> None:
        self._graph = graph
        self._queue: list[tuple[TaskSpec, dict[int, Value]]] = []

    def start(self, spec: TaskSpec, values: dict[int, Value]) -> None:
        self._queue.append((spec, values))

    def wait(self, timeout: float | None) -> list[Completion]:
        if not self._queue:
            return []
        spec, values = self._queue.pop(0)
        completion = self._run(spec, values)
        if spec.timeout is not None and (completion.elapsed or 0.0) > spec.timeout:
            error = timeout_error(spec, "it ran inline, so it could not be stopped before its end")
            completion = completion._replace(ok=False, value=None, error=error, traceback=None)
        return [completion]

    def _run(self, spec: TaskSpec, values: dict[int, Value]) -> Completion:
        function = resolve_function(self._graph.functions[spec.function_key])
        if spec.kind is TaskKind.THREAD:
            resolve = thread_resolver(self._graph, spec, values)
            return thread_completion(call_live(spec.key, function, resolve, spec.is_async), os.getpid())
        try:
            inputs = pickled_inputs(spec, values)
        except UnpicklableArgumentError as error:
            return failed_completion(spec.key, error)
        assert spec.payload is not None
        reply = call_pickled(spec.key, function, spec.payload, inputs, spec.is_async)
        return process_completion(reply, reply.data, os.getpid())

    def close(self, *, force: bool) -> None:
        self._queue.clear()
