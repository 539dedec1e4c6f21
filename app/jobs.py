"""Batches of independent jobs (core/nn/sweeps.py specs) on a pool of worker processes: submit a list of
specs, poll for progress and results, cancel. In memory only.

The pool is any `concurrent.futures.Executor`, made by `executor_factory` on first use: by default a
`ProcessPoolExecutor` with one process per core (one BLAS thread each), or what $DESCENT_JOB_EXECUTOR
names. The manager hands it at most
one task per worker at a time, taking jobs in turn, so two jobs share the pool fairly, a cancelled
job's remaining specs never reach it, and a shutdown leaves at most one task per worker to finish.
It needs nothing but `submit(fn, spec)` and `shutdown(wait)`: an executor of Dask
(`distributed.Client(address).get_executor()`) or an adapter over Ray (`ray.remote(fn).remote(spec)
.future()`) replaces the pool without changing any caller.

A pool that breaks (a worker died) is set aside, and the next spec starts a fresh one. If no pool
can be made, or a fresh one refuses its first task, `submit` raises PoolUnavailable and makes no job.
The default pool's workers end with the server, however it ends (see `_exit_with_server`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache, partial
from multiprocessing.connection import Connection
from queue import Empty, SimpleQueue
from typing import Any, Literal

from threadpoolctl import threadpool_limits

from app import settings
from core.nn.sweeps import run_job

log = logging.getLogger("descent.jobs")
JobStatus = Literal["running", "done", "cancelled"]


@dataclass(frozen=True)
class JobLimits:
    workers: int = settings.JOB_WORKERS.default  # tasks in flight at once: the pool's size
    max_specs: int = settings.JOB_MAX_SPECS.default  # specs in one job: an 8×8 map
    max_active: int = settings.MAX_JOBS.default  # jobs running at once; past this a new job gets 429
    idle_seconds: float = settings.JOB_IDLE_SECONDS.default  # a job nobody asks about is then cancelled
    keep_seconds: float = settings.JOB_KEEP_SECONDS.default  # a finished job is forgotten after this
    max_kept: int = settings.JOB_MAX_KEPT.default  # finished jobs kept at most

    @classmethod
    def from_env(cls) -> JobLimits:
        """Every field from its DESCENT_* variable (see app.settings), else its default."""
        return cls(**{name: setting.read() for name, setting in ENV.items()})


ENV: dict[str, settings.Setting[Any]] = {  # JobLimits field -> its setting
    "workers": settings.JOB_WORKERS,
    "max_specs": settings.JOB_MAX_SPECS,
    "max_active": settings.MAX_JOBS,
    "idle_seconds": settings.JOB_IDLE_SECONDS,
    "keep_seconds": settings.JOB_KEEP_SECONDS,
    "max_kept": settings.JOB_MAX_KEPT,
}


class Busy(Exception):
    """Too many jobs are running."""


class PoolUnavailable(Exception):
    """The pool could not be started; the message says what failed."""


def _worker_init(lifeline: Connection) -> None:
    threadpool_limits(1)  # one BLAS thread per process: the processes are the parallelism
    threading.Thread(target=_exit_with_server, args=(lifeline,), name="lifeline", daemon=True).start()


def _exit_with_server(lifeline: Connection) -> None:
    """End this worker the moment the server ends, however it ends (kill -9 included). A worker
    waits on a queue whose write end it holds itself, so it would never notice; and while any worker
    lives, so do the fork server and the resource tracker."""
    with suppress(EOFError, OSError):
        lifeline.recv_bytes()  # nothing is ever sent: this returns at EOF
    os._exit(1)


@cache
def _lifeline() -> tuple[Connection, Connection]:
    """A pipe whose write end stays in this process alone: its read end reaches EOF when this process
    ends. Workers get the read end."""
    return multiprocessing.Pipe(duplex=False)


def process_pool(workers: int) -> Executor:
    """The default pool: `workers` processes from the fork server (modules already loaded), each of
    which exits when this process does."""
    context = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(workers, context, initializer=_worker_init, initargs=(_lifeline()[0],))


def executor_factory_from_env() -> Callable[[int], Executor]:
    """$DESCENT_JOB_EXECUTOR ("package.module:callable", called with the worker count and returning a
    concurrent.futures.Executor), else `process_pool`."""
    return settings.JOB_EXECUTOR.read() or process_pool


@dataclass(eq=False)
class Job:
    """A batch of specs and what has come back so far, in the order it came."""

    specs: Sequence[Mapping]
    id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    status: JobStatus = "running"
    created: float = field(default_factory=time.monotonic)
    ended: float | None = None
    watched: float = field(default_factory=time.monotonic)
    results: list = field(default_factory=list)  # (index, result or None, error or None), as they came
    pending: deque = field(default_factory=deque)  # indices not yet handed to the pool
    futures: dict = field(default_factory=dict)  # index -> Future, while in the pool

    def __post_init__(self):
        self.pending.extend(range(len(self.specs)))

    @property
    def done(self) -> int:
        return len(self.results)

    @property
    def failed(self) -> int:
        return sum(error is not None for _, _, error in self.results)

    @property
    def finished(self) -> bool:
        return self.ended is not None


class JobManager:
    """Runs jobs on a pool (see the module docstring); thread-safe.

    A pool calls back from threads of its own, some of them holding the pool's own lock (Python 3.12+
    fails every future of a broken pool that way), while `_feed` submits to the pool under the
    manager's lock. So a callback never waits for the manager's lock: it leaves the future on a queue
    that whoever holds the lock empties before letting go. Nor does it ever drop a pool's last
    reference (that would wait for the pool's lock too): a pool replaced from a callback is retired,
    and shut down later from a caller's thread."""

    def __init__(
        self,
        limits: JobLimits | None = None,
        executor_factory: Callable[[int], Executor] | None = None,
        run: Callable[[Mapping], dict] = run_job,
    ):
        self.limits = limits or JobLimits()
        self._factory, self._run = executor_factory or executor_factory_from_env(), run
        self._executor: Executor | None = None
        self._generation = 0  # pools started so far: tells a future's pool from its successor
        self._retired: list[Executor] = []  # pools replaced, still to shut down (see `_reap`)
        self._jobs: dict[str, Job] = {}
        self._turns: deque[Job] = deque()  # jobs with specs still to hand out, in turn
        self._in_flight = 0
        self._returned: SimpleQueue = SimpleQueue()  # (job, index, generation, future) not yet recorded
        self._lock = threading.Lock()

    def submit(self, specs: Sequence[Mapping]) -> Job:
        """Start a job; Busy past the cap on running jobs, ValueError past the cap on its size,
        PoolUnavailable (and no job) if the pool cannot be started."""
        if not 1 <= len(specs) <= self.limits.max_specs:
            raise ValueError(f"a job has 1 to {self.limits.max_specs} specs, got {len(specs)}")
        self.sweep()
        with self._locked():
            if self._active() >= self.limits.max_active:
                raise Busy(f"{self.limits.max_active} jobs are already running; cancel one or wait")
            job = Job(list(specs))
            self._jobs[job.id] = job
            self._turns.append(job)
            if (failure := self._feed()) is not None:
                self._cancel(job)
                del self._jobs[job.id]
                raise PoolUnavailable(failure)
        return job

    def get(self, job_id: str) -> Job | None:
        """The job (and mark it watched), or None if it never existed or has been forgotten."""
        self.sweep()
        with self._locked():
            job = self._jobs.get(job_id)
            if job is not None:
                job.watched = time.monotonic()
            return job

    def active(self) -> int:
        with self._locked():
            return self._active()

    def cancel(self, job: Job) -> None:
        """Hand out none of its remaining specs; those already in the pool finish (or are withdrawn)."""
        with self._locked():
            self._cancel(job)

    def sweep(self) -> None:
        """Cancel jobs nobody asks about; forget jobs that ended long ago, and the oldest past the cap;
        shut down retired pools."""
        now = time.monotonic()
        with self._locked():
            for job in list(self._jobs.values()):
                if not job.finished and now - job.watched > self.limits.idle_seconds:
                    self._cancel(job)
            ended = sorted(
                ((j.ended, j) for j in self._jobs.values() if j.ended is not None),
                key=lambda pair: pair[0],
                reverse=True,
            )
            for i, (at, job) in enumerate(ended):
                if i >= self.limits.max_kept or now - at > self.limits.keep_seconds:
                    del self._jobs[job.id]
        self._reap()

    def cancel_all(self) -> None:
        with self._locked():
            for job in list(self._jobs.values()):
                self._cancel(job)

    def shutdown(self, wait: bool = False) -> None:
        """Cancel every job and close the pool (what is running finishes unless `wait` is False and
        the pool can withdraw it). Not final: an app served again (tests start and stop one app many
        times) starts a fresh pool with its next job."""
        with self._locked():
            for job in list(self._jobs.values()):
                self._cancel(job)
            for job in self._jobs.values():  # tasks the old pool still runs: no longer counted
                self._in_flight -= len(job.futures)
                job.futures.clear()
            self._retire()
            pools, self._retired = self._retired, []
        for pool in pools:
            pool.shutdown(wait=wait)

    # --- the lock, and what pools hand back ---------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The lock; on letting go, record what pools handed back meanwhile."""
        try:
            with self._lock:
                yield
        finally:
            self._record_returned()

    def _finished(self, job: Job, index: int, generation: int, future: Future) -> None:
        """A future's callback, on whatever thread completed it: see the class docstring."""
        self._returned.put((job, index, generation, future))
        self._record_returned()

    def _record_returned(self) -> None:
        """Record returned futures and feed the pool, unless another thread holds the lock: it will."""
        while not self._returned.empty():
            if not self._lock.acquire(blocking=False):
                return
            try:
                self._record_all()
                self._feed()  # a failure here fails the specs waiting: nobody else to tell
            finally:
                self._lock.release()

    def _record_all(self) -> None:
        while True:
            try:
                job, index, generation, future = self._returned.get_nowait()
            except Empty:
                return
            self._record(job, index, generation, future)

    def _record(self, job: Job, index: int, generation: int, future: Future) -> None:
        if job.futures.get(index) is not future:
            return  # left to an old pool at shutdown
        del job.futures[index]
        self._in_flight -= 1
        if future.cancelled():
            job.results.append((index, None, "cancelled"))
        elif (error := future.exception()) is not None:
            if isinstance(error, BrokenProcessPool):
                if generation == self._generation:
                    self._retire()  # a worker died (e.g. out of memory): a fresh pool next time
                message = "the worker process died"
            else:
                message = f"{type(error).__name__}: {error}"
                log.error("job %s: spec %d failed", job.id, index, exc_info=error)
            job.results.append((index, None, message))
        else:
            job.results.append((index, future.result(), None))
        self._check_done(job)

    # --- feeding the pool (all under the lock) ---------------------------------------------------------

    def _active(self) -> int:
        return sum(not job.finished for job in self._jobs.values())

    def _cancel(self, job: Job) -> None:
        if job.finished:
            return
        job.pending.clear()
        for future in list(job.futures.values()):
            future.cancel()
        self._end(job, "cancelled")
        self._record_all()  # the futures just withdrawn

    def _end(self, job: Job, status: JobStatus) -> None:
        job.status, job.ended = status, time.monotonic()
        if job in self._turns:
            self._turns.remove(job)

    def _check_done(self, job: Job) -> None:
        if not job.finished and job.done == len(job.specs):
            self._end(job, "done")

    def _feed(self) -> str | None:
        """Hand out specs, one job's at a time in turn, until every worker has one. If no pool can be
        started, every spec not handed out yet fails, and the reason is returned."""
        while self._turns and self._in_flight < self.limits.workers:
            job = self._turns.popleft()
            index = job.pending.popleft()
            if job.pending:
                self._turns.append(job)
            try:
                future = self._hand_out(job.specs[index])
            except PoolUnavailable as e:
                job.results.append((index, None, str(e)))
                self._fail_waiting(str(e))
                return str(e)
            self._in_flight += 1
            job.futures[index] = future
            future.add_done_callback(partial(self._finished, job, index, self._generation))
        return None

    def _hand_out(self, spec: Mapping) -> Future:
        """Submit to the pool. A running pool that refuses (broken, or shut down) is replaced once;
        PoolUnavailable if a fresh pool cannot be made or refuses too."""
        if self._executor is not None:
            try:
                return self._executor.submit(self._run, spec)
            except Exception:
                self._retire()
        try:
            self._executor = self._factory(self.limits.workers)
            self._generation += 1
            return self._executor.submit(self._run, spec)
        except Exception as e:
            self._retire()
            raise PoolUnavailable(f"the job pool could not start: {type(e).__name__}: {e}") from e

    def _fail_waiting(self, message: str) -> None:
        for job in list(self._turns):
            job.results.extend((index, None, message) for index in job.pending)
            job.pending.clear()
            self._check_done(job)
        self._turns.clear()

    def _retire(self) -> None:
        """Set the pool aside: dropping its last reference here, maybe on one of its own threads,
        could wait for a lock that thread holds."""
        if self._executor is not None:
            self._retired.append(self._executor)
            self._executor = None

    def _reap(self) -> None:
        """Shut down retired pools, outside the lock (on a caller's thread, never a pool's)."""
        with self._lock:
            pools, self._retired = self._retired, []
        for pool in pools:
            pool.shutdown(wait=False)
