"""Requests that compute for a long while (tuning tools, path exports, model uploads) run on a few
threads of their own. FastAPI runs every plain `def` endpoint on one shared pool of 40 threads: sixty
seed-band requests once held all of them, and `GET /` waited 27 s for a thread. Here at most `THREADS`
heavy requests compute at once and `QUEUE` more wait; past that a request gets 429 at once, and
pages, registry answers and run controls always find a thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
from fastapi import HTTPException

T = TypeVar("T")

THREADS = 2  # one per core of a small machine: numpy work, one BLAS thread each
QUEUE = 8  # heavy requests that may wait for a thread
BUSY: dict[int | str, dict[str, Any]] = {
    429: {"description": "too many long computations are running or waiting; try again shortly"}
}


class Gate:
    """Admission and threads for heavy work; used from the event loop only."""

    def __init__(self, threads: int = THREADS, queue: int = QUEUE):
        self._limiter = anyio.CapacityLimiter(threads)
        self.capacity = threads + queue
        self.admitted = 0

    async def run(self, fn: Callable[..., T], *args) -> T:
        """fn(*args) on one of the gate's threads, or a 429 when `capacity` requests are in already."""
        if self.admitted >= self.capacity:
            raise HTTPException(
                429, f"{self.admitted} long computations are running or waiting; try again in a moment"
            )
        self.admitted += 1
        try:
            return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)
        finally:
            self.admitted -= 1


HEAVY = Gate()
