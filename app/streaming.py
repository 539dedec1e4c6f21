"""Run a blocking generator in a worker thread and consume it from async code.

The event loop never runs numpy work: a daemon thread iterates the generator and hands each item to
the loop (`call_soon_threadsafe`). When the consumer goes away (a closed tab cancels the response),
the `finally` sets the stop event and the worker quits before its next item.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

from threadpoolctl import threadpool_limits

_END = object()


class WorkerError(Exception):
    """Yielded (not raised) when the worker's generator raised: the stream reports it and ends."""


async def in_thread(items: Iterator, name: str = "descent-worker") -> AsyncIterator:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def put(item) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def work() -> None:
        try:
            with threadpool_limits(1):  # one BLAS thread per worker (see README)
                for item in items:
                    if stop.is_set():
                        break
                    put(item)
        except Exception as e:  # reported to the client, never a traceback
            put(WorkerError(f"{type(e).__name__}: {e}"))
        finally:
            put(_END)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        while (item := await queue.get()) is not _END:
            yield item
    finally:
        stop.set()
