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
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

_END = object()
FLUSH = object()  # yielded by a generator before slow work: what it produced so far goes out now


class WorkerError(Exception):
    """Yielded (not raised) when the worker's generator raised: the stream reports it and ends."""


FLUSH_SECONDS = 0.002  # items are handed to the event loop in batches at most this often...
NAP_SECONDS = 0.0002  # ...and then the worker sleeps this long, so the event loop can take the lock


@dataclass(eq=False)
class _Job:
    items: Iterator
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue
    stopped: threading.Event = field(default_factory=threading.Event)


def _put_all(entries: list[tuple[asyncio.Queue, object]]) -> None:
    for queue, item in entries:
        queue.put_nowait(item)


class Workers:
    """A fixed pool of threads that advance many generators round robin, one item per turn.

    Numpy releases the interpreter lock around every call, and a thread that releases it every few
    microseconds keeps the others from ever getting it back: the switch interval never runs out for
    them (stalls of tens of milliseconds). So every couple of milliseconds the worker hands its items
    to the event loop in one batch and sleeps a fifth of a millisecond, long enough for a waiting
    event loop to take the lock.
    """

    def __init__(self, threads: int = 1, name: str = "descent-worker"):
        self._jobs: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}-{i}", daemon=True) for i in range(threads)
        ]
        self._started = False

    def submit(self, items: Iterator, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> _Job:
        job = _Job(items, loop, queue)
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
        outbox: list[tuple[_Job, object]] = []
        flushed = time.perf_counter()
        while True:
            with self._cond:
                idle = not self._jobs
            if outbox and (idle or time.perf_counter() - flushed >= FLUSH_SECONDS):
                _flush(outbox)
                time.sleep(NAP_SECONDS)
                outbox, flushed = [], time.perf_counter()
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
                if item is FLUSH:
                    _flush(outbox)
                    outbox, flushed = [], time.perf_counter()
                else:
                    outbox.append((job, item))
            except StopIteration:
                outbox.append((job, _END))
                continue
            except Exception as e:  # reported to the client, never a traceback
                outbox += [(job, WorkerError(f"{type(e).__name__}: {e}")), (job, _END)]
                continue
            with self._cond:
                self._jobs.append(job)
                self._cond.notify()


def _flush(outbox: list[tuple[_Job, object]]) -> None:
    """Hand a batch of items to their event loops: one wake-up per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list] = {}
    for job, item in outbox:
        by_loop.setdefault(job.loop, []).append((job.queue, item))
    for loop, entries in by_loop.items():
        if not loop.is_closed():
            loop.call_soon_threadsafe(_put_all, entries)


WORKERS = Workers()


async def in_thread(items: Iterator, workers: Workers = WORKERS) -> AsyncIterator:
    """Iterate `items` on the worker pool; yields its items (or a WorkerError) as they come."""
    queue: asyncio.Queue = asyncio.Queue()
    job = workers.submit(items, asyncio.get_running_loop(), queue)
    try:
        while (item := await queue.get()) is not _END:
            yield item
    finally:
        job.stopped.set()
