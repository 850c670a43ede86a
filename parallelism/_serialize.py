"""Pickling across the process boundary: calls with holes, values, exceptions.

A process task's arguments are pickled once, when the call is recorded (so an unpicklable argument
is reported at the line that passed it), with every Deferred replaced by a *hole*: a pickle
persistent id ``(key, steps)``.  At dispatch the worker gets those bytes and the pickled values of
the holes, and fills them while unpickling (:func:`loads_call`), so a value made by one process task
and consumed by another is never unpickled in the caller.

Plain ``pickle`` is tried first (it is several times faster); ``cloudpickle`` takes over for what
plain pickle cannot do or cannot do right: lambdas, closures, and anything defined in ``__main__``,
which a worker started by forkserver or spawn cannot import.
"""

from __future__ import annotations

import io
import pickle
import sys
import threading
from collections.abc import Callable, Container, Mapping
from typing import Any

import cloudpickle

__all__ = [
    "PROTOCOL",
    "Hole",
    "TopHole",
    "Value",
    "apply_steps",
    "Frames",
    "dumps",
    "dumps_call",
    "dumps_plain_call",
    "loads",
    "loads_call",
    "sole_owner",
]

PROTOCOL = 5
Step = tuple[Any, ...]
"""One placeholder step replayed on a value: ``("item", key)``, ``("attr", name)``, ``("call", a, kw)``."""
Frames = list[Any]
"""A pickled value: the pickle stream, then its protocol-5 out-of-band buffers (bytes-like)."""
Hole = tuple[int, tuple[Step, ...]]
"""Where a Deferred stood in a call: the key of the task whose value fills it, and the steps."""
TopHole = tuple[int | str, int, tuple[Step, ...]]
"""A Deferred passed as an argument itself: its position (or keyword), its key and steps."""

# Types whose pickle never refers to a module, so plain pickle is always right for them.
_PLAIN = frozenset({int, float, str, bytes, bool, type(None), complex})


def apply_steps(value: Any, steps: tuple[Step, ...]) -> Any:
    """Replay placeholder steps (the classic API's ``rv['k'].attr(...)``) on a task's value."""
    for step in steps:
        kind = step[0]
        if kind == "item":
            value = value[step[1]]
        elif kind == "attr":
            value = getattr(value, step[1])
        else:
            value = value(*step[1], **step[2])
    return value


def dumps(obj: Any) -> Frames:
    """Pickle ``obj`` for another process: ``[stream, *out_of_band_buffers]``.

    Plain pickle when it is safe, cloudpickle otherwise.  Protocol 5 hands large buffers (NumPy
    arrays, bytearrays) out of band, so they are sent from the object's own memory.
    """
    if type(obj) in _PLAIN:
        return [pickle.dumps(obj, PROTOCOL)]
    buffers: list[pickle.PickleBuffer] = []
    try:
        stream = pickle.dumps(obj, PROTOCOL, buffer_callback=buffers.append)
    except Exception:
        stream = b"__main__"  # fall through to cloudpickle below
    if b"__main__" in stream:
        # Plain pickle refers to __main__ by name, which a forkserver or spawn worker (or the
        # caller, for a value coming back) may resolve to another object: go by value instead.
        buffers.clear()
        stream = cloudpickle.dumps(obj, PROTOCOL, buffer_callback=buffers.append)
    return [stream, *(buffer.raw() for buffer in buffers)]


def loads(frames: Frames, *, copy: bool = True) -> Any:
    """The object :func:`dumps` pickled.

    Its out-of-band buffers are copied into writable memory unless they are writable
    ``bytearray``s already, or ``copy`` is false: the caller then vouches that nothing else will
    ever use the memory they point to (see :func:`sole_owner`), and the object takes it over.
    """
    buffers = [b if type(b) is bytearray else bytearray(b) for b in frames[1:]] if copy else frames[1:]
    return pickle.loads(frames[0], buffers=buffers)


def _refcount_of_fresh_local() -> int:
    value = object()
    return sys.getrefcount(value)


_FRESH_REFCOUNT = _refcount_of_fresh_local()
"""What ``sys.getrefcount(value)`` says of a local nothing else refers to (interpreter-specific)."""


def sole_owner(value: Any, refcount: int, frames: Frames) -> bool:
    """Whether ``frames`` may be unpickled without copying their buffer, once ``value`` is gone.

    ``refcount`` is ``sys.getrefcount(value)`` taken in the caller's frame the way
    :func:`_refcount_of_fresh_local` takes it, before ``value`` was pickled.  True only for the
    plain case that matters: the value is one object that owns its one out-of-band buffer (a
    NumPy array that is not a view) and nothing else refers to it.  Then a consumer that takes
    the buffer over cannot be observed sharing it: nothing else can see the original.
    """
    if refcount > _FRESH_REFCOUNT or len(frames) != 2:
        return False
    buffer = frames[1]
    return type(buffer) is memoryview and buffer.obj is value and getattr(value, "base", None) is None


