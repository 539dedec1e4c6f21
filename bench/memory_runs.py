"""Memory over 1,000 sequential training runs through the API: RSS of the server at the start
(after a warm-up) and at the end. Goal: flat.

    python bench/memory_runs.py [--runs 1000]
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    warmup = 50
    with server(2) as (url, pid), httpx.Client(base_url=url, timeout=60) as http:
        for i in range(args.runs + warmup):
            finish(http, http.post("/api/runs", json=RUN | {"seed": i}).json()["id"])
            if i == warmup - 1:
                start = rss_mb(pid)
        end = rss_mb(pid)
    print(
        f"{args.runs} sequential runs: server RSS {start:.0f} MB after {warmup} warm-up runs,"
        f" {end:.0f} MB at the end ({end - start:+.0f} MB)"
    )


if __name__ == "__main__":
    main()
