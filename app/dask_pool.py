"""The job pool on a Dask cluster: `pip install 'descent[dask]'`, then DESCENT_JOB_EXECUTOR=dask.

`DaskPool` is the `concurrent.futures.Executor` that app.jobs needs, over a `distributed.Client`:
connected to $DESCENT_DASK_ADDRESS (a running `dask scheduler`), or to a LocalCluster of worker
processes (one thread each) that it starts, and closes with itself. Starting it connects, checks that
every worker runs this version of Descent (a worker without it would fail every spec), and registers
`WorkerLimits`, which gives each worker what the local pool's processes get: one BLAS thread and a
lower priority.

A task is `run_job(spec)`: the spec, a small dict, is all that travels; each worker loads the data
set a spec names itself. A cancelled future cancels its Dask task (`Future.cancel`): a task not yet
started never starts, and one running finishes on its worker (Python cannot stop a thread) with its
result dropped. When a worker dies, the scheduler reruns its tasks on the others (specs are pure: the
same result); a task that has been on `distributed.scheduler.allowed-failures` (3) workers that died
fails with KilledWorker.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from contextlib import suppress
from dataclasses import dataclass

from distributed import Client, LocalCluster, WorkerPlugin

from app import settings
from app.jobs import limit_worker

CONNECT_SECONDS = 20  # to reach the scheduler, or for a LocalCluster's workers to start
VERSION = importlib.metadata.version("descent")  # what every worker must run
PER_THREAD = 2  # tasks in flight per worker thread
INFO_SECONDS = 2.0  # how often the count of workers and threads is read


class WorkerLimits(WorkerPlugin):
    """One BLAS thread and a lower priority on every worker, as in the local pool."""

    name = "descent-limits"

    def setup(self, worker) -> None:
        limit_worker()


class DaskPool(Executor):
    """See the module docstring. `workers` sizes the LocalCluster; a cluster at `address` has its own."""

    def __init__(self, workers: int, address: str | None = None):
        self.address = address
        self.cluster: LocalCluster | None = None
        self.client: Client | None = None
        self._counts = (0, 0)  # workers, threads: read on a thread of its own (never on Dask's loop)
        self._closed = threading.Event()
        try:
            if address is None:
                self.cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",  # the scheduler and workers answer this machine alone
                    dashboard_address=None,  # no dashboard; the scheduler's HTTP routes on a free port
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.ERROR,
                )
            self.client = Client(address or self.cluster, timeout=CONNECT_SECONDS, set_as_default=False)
            self._check_versions()
            self.client.register_plugin(WorkerLimits())
            self._executor = self.client.get_executor(pure=False)  # equal specs are still separate tasks
            self._count()
            threading.Thread(target=self._watch, name="dask-counts", daemon=True).start()
        except BaseException:
            self.shutdown()
            raise

    def _check_versions(self) -> None:
        assert self.client is not None
        found = self.client.run(importlib.metadata.version, "descent", on_error="return")
        wrong = {w: v for w, v in found.items() if v != VERSION}
        if wrong:
            worker, version = sorted(wrong.items(), key=str)[0]
            has = f"runs descent {version}" if isinstance(version, str) else "has no descent installed"
            raise RuntimeError(
                f"{len(wrong)} of {len(found)} Dask workers lack descent {VERSION} ({worker} {has}):"
                f" install the same version on every worker"
            )

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        return self._executor.submit(fn, *args, **kwargs)

    def _count(self) -> None:
        assert self.client is not None
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        self._counts = (len(info), sum(w["nthreads"] for w in info.values()))

    def _watch(self) -> None:
        """Keep the counts current as workers come and go."""
        while not self._closed.wait(INFO_SECONDS):
            with suppress(Exception):  # the scheduler is away: keep the last counts
                self._count()

    def capacity(self) -> int:
        """Tasks to keep in flight: two per thread of the cluster, so that each thread has its next
        task at hand when one ends, rather than a round trip through the scheduler later."""
        return max(1, PER_THREAD * self._counts[1])

    def where(self) -> str:
        workers, threads = self._counts
        place = f"Dask at {self.address}" if self.address else "a local Dask cluster"
        return f"{place}, {workers} worker{'s' * (workers != 1)}, {threads} thread{'s' * (threads != 1)}"

    def pids(self) -> list[int]:
        """The process ids of the workers (a LocalCluster's nannies and scheduler run in this one)."""
        assert self.client is not None
        return list(self.client.run(os.getpid).values())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Cancel what is left, disconnect, and close the LocalCluster this pool started (its processes
        end with it)."""
        self._closed.set()
        if self.client is not None:
            executor = getattr(self, "_executor", None)
            if executor is not None:
                executor.shutdown(wait=False)
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


@dataclass(frozen=True)
class DaskFactory:
    """DESCENT_JOB_EXECUTOR=dask: a DaskPool at $DESCENT_DASK_ADDRESS, else on a LocalCluster."""

    address: str | None

    @classmethod
    def from_env(cls) -> DaskFactory:
        return cls(settings.DASK_ADDRESS.read())

    @property
    def label(self) -> str:
        """Where jobs run, before the pool has started."""
        return f"Dask at {self.address}" if self.address else "a local Dask cluster"

    def __call__(self, workers: int) -> DaskPool:
        return DaskPool(workers, self.address)
