"""Optional engines behind the Backend protocol, each imported only when a run asks for it.

``import parallelism`` never imports this package's engines, nor what they need (dask,
distributed): ``scheduler(..., backend="dask")`` imports them when it is constructed, and that is
where a missing optional dependency is reported, with the ``pip install`` line that fixes it.

* ``dask`` (:mod:`parallelism.backends.dask`): process tasks on a dask.distributed cluster,
  thread tasks in threads of the caller's process.  Needs ``pip install "parallelism[dask]"``.
"""

from __future__ import annotations

from typing import Any

from .._errors import InvalidOptionError, ParallelismError

__all__ = ["MissingExtraError", "dask_options"]


class MissingExtraError(ParallelismError, ImportError):
    """A backend needs an optional dependency that is not installed; the message says what to install.

    It is an ``ImportError`` (what code written against a missing module expects) and a
    ``ParallelismError``.
    """


def dask_options(address: Any, client: Any, processes: int | None) -> dict[str, Any]:
    """Check ``scheduler(..., backend="dask")``'s own options; what the dask engine gets from them.

    Imports distributed (and so dask): this is the moment a missing extra is reported.
    """
    try:
        import distributed
    except ImportError as error:
        raise MissingExtraError(
            'backend="dask" needs dask.distributed, which cannot be imported here '
            f'({type(error).__name__}: {error}); install it with: pip install "parallelism[dask]"'
        ) from error
    if address is not None and client is not None:
        raise InvalidOptionError("give address= or client=, not both: client= is already connected somewhere")
    if address is not None and (type(address) is not str or not address):
        raise InvalidOptionError(
            f"address= must be a dask scheduler address such as 'tcp://host:8786', not {address!r}"
        )
    if client is not None and not isinstance(client, distributed.Client):
        raise InvalidOptionError(f"client= must be a distributed.Client, not {type(client).__name__}")
    return {"address": address, "client": client, "processes_given": processes is not None}