class _HolePickler(cloudpickle.Pickler):
    """cloudpickle, with the Deferreds found by the recorder written as persistent ids."""

    def __init__(self, file: io.BytesIO, holes: Callable[[object], Hole | None]) -> None:
        super().__init__(file, PROTOCOL)
        self._holes = holes

    def persistent_id(self, obj: object) -> Hole | None:
        return self._holes(obj)


def dumps_call(
    args: tuple[Any, ...], kwargs: dict[str, Any], holes: Callable[[object], Hole | None] | None
) -> bytes:
    """Pickle a call's ``(args, kwargs)``, writing each Deferred as a hole (``holes(obj)``)."""
    if (
        holes is None
        and all(type(a) in _PLAIN for a in args)
        and all(type(v) in _PLAIN for v in kwargs.values())
    ):
        return dumps_plain_call(args, kwargs)
    buffer = io.BytesIO()
    _HolePickler(buffer, holes or _no_holes).dump((args, kwargs, ()))
    return buffer.getvalue()


def dumps_plain_call(
    args: tuple[Any, ...], kwargs: dict[str, Any], top_holes: tuple[TopHole, ...] = ()
) -> bytes:
    """Pickle a call with plain pickle: no Deferred in it, or only as arguments themselves.

    A call whose Deferreds are all arguments (``f(a, b=d)``, the common shape of a pipeline)
    needs no Pickler with persistent ids: the Deferreds are left out (``None`` in their place)
    and their places listed in ``top_holes``.
    """
    return pickle.dumps((args, kwargs, top_holes), PROTOCOL)


def _no_holes(obj: object) -> None:
    return None


class _HoleUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, values: Mapping[int, Frames], owned: Container[int]) -> None:
        super().__init__(io.BytesIO(data))
        self._values = values
        self._owned = owned
        self.loaded: dict[int, Any] = {}

    def persistent_load(self, pid: Any) -> Any:
        key, steps = pid
        if key not in self.loaded:
            self.loaded[key] = loads(self._values[key], copy=key not in self._owned)
        return apply_steps(self.loaded[key], steps)


def loads_call(
    data: bytes, values: Mapping[int, Frames], owned: Container[int] = ()
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Unpickle a call recorded by :func:`dumps_call`, filling its holes from ``values``.

    The values of the keys in ``owned`` take their buffers over instead of copying them
    (:func:`sole_owner`).  A placeholder step that raises propagates from here, failing the task
    that needed it.
    """
    if not values:
        args, kwargs, top_holes = pickle.loads(data)
        return args, kwargs
    unpickler = _HoleUnpickler(data, values, owned)
    args, kwargs, top_holes = unpickler.load()
    if top_holes:
        filled = list(args)
        loaded = unpickler.loaded
        for where, key, steps in top_holes:
            if key not in loaded:
                loaded[key] = loads(values[key], copy=key not in owned)
            value = apply_steps(loaded[key], steps)
            if type(where) is int:
                filled[where] = value
            else:
                kwargs[where] = value
        args = tuple(filled)
    return args, kwargs


_MAKING_LOCKS = threading.Lock()
"""Held only to give a :class:`Value` its own lock, the first time it is unpickled."""


class Value:
    """A task's value, held live, pickled, or both; each form is made once, when first needed.

    A process task's value arrives pickled and stays so while only process tasks consume it; a
    thread task's value is live and is pickled only if a process task consumes it.
    """

    __slots__ = ("_data", "_lock", "_obj")

    _MISSING: Any = object()

    def __init__(self, *, obj: Any = _MISSING, data: Frames | None = None) -> None:
        self._obj = obj
        self._data = data
        self._lock: threading.Lock | None = None
        """Made when the value is first unpickled (most values never are in the caller)."""

    def live(self) -> Any:
        """The value as an object (unpickled once, by whichever thread asks first)."""
        if self._obj is Value._MISSING:
            with self._guard():
                if self._obj is Value._MISSING:
                    assert self._data is not None
                    self._obj = loads(self._data)
        return self._obj

    def _guard(self) -> threading.Lock:
        """This value's lock, made the first time one is needed (a lock per task costs)."""
        lock = self._lock
        if lock is None:
            with _MAKING_LOCKS:
                if self._lock is None:
                    self._lock = threading.Lock()
                lock = self._lock
        return lock

    def pickled(self) -> Frames:
        """The value as frames for a worker process (pickled once; may raise if unpicklable)."""
        if self._data is None:
            self._data = dumps(self._obj)
        return self._data
