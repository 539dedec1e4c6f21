"""A failure in the core reaches the server's log with its traceback, not only the page's banner."""

import logging
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor

from app import run_process
from app.jobs import JobLimits, JobManager
from app.routers import paths
from core.nn.training import TrainConfig


def broken(*args, **kwargs):
    raise RuntimeError("a bug in the core")


def assert_logged_with_traceback(caplog, logger: str):
    (record,) = [r for r in caplog.records if r.name == logger and r.levelno == logging.ERROR]
    assert record.exc_info and "a bug in the core" in str(record.exc_info[1])
    assert "Traceback" in caplog.text and "in broken" in caplog.text


def test_a_race_that_fails_tells_the_client_one_line_and_logs_the_traceback(client, monkeypatch, caplog):
    monkeypatch.setattr(paths, "race", broken)
    body = {"landscape": "rosenbrock", "racers": [{"optimizer": "sgd"}], "steps": 5}
    with caplog.at_level(logging.ERROR), client.stream("POST", "/api/paths", json=body) as response:
        text = "".join(response.iter_text())
    assert "RuntimeError: a bug in the core" in text and "Traceback" not in text
    assert_logged_with_traceback(caplog, "descent.streams")


def test_a_run_that_fails_in_its_process_logs_the_traceback(monkeypatch, caplog):
    monkeypatch.setattr(run_process, "train", broken)
    events, sent = multiprocessing.Pipe(duplex=False)
    commands, _ = multiprocessing.Pipe(duplex=False)
    config = TrainConfig(dataset="xor", hidden=((4, "relu"),), epochs=1)
    with caplog.at_level(logging.ERROR):
        run_process.main(config, None, None, sent, commands)
    assert b"a bug in the core" in events.recv_bytes()
    assert_logged_with_traceback(caplog, "descent.runs")


def test_a_job_spec_that_fails_logs_the_traceback(caplog):
    pool = ThreadPoolExecutor(1)
    manager = JobManager(JobLimits(workers=1), executor_factory=lambda n: pool, run=broken)
    with caplog.at_level(logging.ERROR):
        job = manager.submit([{}])
        deadline = time.monotonic() + 10
        while manager.get(job.id).status == "running" and time.monotonic() < deadline:
            time.sleep(0.01)
    assert job.results == [(0, None, "RuntimeError: a bug in the core")]
    assert_logged_with_traceback(caplog, "descent.jobs")
    manager.shutdown()
