"""How long the server makes a trivial request wait while two training runs stream their events.

`descent serve`'s app runs in a subprocess (uvicorn, one BLAS thread). Two runs train, each watched
by an SSE subscriber that reads every event (as a browser tab would); meanwhile a probe thread asks
GET /api/schedules every 10 ms over one keep-alive connection and records each answer's latency.
A stall of the event loop (or a GIL held too long by a run's thread or a serializer) shows as a
slow answer. Scenarios:

- idle: no run (the floor: HTTP, routing, one thread-pool hop).
- playground: two runs on moons as /playground starts them (a 50×50 decision surface and the
  diagnostics in every evaluation, one evaluation per epoch: the busiest event stream), with
  2,000 points so that they train for the whole probing time.
- mnist: two runs of the seed's 784-600-10 network on 10,000 images as /mnist starts them (an
  evaluation every 125 steps on 2,000 training and 2,000 test images).

    DESCENT_DATA_DIR=/path/to/mnist python bench/event_loop_stall.py [--seconds 8]

Goal: max under 20 ms. Without MNIST the mnist scenario is skipped.
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from core.data.mnist import locate

ROOT = Path(__file__).resolve().parents[1]
PERIOD = 0.010  # seconds between probes

PLAYGROUND = {
    "dataset": "moons",
    "data": {"samples": 2000},  # 100 steps per epoch: 500 epochs outlast the probing
    "hidden": [{"width": 16, "activation": "relu"}, {"width": 16, "activation": "relu"}],
    "optimizer": "adam",
    "hyper": {"lr": 0.01},
    "epochs": 500,
    "surface": 50,
}
MNIST = {
    "dataset": "mnist",
    "data": {"train_size": 10000, "test_size": 2000},
    "hidden": [{"width": 600, "activation": "relu"}],
    "optimizer": "sgd",
    "hyper": {"lr": 0.02},
    "l2": 2e-4,
    "epochs": 50,
    "eval_every": 125,
    "eval_train_size": 2000,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)]
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/schedules", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def subscribe(base: str, run_id: str, stop: threading.Event, counts: list):
    """Read a run's event stream to its end (or until told to stop), counting events and bytes."""
    events = size = 0
    with httpx.stream("GET", f"{base}/api/runs/{run_id}/events", timeout=None) as r:
        for line in r.iter_lines():
            size += len(line)
            events += line.startswith("event:")
            if stop.is_set():
                break
    counts.append((events, size))


def probe(base: str, seconds: float) -> np.ndarray:
    """Latencies (ms) of GET /api/schedules, one every PERIOD, for `seconds`."""
    latencies = []
    with httpx.Client(base_url=base) as client:
        client.get("/api/schedules")  # open the connection
        end = time.perf_counter() + seconds
        next_at = time.perf_counter()
        while (now := time.perf_counter()) < end:
            if now < next_at:
                time.sleep(next_at - now)
            t0 = time.perf_counter()
            client.get("/api/schedules").raise_for_status()
            latencies.append(1000 * (time.perf_counter() - t0))
            next_at = t0 + PERIOD
    return np.array(latencies)


def renice_runs(server: subprocess.Popen, niceness: int) -> None:
    """Lower the priority of every process the server started (its fork server and the training
    processes under it), as an experiment: the event loop then wins the cores back first."""
    children = {}
    for name in os.listdir("/proc"):
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if name.isdigit():
            children.setdefault(int(fields[1]), []).append(int(name))
    todo = list(children.get(server.pid, []))
    while todo:
        pid = todo.pop()
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
        todo += children.get(pid, [])


def scenario(base: str, body: dict | None, seconds: float, renice=None) -> tuple[np.ndarray, list]:
    runs, threads, counts = [], [], []
    stop = threading.Event()
    if body is not None:
        for seed in (0, 1):
            r = httpx.post(f"{base}/api/runs", json=body | {"seed": seed}, timeout=60)
            r.raise_for_status()
            runs.append(r.json()["id"])
        for run_id in runs:
            t = threading.Thread(target=subscribe, args=(base, run_id, stop, counts), daemon=True)
            t.start()
            threads.append(t)
        time.sleep(0.5)  # both past their first evaluation
        if renice:
            renice()
    try:
        latencies = probe(base, seconds)
    finally:
        stop.set()
        for run_id in runs:
            httpx.post(f"{base}/api/runs/{run_id}/stop")
        for t in threads:
            t.join(10)
    return latencies, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="probing time per scenario")
    parser.add_argument(
        "--nice", type=int, default=0, help="experiment: renice the training processes (e.g. 10)"
    )
    args = parser.parse_args()
    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    scenarios = {"idle": None, "playground": PLAYGROUND}
    if locate("mnist") is not None:
        warm = MNIST | {"epochs": 1, "data": {"train_size": 16, "test_size": 16}}
        httpx.post(f"{base}/api/runs", json=warm, timeout=60)  # the server decodes MNIST once, now
        scenarios["mnist"] = MNIST
    else:
        print("MNIST not found (set DESCENT_DATA_DIR): the mnist scenario is skipped")
    try:
        every = f"{PERIOD * 1000:.0f} ms for {args.seconds:g} s"
        print(f"GET /api/schedules every {every}, two runs watched over SSE")
        print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores: anything else running skews this)\n")
        print(f"{'scenario':<12}{'probes':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}   events streamed")
        for name, body in scenarios.items():
            renice = (lambda: renice_runs(server, args.nice)) if args.nice else None
            latencies, counts = scenario(base, body, args.seconds, renice)
            streamed = ", ".join(f"{n:,} events / {b / 1e6:.1f} MB" for n, b in counts) or "–"
            p50, p99 = np.percentile(latencies, [50, 99])
            print(f"{name:<12}{len(latencies):>8}{p50:>9.2f}{p99:>9.2f}{latencies.max():>9.2f}   {streamed}")
        print("\ngoal: max under 20 ms")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
