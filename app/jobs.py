"""Batches of independent jobs (core/nn/sweeps.py specs) on a pool of workers: submit a list of specs,
poll for progress and results, cancel. In memory only.

The pool is any `concurrent.futures.Executor`, made by `executor_factory`: by default a
`ProcessPoolExecutor` with one process per core (one BLAS thread each, lower priority), made with the
first job; with DESCENT_JOB_EXECUTOR=dask a Dask cluster (app/dask_pool.py), started or connected to
at app startup; or what DESCENT_JOB_EXECUTOR=package.module:factory makes. A pool is always made on a
thread of its own, never in a request: jobs submitted meanwhile wait in the queue, and `pool()` says
so. The manager hands the pool at most one task per worker at a time (a Dask pool: two per thread of
its cluster, see `capacity` there), taking jobs in turn, so two jobs share the pool fairly, a
cancelled job's remaining specs never reach it, and a shutdown leaves at most one task per worker to
finish. It needs nothing of the pool but `submit(fn, spec)` and `shutdown(wait)`.

A pool that breaks (a worker died) is set aside and a fresh one started. A pool that cannot be made,
or refuses its first task, fails the specs waiting for it, with the reason, and the next job tries
again. A job whose every spec failed ends "failed". The default pool's workers end with the server,
however it ends (see `_exit_with_server`).
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
from core.data import own
from core.data.mnist import data_dir
from core.nn.sweeps import run_job

log = logging.getLogger("descent.jobs")
JobStatus = Literal["running", "done", "failed", "cancelled"]
PoolState = Literal["idle", "starting", "ready", "failed"]
NICE = 10  # workers' priority below the server's, as run processes (app/run_process.py)


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


@dataclass(frozen=True)
class PoolInfo:
    """Where jobs run, and whether that pool is ready."""

    state: PoolState
    where: str  # "local pool, 2 processes", "Dask at tcp://…, 8 workers, 16 threads"
    capacity: int  # tasks in flight at once
    error: str | None  # why the last start failed


def _located(spec: Mapping) -> Mapping:
    """A spec on uploaded data names this server's data folder (a worker's environment may be older)."""
    config = spec.get("config")
    if isinstance(config, Mapping) and config.get("dataset") == own.NAME:
        return {**spec, "data_root": str(data_dir())}
    return spec


def limit_worker() -> None:
    """One BLAS thread (the workers are the parallelism) and a lower priority than the server's: what
    every worker of every pool gets."""
    threadpool_limits(1)
    with suppress(OSError):
        os.nice(max(0, NICE - os.nice(0)))


def _worker_init(lifeline: Connection) -> None:
    limit_worker()
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

    @property
    def waiting(self) -> int:
        """Specs not yet handed to the pool."""
        return len(self.pending)


class JobManager:
    """Runs jobs on a pool (see the module docstring); thread-safe.

    A pool calls back from threads of its own, some of them holding the pool's own lock (Python 3.12+
    fails every future of a broken pool that way; Dask calls back on its event loop), while `_feed`
    submits to the pool under the manager's lock. So a callback never waits for the manager's lock: it
    leaves the future on a queue that whoever holds the lock empties before letting go. Nor does it
    ever drop a pool's last reference (that would wait for the pool's lock too): a pool replaced from
    a callback is retired, and shut down later from a caller's thread."""

    def __init__(
        self,
        limits: JobLimits | None = None,
        executor_factory: Callable[[int], Executor] | None = None,
        run: Callable[[Mapping], dict] = run_job,
    ):
        self.limits = limits or JobLimits()
        self._factory, self._run = executor_factory or executor_factory_from_env(), run
        self._executor: Executor | None = None
        self._state: PoolState = "idle"
        self._error: str | None = None  # why the last start failed
        self._fresh = False  # the pool has taken no task yet
        self._starter: threading.Thread | None = None  # making a pool
        self._epoch = 0  # shutdowns so far: a pool made before the last one is not used
        self._generation = 0  # pools started so far: tells a future's pool from its successor
        self._retired: list[Executor] = []  # pools replaced, still to shut down (see `_reap`)
        self._jobs: dict[str, Job] = {}
        self._turns: deque[Job] = deque()  # jobs with specs still to hand out, in turn
        self._in_flight = 0
        self._returned: SimpleQueue = SimpleQueue()  # (job, index, generation, future) not yet recorded
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the pool now, in the background (the app does at startup), unless it is the local
        pool: that starts in an instant, with the first job."""
        if self._factory is not process_pool:
            with self._locked():
                self._start_pool()

    def submit(self, specs: Sequence[Mapping]) -> Job:
        """Start a job; Busy past the cap on running jobs, ValueError past the cap on its size. While
        the pool starts, the job waits."""
        if not 1 <= len(specs) <= self.limits.max_specs:
            raise ValueError(f"a job has 1 to {self.limits.max_specs} specs, got {len(specs)}")
        self.sweep()
        with self._locked():
            if self._active() >= self.limits.max_active:
                raise Busy(f"{self.limits.max_active} jobs are already running; cancel one or wait")
            job = Job([_located(spec) for spec in specs])
            self._jobs[job.id] = job
            self._turns.append(job)
            self._feed()
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

    def pool(self) -> PoolInfo:
        """Where jobs run, and whether that pool is ready."""
        with self._locked():
            state, executor, error = self._state, self._executor, self._error
        where = getattr(executor, "where", None)
        return PoolInfo(state, where() if where else self._label(), self._capacity(executor), error)

    def cancel(self, job: Job) -> None:
        """Hand out none of its remaining specs and withdraw those in the pool (one already running
        may finish, its result dropped). The specs that finished are kept."""
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
        """Cancel every job and close the pool, waiting for one still starting (what is running
        finishes unless `wait` is False and the pool can withdraw it). Not final: an app served again
        (tests start and stop one app many times) starts a fresh pool with its next job."""
        with self._locked():
            for job in list(self._jobs.values()):
                self._cancel(job)
            for job in self._jobs.values():  # tasks the old pool still runs: no longer counted
                self._in_flight -= len(job.futures)
                job.futures.clear()
            self._retire()
            self._epoch += 1
            self._state, self._error = "idle", None
            pools, self._retired = self._retired, []
            starter = self._starter
        for pool in pools:
            pool.shutdown(wait=wait)
        if starter is not None:
            starter.join()  # it shuts down the pool it made: this epoch has ended

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
                self._feed()
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

    # --- the pool and feeding it (all under the lock) -----------------------------------------------

    def _label(self) -> str:
        """Where jobs run, before the pool says so itself."""
        if (label := getattr(self._factory, "label", None)) is not None:
            return label
        n = self.limits.workers
        if self._factory is process_pool:
            return f"local pool, {n} process{'es' * (n != 1)}"
        name = getattr(self._factory, "__qualname__", type(self._factory).__qualname__)
        return f"{self._factory.__module__}:{name}, {n} worker{'s' * (n != 1)}"

    def _capacity(self, executor: Executor | None) -> int:
        capacity = getattr(executor, "capacity", None)
        return capacity() if capacity is not None else self.limits.workers

    def _start_pool(self) -> None:
        """Make a pool on a thread of its own; `_feed` resumes once it is ready."""
        if self._state == "starting" or self._executor is not None:
            return
        self._state, self._error = "starting", None
        self._starter = threading.Thread(
            target=self._make_pool, args=(self._epoch,), name="job-pool-start", daemon=True
        )
        self._starter.start()

    def _make_pool(self, epoch: int) -> None:
        try:
            pool: Executor | None = self._factory(self.limits.workers)
            error = None
        except Exception as e:
            pool, error = None, f"{type(e).__name__}: {e}"
            log.error("the job pool (%s) could not start: %s", self._label(), error)
        with self._locked():
            if epoch == self._epoch:
                self._starter = None
                if pool is None:
                    self._pool_failed(str(error))
                else:
                    self._executor, pool = pool, None
                    self._generation += 1
                    self._state, self._fresh = "ready", True
                    self._feed()
        if pool is not None:  # shut down while it started
            pool.shutdown(wait=False)

    def _pool_failed(self, error: str) -> None:
        """No pool: every spec waiting for one fails with the reason; the next job tries again."""
        self._state, self._error = "failed", error
        message = f"the job pool could not start: {error}"
        for job in list(self._turns):
            job.results.extend((index, None, message) for index in job.pending)
            job.pending.clear()
            self._check_done(job)
        self._turns.clear()

    def _active(self) -> int:
        return sum(not job.finished for job in self._jobs.values())

    def _cancel(self, job: Job) -> None:
        if job.finished:
            return
        job.pending.clear()
        self._end(job, "cancelled")
        for future in list(job.futures.values()):
            future.cancel()
        self._record_all()  # the futures just withdrawn

    def _end(self, job: Job, status: JobStatus) -> None:
        job.status, job.ended = status, time.monotonic()
        if job in self._turns:
            self._turns.remove(job)

    def _check_done(self, job: Job) -> None:
        if not job.finished and job.done == len(job.specs):
            self._end(job, "failed" if job.failed == len(job.specs) else "done")

    def _feed(self) -> None:
        """Hand out specs, one job's at a time in turn, until every worker has one; start a pool if
        there is none. A running pool that refuses a task is replaced; a fresh one that refuses
        fails the specs waiting."""
        while self._turns and self._in_flight < self._capacity(self._executor):
            if self._executor is None:
                self._start_pool()
                return
            job = self._turns[0]
            index = job.pending[0]
            try:
                future = self._executor.submit(self._run, job.specs[index])
            except Exception as e:
                fresh = self._fresh
                self._retire()
                if fresh:
                    self._pool_failed(f"{type(e).__name__}: {e}")
                    return
                continue  # a pool that broke while idle: start a fresh one
            self._fresh = False
            self._turns.rotate(-1)
            job.pending.popleft()
            if not job.pending:
                self._turns.pop()
            self._in_flight += 1
            job.futures[index] = future
            future.add_done_callback(partial(self._finished, job, index, self._generation))

    def _retire(self) -> None:
        """Set the pool aside: dropping its last reference here, maybe on one of its own threads,
        could wait for a lock that thread holds."""
        if self._executor is not None:
            self._retired.append(self._executor)
            self._executor = None
            self._state = "idle"

    def _reap(self) -> None:
        """Shut down retired pools, outside the lock (on a caller's thread, never a pool's)."""
        with self._lock:
            pools, self._retired = self._retired, []
        for pool in pools:
            pool.shutdown(wait=False)
