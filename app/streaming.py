"""Run blocking generators on a few worker threads and consume them from async code.

Many streams share a small, fixed pool of threads (one by default: this work is small numpy calls
that hold the interpreter lock, so more threads add contention, not speed) that advance every open
generator in turn, one item at a time. A hundred streams thus get their first events within a few
items' time of each other, instead of a hundred threads fighting over the interpreter lock and
starving the event loop. The
event loop itself never runs numpy work. When a consumer goes away (a closed tab cancels the
response), its `finally` marks the job stopped and no worker advances it again.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

_END = object()


class WorkerError(Exception):
    """Yielded (not raised) when the worker's generator raised: the stream reports it and ends."""


@dataclass(eq=False)
class _Job:
    items: Iterator
    deliver: Callable[[object], None]
    stopped: threading.Event = field(default_factory=threading.Event)


class Workers:
    """A fixed pool of threads that advance many generators round robin, one item per turn."""

    def __init__(self, threads: int = 1, name: str = "descent-worker"):
        self._jobs: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}-{i}", daemon=True) for i in range(threads)
        ]
        self._started = False

    def submit(self, items: Iterator, deliver: Callable[[object], None]) -> _Job:
        job = _Job(items, deliver)
        with self._cond:
            if not self._started:
                for thread in self._threads:
                    thread.start()
                self._started = True
            self._jobs.appendleft(job)  # a new stream's first event comes first: time to first event
            self._cond.notify()
        return job

    @property
    def jobs(self) -> int:
        """Jobs waiting for their next turn (the ones being advanced right now not counted)."""
        with self._cond:
            return len(self._jobs)

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._jobs:
                    self._cond.wait()
                job = self._jobs.popleft()
            if job.stopped.is_set():  # its consumer has gone: drop it
                if hasattr(job.items, "close"):
                    job.items.close()
                continue
            try:
                item = next(job.items)
            except StopIteration:
                job.deliver(_END)
                continue
            except Exception as e:  # reported to the client, never a traceback
                job.deliver(WorkerError(f"{type(e).__name__}: {e}"))
                job.deliver(_END)
                continue
            job.deliver(item)
            with self._cond:
                self._jobs.append(job)
                self._cond.notify()


WORKERS = Workers()


async def in_thread(items: Iterator, workers: Workers = WORKERS) -> AsyncIterator:
    """Iterate `items` on the worker pool; yields its items (or a WorkerError) as they come."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def deliver(item) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(queue.put_nowait, item)

    job = workers.submit(items, deliver)
    try:
        while (item := await queue.get()) is not _END:
            yield item
    finally:
        job.stopped.set()
