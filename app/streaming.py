"""Run blocking generators on a few worker threads and consume them from async code, and send
Server-Sent Events.

Many streams share a small, fixed pool of threads (one by default: this work is small numpy calls
that hold the interpreter lock, so more threads add contention, not speed) that advance every open
generator in turn, one item at a time. A hundred streams thus get their first events within a few
items' time of each other, instead of a hundred threads fighting over the interpreter lock and
starving the event loop. The
event loop itself never runs numpy work. When a consumer goes away (a closed tab cancels the
response), its `finally` marks the job stopped and no worker advances it again. A consumer that
stops taking items (a client that reads nothing) holds at most MAX_PENDING of them: its job is set
aside until it catches up, so an unread stream costs a bounded amount of memory, not its whole race.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import StreamingResponse

log = logging.getLogger("descent.streams")

_END = object()


class Flush:
    """The type of FLUSH."""


FLUSH = Flush()  # yielded by a generator before slow work: what it produced so far goes out now


class WorkerError(Exception):
    """Yielded (not raised) when the worker's generator raised: the stream reports it and ends."""


FLUSH_SECONDS = 0.002  # items are handed to the event loop in batches at most this often...
NAP_SECONDS = 0.0002  # ...and then the worker sleeps this long, so the event loop can take the lock
MAX_PENDING = 8  # items a consumer may leave untaken before its job waits for it


@dataclass(eq=False)
class _Job:
    items: Iterator
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue
    stopped: threading.Event = field(default_factory=threading.Event)
    pending: int = 0  # items produced that the consumer has not taken yet


def _put_all(batches: dict[asyncio.Queue, list]) -> None:
    for queue, items in batches.items():
        queue.put_nowait(items)


class Workers:
    """A fixed pool of threads that advance many generators round robin, one item per turn.

    Numpy releases the interpreter lock around every call, and a thread that releases it every few
    microseconds keeps the others from ever getting it back: the switch interval never runs out for
    them (stalls of tens of milliseconds). So every couple of milliseconds the worker hands its items
    to the event loop in one batch and sleeps a fifth of a millisecond, long enough for a waiting
    event loop to take the lock.
    """

    def __init__(self, threads: int = 1, name: str = "descent-worker"):
        self._fresh: deque[_Job] = deque()  # not yet advanced: they go first, in order of arrival
        self._jobs: deque[_Job] = deque()  # the others, round robin
        self._waiting: set[_Job] = set()  # set aside until their consumers take what they have
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
            self._fresh.append(job)  # a new stream's first event comes first: time to first event
            self._cond.notify()
        return job

    def taken(self, job: _Job, count: int) -> None:
        """The consumer has taken `count` items: a job set aside goes on once half its backlog is taken."""
        with self._cond:
            job.pending -= count
            if job in self._waiting and job.pending <= MAX_PENDING // 2:
                self._resume(job)

    def release(self, job: _Job) -> None:
        """The consumer has gone: the job is dropped at its next turn."""
        job.stopped.set()
        with self._cond:
            if job in self._waiting:
                self._resume(job)

    def _resume(self, job: _Job) -> None:
        self._waiting.discard(job)
        self._jobs.append(job)
        self._cond.notify()

    @property
    def jobs(self) -> int:
        """Jobs waiting for their next turn (the ones being advanced right now not counted)."""
        with self._cond:
            return len(self._fresh) + len(self._jobs)

    def _serve(self) -> None:
        outbox: list[tuple[_Job, object]] = []
        flushed = time.perf_counter()
        while True:
            with self._cond:
                idle = not self._fresh and not self._jobs
            if outbox and (idle or time.perf_counter() - flushed >= FLUSH_SECONDS):
                _flush(outbox)
                time.sleep(NAP_SECONDS)
                outbox, flushed = [], time.perf_counter()
            with self._cond:
                while not self._fresh and not self._jobs:
                    self._cond.wait()
                job = (self._fresh or self._jobs).popleft()
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
            except Exception as e:  # the client gets one line; the server's log the traceback
                log.exception("a stream failed")
                outbox += [(job, WorkerError(f"{type(e).__name__}: {e}")), (job, _END)]
                continue
            with self._cond:
                job.pending += 1
                if job.pending >= MAX_PENDING and not job.stopped.is_set():
                    self._waiting.add(job)
                else:
                    self._jobs.append(job)
                    self._cond.notify()


def _flush(outbox: list[tuple[_Job, object]]) -> None:
    """Hand what was produced to the event loops: one wake-up per loop, one list per consumer."""
    by_loop: dict[asyncio.AbstractEventLoop, dict[asyncio.Queue, list]] = {}
    for job, item in outbox:
        by_loop.setdefault(job.loop, {}).setdefault(job.queue, []).append(item)
    for loop, batches in by_loop.items():
        if not loop.is_closed():
            loop.call_soon_threadsafe(_put_all, batches)


WORKERS = Workers()


async def in_thread(items: Iterator, workers: Workers = WORKERS) -> AsyncIterator[list]:
    """Iterate `items` on the worker pool. Yields lists of its items (a WorkerError in place of an
    exception), each what came together; an empty list when nothing came for PING_SECONDS."""
    queue: asyncio.Queue = asyncio.Queue()
    job = workers.submit(items, asyncio.get_running_loop(), queue)
    try:
        while True:
            batch = await next_or_ping(queue)
            workers.taken(job, len(batch))
            if batch and batch[-1] is _END:  # nothing comes after it
                if len(batch) > 1:
                    yield batch[:-1]
                return
            yield batch
    finally:
        workers.release(job)


# --- Server-Sent Events ---------------------------------------------------------------------------

PING_SECONDS = 15.0  # an idle stream sends a comment this often: proxies keep it open


async def next_or_ping(queue: asyncio.Queue):
    """The queue's next item, or [] when none comes within PING_SECONDS."""
    try:
        async with asyncio.timeout(PING_SECONDS):
            return await queue.get()
    except TimeoutError:
        return []


# What an endpoint returning an EventStream declares in OpenAPI: one item per event.
EVENT_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events",
        "content": {
            "text/event-stream": {
                "itemSchema": {
                    "type": "object",
                    "properties": {"event": {"type": "string"}, "data": {"type": "string"}},
                    "required": ["event", "data"],
                }
            }
        },
    }
}


class EventStream(StreamingResponse):
    """text/event-stream from batches of (event, JSON text) pairs: a batch goes out in one write,
    an empty batch as a keep-alive comment. The JSON must be on one line (orjson's always is).

    FastAPI's EventSourceResponse costs two extra tasks and two memory streams per response and a
    timeout scope per event; on a 2-core machine that put a third on the time to first event of
    a hundred simultaneous streams (bench/load.py)."""

    media_type = "text/event-stream"

    def __init__(self, batches: AsyncIterator[list[tuple[str, str]]]):
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        super().__init__(_encode(batches), headers=headers)


async def _encode(batches: AsyncIterator[list[tuple[str, str]]]) -> AsyncIterator[bytes]:
    async for batch in batches:
        if batch:
            yield "".join(f"event: {name}\ndata: {data}\n\n" for name, data in batch).encode()
        else:
            yield b": ping\n\n"
