"""Faults a shared server meets: readers that never read, runs that pile up, a SIGTERM mid-stream."""

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest

from app import runs as app_runs
from app.main import create_app
from app.runs import SUBSCRIBER_QUEUE, Busy, Limits, Run
from app.streaming import MAX_PENDING, WORKERS
from core.nn.training import TrainConfig, load_data
from tests.conftest import serve

BUSY = {"dataset": "moons", "hidden": [{"width": 8}], "epochs": 300, "eval_every": 5, "surface": 30}


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_a_subscriber_that_never_reads_neither_blocks_the_run_nor_grows_memory():
    app = create_app(Limits(idle_seconds=60))
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        run_id = http.post("/api/runs", json=BUSY).json()["id"]
        host, port = url.removeprefix("http://").split(":")
        stuck = socket.create_connection((host, int(port)))
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.sendall(f"GET /api/runs/{run_id}/events HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        run = app.state.runs.get(run_id)
        wait_for(lambda: run.subscribers == 1)
        # the run goes on to the end although its only subscriber reads nothing
        wait_for(lambda: http.get(f"/api/runs/{run_id}").json()["status"] == "done", timeout=120)
        queues = list(run._subscribers)
        assert all(q.qsize() <= SUBSCRIBER_QUEUE + 1 for q in queues), "what waits for it is bounded"
        stuck.close()


def test_finished_runs_are_forgotten_past_the_cap():
    manager = create_app(Limits(max_kept=3)).state.runs

    runs = []
    for _ in range(6):
        runs.append(manager.create(TrainConfig(dataset="xor", hidden=((4, "relu"),), epochs=1)))
        runs[-1]._listener.join(10)
    manager.sweep()
    assert [manager.get(r.id) is not None for r in runs] == [False, False, False, True, True, True]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_with_open_streams_and_active_runs_shuts_down_within_5_s(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = os.environ | {"DESCENT_IDLE_SECONDS": "600"}
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(url), timeout=30)
        with httpx.Client(base_url=url, timeout=10) as http:
            runs = [http.post("/api/runs", json=BUSY | {"epochs": 500}).json()["id"] for _ in range(2)]
            readers = [
                threading.Thread(target=_read, args=(url, f"/api/runs/{r}/events"), daemon=True) for r in runs
            ]
            race = {"racers": [{"optimizer": "adam"}] * 8, "steps": 10_000}
            readers.append(threading.Thread(target=_read, args=(url, "/api/paths", race), daemon=True))
            for reader in readers:
                reader.start()
            time.sleep(0.5)
        start = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
        assert time.monotonic() - start < 5
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _up(url):
    try:
        return httpx.get(f"{url}/api/schedules", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _read(url, path, body=None):
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            method = "POST" if body else "GET"
            with http.stream(method, path, json=body) as r:
                for _ in r.iter_bytes():
                    pass
    except httpx.HTTPError:
        pass


def test_race_streams_nobody_reads_hold_a_bounded_backlog_and_end_with_their_connections():
    race = {"racers": [{"optimizer": "adam"}] * 8, "steps": 10_000}
    body = json.dumps(race).encode()
    with serve(create_app()) as url:
        host, port = url.removeprefix("http://").split(":")
        socks = []
        for _ in range(4):
            sock = socket.create_connection((host, int(port)))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            head = f"POST /api/paths HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            sock.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            socks.append(sock)
        # each race is set aside once its reader has left MAX_PENDING items untaken: it stops there
        wait_for(lambda: len(WORKERS._waiting) == len(socks))
        assert all(job.pending <= MAX_PENDING for job in WORKERS._waiting)
        for sock in socks:
            sock.close()
        wait_for(lambda: not WORKERS._waiting and WORKERS.jobs == 0)


def test_the_cap_on_runs_holds_when_many_ask_at_once(monkeypatch):
    manager = create_app(Limits(max_active=3)).state.runs
    slow = load_data  # every creator loads data for a while before its run exists

    def loading(config, **kwargs):
        time.sleep(0.3)
        return slow(config, **kwargs)

    monkeypatch.setattr(app_runs, "load_data", loading)
    outcomes = []

    def create():
        try:
            outcomes.append(manager.create(TrainConfig(dataset="xor", hidden=((4, "relu"),), epochs=500)))
        except Busy:
            outcomes.append("busy")

    threads = [threading.Thread(target=create) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    started = [run for run in outcomes if run != "busy"]
    assert len(started) == 3 and outcomes.count("busy") == 9
    assert manager.active() == 3
    manager.stop_all()


class _GoneProcess:
    exitcode = -9

    def kill(self):
        pass

    def join(self, timeout=None):
        pass


@pytest.mark.parametrize("message", [b"null", b"[1, 2]", b'{"no": "type"}', b"{not json"])
def test_a_process_that_sends_what_is_not_an_event_ends_its_run_with_an_error(tmp_path, message):
    config = TrainConfig(dataset="xor", hidden=((4, "relu"),), epochs=1)
    run = Run(config, load_data(config), tmp_path)
    run._events, child = multiprocessing.Pipe(duplex=False)
    run._process = _GoneProcess()
    child.send_bytes(message)
    run._listen()
    assert run.finished and run.status == "error"
    assert "sent what could not be read" in run.error
    run.controls.stop()  # a gone process: nothing to stop, and nothing breaks


def test_a_finished_run_keeps_its_history_not_its_network_or_data():
    manager = create_app(Limits(max_kept=1)).state.runs
    config = TrainConfig(dataset="moons", hidden=((64, "relu"),), epochs=2)
    run = manager.create(config)
    live_split = run.split
    run._listener.join(30)
    assert run.finished and run._split is None and run._serving is None
    assert run._final.exists()  # the final weights: on disk, read back on demand
    weights = run.weights()
    assert weights["dense0.W"].shape == (2, 64)
    reloaded = run.split  # the same data again, by the run's seed
    assert np.array_equal(reloaded.x_test, live_split.x_test)
    probabilities = run.predict(live_split.x_test[:5])
    assert probabilities.shape == (5, 2) and np.allclose(probabilities.sum(axis=1), 1)
    assert run._serving is None, "a finished run builds a network per answer and keeps none"
    manager.create(config)._listener.join(30)
    manager.sweep()  # past max_kept: the first run is forgotten, its weights with it
    assert manager.get(run.id) is None and not run._final.exists()
