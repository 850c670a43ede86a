"""Tasks used by test_log in a subprocess (importable by worker processes)."""

from __future__ import annotations

import logging

from parallelism import process


@process
def chatty(n: int) -> int:
    logging.getLogger("parallelism.user").info("hello %d", n)
    return n
