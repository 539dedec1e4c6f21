"""Nothing of the server's own outlives it: job workers, training runs, the fork server and the resource
tracker all end within seconds of the server, whether it gets SIGTERM, SIGINT or SIGKILL. Counted by
the server's process group, which it starts in a session of its own."""

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.jobs import _worker_init

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

MOONS = {"dataset": "moons", "hidden": [{"width": 8}], "optimizer": "momentum"}
LONG_JOB = {"specs": [{"kind": "train", "config": MOONS | {"epochs": 100, "seed": s}} for s in range(64)]}
LONG_RUN = MOONS | {"epochs": 500}
# the server, the fork server, the resource tracker, two job workers and one training run
PROCESSES = 6


def living(group: int) -> list[int]:
    """Processes of the group that have not ended (a zombie has ended: only its reaping is left)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state != "Z":
            pids.append(int(stat.parent.name))
    return pids


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.05)


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/schedules", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_nothing_outlives_the_server(signum):
    port = free_port()
    env = os.environ | {"DESCENT_JOB_WORKERS": "2", "DESCENT_IDLE_SECONDS": "600"}
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    group = server.pid
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers(url), 30, "the server did not start")
        with httpx.Client(base_url=url, timeout=30) as http:
            assert http.post("/api/jobs", json=LONG_JOB).status_code == 201
            assert http.post("/api/runs", json=LONG_RUN).status_code == 201
        wait_for(lambda: len(living(group)) == PROCESSES, 30, f"not {PROCESSES} processes: {living(group)}")
        server.send_signal(signum)
        server.wait(30)
        wait_for(lambda: not living(group), 10, f"outlived the server: {living(group)}")
    finally:
        if living(group):
            os.killpg(group, signal.SIGKILL)
        server.wait()


def idle_worker(lifeline, ready) -> None:
    _worker_init(lifeline)
    ready.send("ready")
    time.sleep(60)


def test_a_job_worker_ends_when_its_lifeline_closes():
    """The pipe only the server writes to reaches EOF when the server ends, however it ends."""
    context = multiprocessing.get_context("forkserver")
    reader, writer = context.Pipe(duplex=False)
    ready_reader, ready_writer = context.Pipe(duplex=False)
    worker = context.Process(target=idle_worker, args=(reader, ready_writer))
    worker.start()
    try:
        reader.close()
        ready_writer.close()
        assert ready_reader.recv() == "ready"
        writer.close()
        worker.join(10)
        assert worker.exitcode == 1
    finally:
        if worker.is_alive():
            worker.kill()
            worker.join()
