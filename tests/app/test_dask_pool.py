"""The job pool on Dask (app/dask_pool.py): the network tools' jobs through a LocalCluster of 2 worker
processes give exactly what the local process pool gives; cancel withdraws the tasks; a spec that
fails on a worker is reported with the worker's error; a worker killed mid-job has its specs rerun;
workers get one BLAS thread and a lower priority; shutdown leaves no process behind."""

import logging
import os
import pickle
import signal
import threading
import time

import psutil
import pytest
from fastapi.testclient import TestClient

from app.dask_pool import DaskFactory, DaskPool
from app.jobs import NICE, JobLimits, JobManager
from app.main import create_app

MOONS = {"dataset": "moons", "hidden": [{"width": 8}], "epochs": 4}
RANGE = {"kind": "lr_range", "config": MOONS | {"optimizer": "sgd"}, "lr_min": 1e-4, "lr_max": 10.0}
MAP = [
    {
        "kind": "train",
        "config": MOONS | {"optimizer": "momentum", "hyper": {"lr": lr, "gamma": g}},
        "target": 0.8,
    }
    for lr in (0.03, 0.3)
    for g in (0.0, 0.9)
]
SEEDS = [{"kind": "train", "config": MOONS | {"seed": s}, "target": 0.8, "points": 100} for s in range(3)]
SLOW = {"dataset": "moons", "hidden": [{"width": 32}, {"width": 32}], "epochs": 40, "batch_size": 1}
LONG = [{"kind": "train", "config": SLOW | {"seed": s}} for s in range(12)]  # about a second each


def serve(factory):
    app = create_app()
    app.state.jobs = JobManager(JobLimits(workers=2, max_active=2), executor_factory=factory)
    return TestClient(app, base_url="http://127.0.0.1")


@pytest.fixture(scope="module")
def dask():
    with serve(DaskFactory(None)) as client:
        wait_ready(client)
        yield client


@pytest.fixture(scope="module")
def local():
    with serve(None) as client:
        yield client


def wait_ready(client, timeout=60):
    deadline = time.monotonic() + timeout
    while (pool := client.get("/api/jobs/pool").json())["state"] != "ready":
        assert pool["state"] == "starting" and time.monotonic() < deadline, pool
        time.sleep(0.1)
    return pool


def run(client, specs, timeout=120):
    """Submit, poll to the end; the job and its results by index."""
    r = client.post("/api/jobs", json={"specs": specs})
    assert r.status_code == 201, r.text
    since, results, deadline = 0, {}, time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{r.json()['id']}", params={"since": since}).json()
        results |= {x["index"]: x for x in job["results"]}
        since = job["next"]
        if job["status"] != "running":
            return job, results
        assert time.monotonic() < deadline, "the job did not end"
        time.sleep(0.05)


def without_timing(result):
    return {k: v for k, v in result["result"].items() if k != "seconds"}


def test_the_pool_says_where_jobs_run(dask, local):
    pool = wait_ready(dask)
    assert pool == {
        "state": "ready",
        "where": "a local Dask cluster, 2 workers, 2 threads",
        "capacity": 4,  # two tasks per thread
        "error": None,
    }
    assert local.get("/api/jobs/pool").json()["where"] == "local pool, 2 processes"


@pytest.mark.parametrize("specs", [[RANGE], MAP, SEEDS], ids=["range test", "map", "seed band"])
def test_jobs_on_dask_equal_the_local_pool_apart_from_timings(dask, local, specs):
    on_dask, by_dask = run(dask, specs)
    on_pool, by_pool = run(local, specs)
    assert on_dask["status"] == on_pool["status"] == "done" and on_dask["failed"] == 0
    assert sorted(by_dask) == sorted(by_pool) == list(range(len(specs)))
    for i in by_dask:
        assert without_timing(by_dask[i]) == without_timing(by_pool[i])


def scheduler_tasks(dask_scheduler):
    return len(dask_scheduler.tasks)


