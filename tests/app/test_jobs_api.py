"""Jobs on the process pool: results equal core.nn.sweeps run in-process; progress, cancel, caps, 429 and
422; the manager's feeding (one task per worker, jobs in turn), its pool started in the background
(jobs wait meanwhile), and its faults (a pool that breaks, calls back under its own lock or cannot
start) with pools the test drives by hand."""

import os
import random
import threading
import time
import weakref
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pytest
from fastapi.testclient import TestClient

from app.jobs import Busy, JobLimits, JobManager
from app.main import create_app
from core.nn.sweeps import run_job

MOONS = {"dataset": "moons", "hidden": [{"width": 8}], "epochs": 3, "optimizer": "momentum"}


def cell(lr, gamma):
    return {"kind": "train", "config": MOONS | {"hyper": {"lr": lr, "gamma": gamma}}, "target": 0.8}


GRID = [cell(lr, g) for lr in (0.01, 0.1, 1.0) for g in (0.0, 0.5, 0.9)]


@pytest.fixture(scope="module")
def client():
    app = create_app()
    app.state.jobs = JobManager(JobLimits(workers=2, max_active=1))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def wait(client, job_id, timeout=60):
    """Poll with `since` until the job ends; every result exactly once."""
    since, results = 0, []
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/jobs/{job_id}", params={"since": since}).json()
        assert job["next"] == since + len(job["results"])
        results += job["results"]
        since = job["next"]
        if job["status"] != "running":
            return job, results
        assert time.monotonic() < deadline, "the job did not end"
        time.sleep(0.05)


def core_fields(spec):
    """The fields core.nn.sweeps gets for a request spec (hidden as pairs, TrainIn's defaults)."""
    body = {**spec["config"], "hidden": [[layer["width"], "relu"] for layer in spec["config"]["hidden"]]}
    return {**spec, "config": body}


def test_a_3x3_map_on_the_pool_gives_what_core_gives(client):
    r = client.post("/api/jobs", json={"specs": GRID})
    assert r.status_code == 201
    job, results = wait(client, r.json()["id"])
    assert job["status"] == "done" and job["done"] == job["total"] == 9 and job["failed"] == 0
    assert sorted(x["index"] for x in results) == list(range(9))
    by_index = {x["index"]: x["result"] for x in results}
    for i in (0, 8):
        local = run_job(core_fields(GRID[i]) | {"points": 200})
        for key in ("status", "steps", "accuracy", "best_accuracy", "steps_to_target", "accuracy_curve"):
            assert by_index[i][key] == local[key], key
        assert by_index[i]["curve"]["step"] == local["curve"]["step"]
        assert by_index[i]["curve"]["value"] == pytest.approx(local["curve"]["value"], rel=1e-6)
        assert by_index[i]["test_loss"] == pytest.approx(local["test_loss"], rel=1e-6)
    assert client.get(f"/api/jobs/{job['id']}", params={"since": 9}).json()["results"] == []


def test_an_lr_range_job(client):
    spec = {"kind": "lr_range", "config": MOONS | {"optimizer": "sgd"}, "lr_min": 1e-4, "lr_max": 10.0}
    job, (result,) = wait(client, client.post("/api/jobs", json={"specs": [spec]}).json()["id"])
    assert job["status"] == "done"
    assert result["error"] is None and result["result"]["steps"] == result["result"]["planned_steps"] == 300
    assert 1e-4 < result["result"]["suggestion"] < 10


def test_cancel_and_the_cap_on_running_jobs(client):
    big = [cell(0.1, 0.5) | {"config": MOONS | {"epochs": 40, "seed": s}} for s in range(64)]
    first = client.post("/api/jobs", json={"specs": big}).json()
    second = client.post("/api/jobs", json={"specs": GRID[:1]})
    assert second.status_code == 429 and "1 jobs are already running" in second.json()["detail"]
    cancelled = client.delete(f"/api/jobs/{first['id']}").json()
    assert cancelled["status"] == "cancelled"
    time.sleep(0.5)  # what was in the pool comes back; nothing else starts
    later = client.get(f"/api/jobs/{first['id']}").json()
    assert later["status"] == "cancelled" and later["done"] <= cancelled["done"] + 2 < 64
    assert client.post("/api/jobs", json={"specs": GRID[:1]}).status_code == 201


