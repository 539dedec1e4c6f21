"""Batches of independent jobs (core/sweeps.py specs) on a pool of worker processes: submit a list of
specs, poll for progress and results, cancel. In memory only.

The pool is any `concurrent.futures.Executor`, made by `executor_factory` on first use: by default a
`ProcessPoolExecutor` with one process per core (one BLAS thread each), or what $DESCENT_JOB_EXECUTOR
names. The manager hands it at most
one task per worker at a time, taking jobs in turn, so two jobs share the pool fairly, a cancelled
job's remaining specs never reach it, and a shutdown leaves at most one task per worker to finish.
It needs nothing but `submit(fn, spec)` and `shutdown(wait)`: an executor of Dask
(`distributed.Client(address).get_executor()`) or an adapter over Ray (`ray.remote(fn).remote(spec)
.future()`) replaces the pool without changing any caller.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial

from threadpoolctl import threadpool_limits

from core.sweeps import run_job


@dataclass(frozen=True)
class JobLimits:
    workers: int = os.cpu_count() or 1  # tasks in flight at once: the pool's size
    max_specs: int = 64  # specs in one job: an 8×8 map
    max_active: int = 2  # jobs running at once; past this a new job gets 429
    idle_seconds: float = 60.0  # a job nobody has asked about for this long is cancelled
    keep_seconds: float = 600.0  # a finished job is forgotten this long after it ended
    max_kept: int = 32  # finished jobs kept at most

    @classmethod
    def from_env(cls) -> JobLimits:
        """Defaults, overridden by DESCENT_JOB_WORKERS and DESCENT_MAX_JOBS."""
        env = os.environ
        return cls(
            workers=int(env.get("DESCENT_JOB_WORKERS", cls.workers)),
            max_active=int(env.get("DESCENT_MAX_JOBS", cls.max_active)),
        )


class Busy(Exception):
    """Too many jobs are running."""


def _worker_init() -> None:
    threadpool_limits(1)  # one BLAS thread per process: the processes are the parallelism


def process_pool(workers: int) -> Executor:
    """The default pool: `workers` processes from the fork server (modules already loaded)."""
    return ProcessPoolExecutor(workers, multiprocessing.get_context("forkserver"), initializer=_worker_init)


def executor_factory_from_env() -> Callable[[int], Executor]:
    """$DESCENT_JOB_EXECUTOR ("package.module:callable", called with the worker count and returning a
    concurrent.futures.Executor), else `process_pool`."""
    name = os.environ.get("DESCENT_JOB_EXECUTOR")
    if not name:
        return process_pool
    module, _, attribute = name.partition(":")
    if not module or not attribute:
        raise ValueError(f"DESCENT_JOB_EXECUTOR must read package.module:callable, got {name!r}")
    return getattr(importlib.import_module(module), attribute)


@dataclass(eq=False)
class Job:
    """A batch of specs and what has come back so far, in the order it came."""

    specs: Sequence[Mapping]
    id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    status: str = "running"  # running, done or cancelled
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
    """Runs jobs on a pool (see the module docstring); thread-safe."""

    def __init__(
        self,
        limits: JobLimits | None = None,
        executor_factory: Callable[[int], Executor] | None = None,
        run: Callable[[Mapping], dict] = run_job,
    ):
        self.limits = limits or JobLimits()
        self._factory, self._run = executor_factory or executor_factory_from_env(), run
        self._executor: Executor | None = None
        self._jobs: dict[str, Job] = {}
        self._turns: deque[Job] = deque()  # jobs with specs still to hand out, in turn
        self._in_flight = 0
        self._lock = threading.RLock()  # a future that is already done calls back at once

    def submit(self, specs: Sequence[Mapping]) -> Job:
        """Start a job; Busy past the cap on running jobs, ValueError past the cap on its size."""
        if not 1 <= len(specs) <= self.limits.max_specs:
            raise ValueError(f"a job has 1 to {self.limits.max_specs} specs, got {len(specs)}")
        self.sweep()
        with self._lock:
            if self.active() >= self.limits.max_active:
                raise Busy(f"{self.limits.max_active} jobs are already running; cancel one or wait")
            job = Job(list(specs))
            self._jobs[job.id] = job
            self._turns.append(job)
            self._feed()
        return job

    def get(self, job_id: str) -> Job | None:
        """The job (and mark it watched), or None if it never existed or has been forgotten."""
        self.sweep()
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job.watched = time.monotonic()
            return job

    def active(self) -> int:
        with self._lock:
            return sum(not job.finished for job in self._jobs.values())

    def cancel(self, job: Job) -> None:
        """Hand out none of its remaining specs; those already in the pool finish (or are withdrawn)."""
        with self._lock:
            if job.finished:
                return
            job.pending.clear()
            for future in list(job.futures.values()):
                future.cancel()
            self._end(job, "cancelled")

    def sweep(self) -> None:
        """Cancel jobs nobody asks about; forget jobs that ended long ago, and the oldest past the cap."""
        now = time.monotonic()
        with self._lock:
            for job in list(self._jobs.values()):
                if not job.finished and now - job.watched > self.limits.idle_seconds:
                    self.cancel(job)
            ended = sorted(
                (j for j in self._jobs.values() if j.finished), key=lambda j: j.ended, reverse=True
            )
            for i, job in enumerate(ended):
                if i >= self.limits.max_kept or now - job.ended > self.limits.keep_seconds:
                    del self._jobs[job.id]

    def cancel_all(self) -> None:
        with self._lock:
            for job in list(self._jobs.values()):
                self.cancel(job)

    def shutdown(self, wait: bool = False) -> None:
        """Cancel every job and close the pool (what is running finishes unless `wait` is False and
        the pool can withdraw it). Not final: an app served again (tests start and stop one app many
        times) starts a fresh pool with its next job."""
        with self._lock:
            self.cancel_all()
            for job in self._jobs.values():  # tasks the old pool still runs: no longer counted
                self._in_flight -= len(job.futures)
                job.futures.clear()
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait)

    # --- feeding the pool -------------------------------------------------------------------------------

    def _end(self, job: Job, status: str) -> None:
        job.status, job.ended = status, time.monotonic()
        if job in self._turns:
            self._turns.remove(job)

    def _feed(self) -> None:
        """Hand out specs, one job's at a time in turn, until every worker has one (under the lock)."""
        while self._turns and self._in_flight < self.limits.workers:
            job = self._turns.popleft()
            index = job.pending.popleft()
            if job.pending:
                self._turns.append(job)
            try:
                if self._executor is None:
                    self._executor = self._factory(self.limits.workers)
                future = self._executor.submit(self._run, job.specs[index])
            except (RuntimeError, BrokenProcessPool) as e:  # interpreter or pool shutting down
                self._executor = None
                job.results.append((index, None, f"could not start: {e}"))
                self._check_done(job)
                continue
            self._in_flight += 1
            job.futures[index] = future
            future.add_done_callback(partial(self._finished, job, index))

    def _finished(self, job: Job, index: int, future: Future) -> None:
        with self._lock:
            if job.futures.get(index) is not future:
                return  # left to an old pool at shutdown
            del job.futures[index]
            self._in_flight -= 1
            if future.cancelled():
                job.results.append((index, None, "cancelled"))
            elif (error := future.exception()) is not None:
                if isinstance(error, BrokenProcessPool):
                    self._executor = None  # a worker died (e.g. out of memory): a fresh pool next time
                    message = "the worker process died"
                else:
                    message = f"{type(error).__name__}: {error}"
                job.results.append((index, None, message))
            else:
                job.results.append((index, future.result(), None))
            self._check_done(job)
            self._feed()

    def _check_done(self, job: Job) -> None:
        if not job.finished and job.done == len(job.specs):
            self._end(job, "done")