def test_cancel_withdraws_the_tasks_keeps_what_finished_and_logs_no_traceback(dask, caplog):
    pool = dask.app.state.jobs._executor
    caplog.set_level(logging.DEBUG)
    r = dask.post("/api/jobs", json={"specs": LONG}).json()
    deadline = time.monotonic() + 60
    while (job := dask.get(f"/api/jobs/{r['id']}").json())["done"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cancelled = dask.delete(f"/api/jobs/{r['id']}").json()
    assert cancelled["status"] == "cancelled" and cancelled["waiting"] == 0
    kept = [x for x in dask.get(f"/api/jobs/{r['id']}").json()["results"] if x["error"] is None]
    assert len(kept) >= 2 and all(x["result"]["status"] == "done" for x in kept)
    deadline = time.monotonic() + 10
    while pool.client.run_on_scheduler(scheduler_tasks):  # the running ones too: released
        assert time.monotonic() < deadline, "the scheduler still holds the cancelled tasks"
        time.sleep(0.1)
    job = dask.get(f"/api/jobs/{r['id']}").json()
    assert job["status"] == "cancelled" and job["done"] < len(LONG)
    assert not [rec for rec in caplog.records if rec.exc_info or rec.levelno >= logging.ERROR]


def test_a_spec_that_fails_on_a_worker_is_reported_with_the_workers_error(dask):
    manager = dask.app.state.jobs
    bad = RANGE | {"lr_min": 1.0, "lr_max": 0.1}  # past the API's checks: run_job refuses it
    job = manager.submit([bad, bad])
    deadline = time.monotonic() + 30
    while job.status == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job.status == "failed" and job.failed == 2
    assert {error for _, _, error in job.results} == {"ValueError: need 0 < lr_min < lr_max, got 1 and 0.1"}


def test_a_killed_worker_has_its_specs_rerun_and_the_server_keeps_answering(dask, local):
    pool = dask.app.state.jobs._executor
    worker = next(iter(pool.client.run(os.getpid).values()))
    r = dask.post("/api/jobs", json={"specs": LONG[:6]}).json()
    time.sleep(0.5)  # both workers are training
    os.kill(worker, signal.SIGKILL)
    since, results, answered, deadline = 0, {}, [], time.monotonic() + 120
    while True:
        job = dask.get(f"/api/jobs/{r['id']}", params={"since": since}).json()
        results |= {x["index"]: x for x in job["results"]}
        since = job["next"]
        if job["status"] != "running":
            break
        started = time.monotonic()
        dask.get("/api/jobs/pool")
        answered.append(time.monotonic() - started)
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert max(answered) < 1.0
    assert job["status"] == "done" and job["failed"] == 0  # rerun on the other worker, or the new one
    assert worker not in pool.client.run(os.getpid).values()  # the nanny started a fresh worker
    _, by_pool = run(local, LONG[:6])
    assert {i: without_timing(x) for i, x in results.items()} == {
        i: without_timing(x) for i, x in by_pool.items()
    }


def test_workers_get_one_blas_thread_and_a_lower_priority(dask):
    from threadpoolctl import threadpool_info

    pool = dask.app.state.jobs._executor
    for info in pool.client.run(threadpool_info).values():
        assert {lib["num_threads"] for lib in info if lib["user_api"] == "blas"} == {1}
    assert set(pool.client.run(os.nice, 0).values()) == {NICE}


def test_a_task_carries_the_spec_not_the_data():
    from core.nn.sweeps import run_job

    spec = {"kind": "train", "config": {"dataset": "mnist", "data": {"train_size": 10_000}}, "target": 0.9}
    assert len(pickle.dumps((run_job, spec))) < 400


def test_workers_without_this_version_are_refused_by_name(monkeypatch):
    monkeypatch.setattr("app.dask_pool.VERSION", "9.9.9")  # the server's, not the workers'
    with pytest.raises(
        RuntimeError, match=r"2 of 2 Dask workers lack descent 9\.9\.9 \(tcp://.* runs descent "
    ):
        DaskPool(2)


def test_shutdown_leaves_no_dask_process():
    manager = JobManager(JobLimits(workers=2), executor_factory=DaskFactory(None))
    manager.start()
    deadline = time.monotonic() + 60
    while manager.pool().state != "ready":
        assert manager.pool().state == "starting" and time.monotonic() < deadline
        time.sleep(0.1)
    pids = manager._executor.pids()
    assert len(pids) == 2 and os.getpid() not in pids and all(psutil.pid_exists(p) for p in pids)
    threading.Thread(target=manager.submit, args=(LONG[:2],)).start()
    manager.shutdown()
    deadline = time.monotonic() + 30
    while alive := [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]:
        assert time.monotonic() < deadline, f"still running: {alive}"
        time.sleep(0.1)