def test_unknown_jobs_are_404(client):
    assert client.get("/api/jobs/nosuchjob").status_code == 404
    assert client.delete("/api/jobs/nosuchjob").status_code == 404
    assert client.get("/api/jobs/not a valid id").status_code == 422


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([], "at least 1 item"),
        ([GRID[0]] * 65, "at most 64 items"),
        ([{"kind": "sweep", "config": MOONS}], "does not match any of the expected tags"),
        ([GRID[0] | {"target": 2}], "less than or equal to 1"),
        ([GRID[0] | {"extra": 1}], "Extra inputs are not permitted"),
        ([GRID[0] | {"config": MOONS | {"epochs": False}}], "valid integer"),
        ([GRID[0] | {"config": MOONS | {"batch_size": 1, "epochs": 100}}], "steps per run; at most 20,000"),
        (
            [GRID[0] | {"config": MOONS | {"hidden": [{"width": 256}] * 4, "epochs": 100}}],
            "steps × batch × parameters",
        ),
        ([GRID[0] | {"config": MOONS | {"hidden": [{"width": 512}]}}], "less than or equal to 256"),
        ([GRID[0] | {"config": {"dataset": "mnist"}}], "train_size at most 10,000"),
        ([GRID[0] | {"config": MOONS | {"batch_size": 500}}], "batch_size must be in [1, 400]"),
        (
            [{"kind": "lr_range", "config": MOONS, "lr_min": 1.0, "lr_max": 0.1}],
            "lr_min must be below lr_max",
        ),
        ([{"kind": "lr_range", "config": MOONS, "lr_max": 11.0}], "less than or equal to 10"),
    ],
)
def test_bad_specs_are_422(client, specs, message):
    r = client.post("/api/jobs", json={"specs": specs})
    assert r.status_code == 422 and message in str(r.json()["detail"]), r.text


# --- the manager, with pools the test controls ----------------------------------------------------------


class HandPool(Executor):
    """Futures that complete when the test says so; records what was submitted."""

    def __init__(self):
        self.submitted: list[tuple[Future, dict]] = []

    def submit(self, fn, spec):
        future = Future()
        future.set_running_or_notify_cancel()
        self.submitted.append((future, spec))
        return future

    def finish(self, i, result=None, error=None):
        future, spec = self.submitted[i]
        if error:
            future.set_exception(error)
        else:
            future.set_result(result or {"spec": spec["n"]})


