"""Server memory under training runs, through the API. Two measures:

- flat: RSS over 1,000 sequential small runs, after a warm-up and at the end (goal: flat);
- kept: RSS with DESCENT_MAX_KEPT finished runs of a wide network (8 hidden layers of 2,048 units,
  29 M parameters) kept, against the server before the first of them (goal: a few MB per run, not
  its network: a finished run keeps its history; its weights wait in a temporary file).

    python bench/memory_runs.py [--runs 1000] [--kept 32] [--width 2048]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import httpx
from load import server

RUN = {"dataset": "xor", "data": {"samples": 200}, "hidden": [{"width": 8}], "epochs": 2, "throttle": 0}


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def finish(http, run_id):
    with http.stream("GET", f"/api/runs/{run_id}/events") as r:
        for _ in r.iter_lines():
            pass


def flat(url, pid, runs, warmup=50):
    with httpx.Client(base_url=url, timeout=60) as http:
        for i in range(runs + warmup):
            finish(http, http.post("/api/runs", json=RUN | {"seed": i}).json()["id"])
            if i == warmup - 1:
                start = rss_mb(pid)
        end = rss_mb(pid)
    print(
        f"{runs} sequential runs: server RSS {start:.0f} MB after {warmup} warm-up runs,"
        f" {end:.0f} MB at the end ({end - start:+.0f} MB)"
    )


def kept(url, pid, count, width):
    wide = {
        "dataset": "moons",
        "data": {"samples": 64},
        "hidden": [{"width": width}] * 8,
        "epochs": 1,
        "batch_size": 32,
        "throttle": 0,
    }
    with httpx.Client(base_url=url, timeout=600) as http:
        finish(http, http.post("/api/runs", json=RUN).json()["id"])  # the first run's one-off costs
        start = rss_mb(pid)
        for i in range(count):
            finish(http, http.post("/api/runs", json=wide | {"seed": i}).json()["id"])
        end = rss_mb(pid)
    parameters = 7 * width * width + 12 * width + 2
    print(
        f"{count} finished runs of 8 x {width} ({parameters / 1e6:.0f} M parameters) kept: server RSS"
        f" {start:.0f} MB before, {end:.0f} MB after ({(end - start) / count:+.1f} MB per run)"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000, help="small runs for the flat measure; 0: skip")
    parser.add_argument("--kept", type=int, default=32, help="wide runs kept; 0: skip")
    parser.add_argument("--width", type=int, default=2048)
    args = parser.parse_args()
    with server(2) as (url, pid):
        if args.kept:
            kept(url, pid, args.kept, args.width)
        if args.runs:
            flat(url, pid, args.runs)


if __name__ == "__main__":
    main()