def until(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def started(manager):
    """The manager, its pool started (on a thread of its own) and ready."""
    manager.start()
    until(lambda: manager.pool().state == "ready")
    return manager


def hand_manager(**limits):
    pool = HandPool()
    manager = JobManager(JobLimits(**({"workers": 1} | limits)), executor_factory=lambda n: pool)
    return started(manager), pool


def test_one_task_per_worker_and_jobs_take_turns():
    manager, pool = hand_manager(workers=2)
    job = manager.submit([{"n": i} for i in range(3)])
    assert len(pool.submitted) == 2  # two workers: two tasks in the pool, the third waits here
    pool.finish(0)
    assert len(pool.submitted) == 3
    pool.finish(1)
    pool.finish(2)
    assert job.status == "done" and sorted(r[1]["spec"] for r in job.results) == [0, 1, 2]

    manager, pool = hand_manager(workers=1, max_active=2)
    a = manager.submit([{"n": f"a{i}"} for i in range(3)])
    b = manager.submit([{"n": f"b{i}"} for i in range(3)])
    for i in range(6):
        pool.finish(i)
    assert [s["n"] for _, s in pool.submitted] == ["a0", "a1", "b0", "a2", "b1", "b2"]
    assert a.status == b.status == "done" and a.done == b.done == 3
    with pytest.raises(ValueError, match="1 to 64 specs"):
        manager.submit([])


def test_errors_crashes_idle_jobs_and_shutdown():
    manager, pool = hand_manager(max_active=1, idle_seconds=0.05)
    job = manager.submit([{"n": 0}, {"n": 1}, {"n": 2}])
    pool.finish(0, error=ValueError("bad spec"))
    pool.finish(1, error=BrokenProcessPool("gone"))  # a fresh pool (here the same) takes spec 2
    assert [r[2] for r in job.results] == ["ValueError: bad spec", "the worker process died"]
    until(lambda: len(pool.submitted) == 3)
    with pytest.raises(Busy):
        manager.submit([{"n": 9}])
    time.sleep(0.1)
    manager.sweep()  # nobody asked about it: cancelled
    assert job.status == "cancelled" and manager.submit([{"n": 9}]).status == "running"
    manager.shutdown()
    assert all(j.status == "cancelled" for j in (job, manager._jobs[job.id]))
    again = manager.submit([{"n": 10}])  # an app served again gets a fresh pool
    assert again.status == "running" and again.waiting == 1
    until(lambda: pool.submitted[-1][1] == {"n": 10})
    assert again.waiting == 0


def crash(spec):
    os._exit(3)


def test_a_worker_that_dies_fails_its_spec_and_the_next_job_gets_a_fresh_pool():
    manager = JobManager(JobLimits(workers=1), run=crash)
    job = manager.submit([{"n": 0}])
    deadline = time.monotonic() + 30
    while job.status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.results[0][2] == "the worker process died"
    manager._run = run_job
    again = manager.submit([GRID[0] | {"config": {**MOONS, "hidden": [(8, "relu")]}}])
    while again.status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert again.results[0][2] is None and again.results[0][1]["status"] == "done"
    manager.shutdown(wait=True)


def test_any_executor_serves(monkeypatch):
    """A thread pool stands in for Ray or Dask: the manager needs nothing but submit and shutdown."""
    monkeypatch.setenv("DESCENT_JOB_EXECUTOR", "concurrent.futures:ThreadPoolExecutor")
    manager = JobManager(JobLimits(workers=2))
    spec = core_fields(GRID[4])
    job = manager.submit([spec, spec])
    deadline = time.monotonic() + 30
    while job.status == "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    (_, first, _), (_, second, _) = job.results
    assert first["curve"] == second["curve"] == run_job(spec)["curve"]
    assert isinstance(manager._executor, ThreadPoolExecutor)
    manager.shutdown(wait=True)
    monkeypatch.setenv("DESCENT_JOB_EXECUTOR", "no colon")
    with pytest.raises(ValueError, match=r"package\.module:callable"):
        JobManager()


def test_an_app_served_again_runs_jobs_again():
    """Tests serve one app many times (TestClient, then uvicorn): a stop is not the end."""
    app = create_app()
    app.state.jobs = JobManager(JobLimits(workers=1))
    for _ in range(2):
        with TestClient(app, base_url="http://127.0.0.1") as c:
            r = c.post("/api/jobs", json={"specs": GRID[:1]})
            assert r.status_code == 201
            job, (result,) = wait(c, r.json()["id"])
            assert job["status"] == "done" and result["error"] is None


# --- faults: pools that break, call back under their own lock, or cannot start --------------------------


class FailingUnderItsLock:
    """What Python 3.12+'s ProcessPoolExecutor does when a worker dies: its own thread fails every
    future while holding the pool's lock, which collecting the pool (a weakref callback) takes too.
    Records whether a pool was collected in that state, where the real one deadlocks."""

    def __init__(self):
        self.futures: list[Future] = []
        self.failing = False
        self.collected_while_failing: list[bool] = []

    def pool(self, workers):
        pool = HandPool()
        pool.submit = self.submit
        weakref.finalize(pool, lambda: self.collected_while_failing.append(self.failing))
        return pool

    def submit(self, fn, spec):
        future = Future()
        future.set_running_or_notify_cancel()
        self.futures.append(future)
        return future

    def fail_all(self):
        self.failing = True
        for future in self.futures:
            if not future.done():
                future.set_exception(BrokenProcessPool("gone"))
        self.failing = False


def test_a_broken_pool_is_not_collected_on_its_own_thread_while_it_holds_its_lock():
    breaker = FailingUnderItsLock()
    manager = started(JobManager(JobLimits(workers=1), executor_factory=breaker.pool))
    job = manager.submit([{"n": 0}])
    breaker.fail_all()
    assert job.results == [(0, None, "the worker process died")] and job.status == "failed"
    assert breaker.collected_while_failing == []
    manager.get(job.id)  # a caller's thread shuts the broken pool down, and lets it go
    assert breaker.collected_while_failing == [False]


def test_a_pool_calling_back_never_waits_for_the_manager():
    """A pool may call back holding its own lock while another thread, holding the manager's lock,
    waits for that pool lock in submit: the callback must not wait for the manager's lock."""
    manager, pool = hand_manager(workers=1)
    job = manager.submit([{"n": 0}, {"n": 1}])
    with manager._lock:  # another thread is feeding the pool
        callback = threading.Thread(target=pool.finish, args=(0,))
        callback.start()
        callback.join(10)
        assert not callback.is_alive(), "the pool's thread waited for the manager's lock"
        assert job.done == 0
    assert manager.get(job.id).done == 1 and len(pool.submitted) == 2  # recorded and fed once let go


def refuse(workers):
    raise OSError("connection refused by the cluster")


REFUSED = "the job pool could not start: OSError: connection refused by the cluster"


class SlowPool(ThreadPoolExecutor):
    """A pool that takes a while to start, as a cluster does."""

    def __init__(self, workers):
        time.sleep(1.0)
        super().__init__(workers)


def test_a_pool_starts_in_the_background_and_jobs_wait_for_it_meanwhile():
    app = create_app()
    app.state.jobs = JobManager(JobLimits(workers=1, max_active=2), executor_factory=SlowPool)
    with TestClient(app, base_url="http://127.0.0.1") as c:  # started at startup, never in a request
        started = time.monotonic()
        r = c.post("/api/jobs", json={"specs": GRID[:2]})
        assert r.status_code == 201 and time.monotonic() - started < 0.5
        job = r.json()
        assert job["waiting"] == 2 and job["pool"]["state"] == "starting"
        assert job["pool"]["where"] == "tests.app.test_jobs_api:SlowPool, 1 worker"
        job, results = wait(c, job["id"])
        assert job["status"] == "done" and job["waiting"] == 0 and len(results) == 2
        assert c.get("/api/jobs/pool").json() == {
            "state": "ready",
            "where": "tests.app.test_jobs_api:SlowPool, 1 worker",
            "capacity": 1,
            "error": None,
        }


def test_a_pool_that_cannot_start_fails_the_waiting_jobs_and_the_next_job_tries_again():
    app = create_app()
    app.state.jobs = JobManager(JobLimits(workers=1, max_active=2), executor_factory=refuse)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        until(lambda: c.get("/api/jobs/pool").json()["state"] == "failed")
        assert c.get("/api/jobs/pool").json()["error"] == "OSError: connection refused by the cluster"
        for _ in range(3):  # never 429: no job is left "running"
            r = c.post("/api/jobs", json={"specs": GRID[:2]})
            assert r.status_code == 201, r.text
            job, results = wait(c, r.json()["id"])
            assert job["status"] == "failed" and job["failed"] == 2
            assert [x["error"] for x in results] == [REFUSED, REFUSED]
        assert app.state.jobs.active() == 0
        app.state.jobs._factory = lambda n: ThreadPoolExecutor(n)
        r = c.post("/api/jobs", json={"specs": GRID[:1]})
        assert r.status_code == 201
        assert wait(c, r.json()["id"])[0]["status"] == "done"
        assert c.get("/api/jobs/pool").json()["error"] is None


class RefusingPool(HandPool):
    def submit(self, fn, spec):
        raise ValueError("this pool takes no tasks")


def test_a_fresh_pool_that_refuses_its_first_task_fails_the_job():
    manager = JobManager(JobLimits(workers=1), executor_factory=lambda n: RefusingPool())
    job = manager.submit([{"n": 0}])
    until(lambda: job.finished)
    assert job.status == "failed"
    assert job.results == [(0, None, "the job pool could not start: ValueError: this pool takes no tasks")]


def test_a_running_pool_that_refuses_is_replaced_once():
    pools = [RefusingPool(), HandPool()]
    manager = JobManager(JobLimits(workers=1), executor_factory=lambda n: pools.pop(0))
    manager._executor = manager._factory(1)  # was running, then broke while idle
    job = manager.submit([{"n": 0}])
    until(lambda: manager.pool().state == "ready")
    assert job.status == "running" and manager._executor.submitted[0][1] == {"n": 0}


def test_when_no_fresh_pool_starts_after_a_crash_the_waiting_specs_fail_and_the_job_ends():
    pool = HandPool()
    factories = [lambda n: pool, refuse]
    manager = started(JobManager(JobLimits(workers=1), executor_factory=lambda n: factories.pop(0)(n)))
    job = manager.submit([{"n": 0}, {"n": 1}, {"n": 2}])
    pool.finish(0, error=BrokenProcessPool("gone"))  # a fresh pool is started: refused
    until(lambda: job.finished)
    assert job.status == "failed" and [error for _, _, error in job.results] == [
        "the worker process died",
        REFUSED,
        REFUSED,
    ]


def test_random_sequences_of_submits_cancels_results_and_crashes_keep_the_books():
    """Whatever happens in whatever order, every spec is accounted for exactly once, nothing in flight
    is lost, a job in the queue always has specs to hand out, and ended jobs stay ended."""
    rng = random.Random(7)
    for trial in range(30):
        pool = HandPool()
        limits = JobLimits(workers=rng.randint(1, 3), max_active=3)
        manager = started(JobManager(limits, executor_factory=lambda n, p=pool: p))
        jobs = []
        for _ in range(60):
            action = rng.random()
            open_futures = [i for i, (f, _) in enumerate(pool.submitted) if not f.done()]
            if action < 0.25 and manager.active() < 3:
                jobs.append(manager.submit([{"n": k} for k in range(rng.randint(1, 5))]))
            elif action < 0.4 and jobs:
                manager.cancel(rng.choice(jobs))
            elif open_futures:
                i = rng.choice(open_futures)
                error = rng.choice([None, None, ValueError("bad"), BrokenProcessPool("gone")])
                pool.finish(i, error=error)
                if isinstance(error, BrokenProcessPool):  # a fresh pool, if specs wait for one
                    until(lambda m=manager: m.pool().state != "starting")
            with manager._lock:
                assert all(job.pending for job in manager._turns), trial
                in_flight = sum(len(job.futures) for job in manager._jobs.values())
                assert manager._in_flight == in_flight <= manager.limits.workers
            for job in jobs:
                indices = [r[0] for r in job.results]
                assert len(indices) == len(set(indices))
                accounted = len(indices) + job.waiting + len(job.futures)
                assert accounted == len(job.specs) or (
                    job.status == "cancelled" and accounted < len(job.specs)
                )
                if job.finished:
                    assert job.status in ("done", "failed", "cancelled") and not job.pending
                    assert job.status == "cancelled" or job.done == len(job.specs)
        manager.shutdown()
