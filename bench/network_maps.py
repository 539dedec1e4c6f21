"""A network hyperparameter map (6 learning rates x 4 momenta = 24 short runs on moons) on the local
process pool and on a Dask LocalCluster of worker processes (app/jobs.py, app/dask_pool.py), against
the same specs run one after another in this process; then Dask's cost per task, what travels per
task, and what that predicts for 8 and 64 workers.

Every way runs core.nn.sweeps.run_job on the same specs, and their results are checked to be equal
(apart from timings). Each pool's start is measured apart. One BLAS thread everywhere. The ideal ratio
of the in-process loop to a pool is the number of free cores.

    OPENBLAS_NUM_THREADS=1 python bench/network_maps.py [--epochs 20] [--workers N] [--repeats 3]

Goal: the Dask map within 1.2x the local pool's on this machine.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import math
import pickle
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from app.dask_pool import DaskFactory
from app.jobs import JobLimits, JobManager
from core.nn.sweeps import run_job


def specs(epochs: int) -> list[dict]:
    config = {"dataset": "moons", "data": {"samples": 1000}, "hidden": [[32, "relu"], [32, "relu"]]}
    config |= {"optimizer": "momentum", "epochs": epochs, "batch_size": 16, "eval_train_size": 0}
    return [
        {
            "kind": "train",
            "config": config | {"hyper": {"lr": lr, "gamma": gamma}},
            "target": 0.9,
            "points": 50,
        }
        for lr in np.geomspace(1e-3, 1.0, 6).tolist()
        for gamma in (0.0, 0.5, 0.9, 0.99)
    ]


def tiny(n: int) -> list[dict]:
    """Specs that take about a millisecond: what is left of their time on a pool is its overhead."""
    config = {"dataset": "moons", "data": {"samples": 20}, "hidden": [[2, "relu"]], "epochs": 1}
    return [{"kind": "train", "config": config | {"seed": s}, "points": 1} for s in range(n)]


def started(factory, workers: int) -> tuple[JobManager, float]:
    manager = JobManager(JobLimits(workers=workers, max_specs=64), executor_factory=factory)
    t0 = time.perf_counter()
    on_pool(manager, tiny(1))  # starts the pool (processes, or the cluster) and its first task
    return manager, time.perf_counter() - t0


def on_pool(manager: JobManager, jobs: list[dict]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    job = manager.submit(jobs)
    while job.status == "running":
        time.sleep(0.002)
    assert job.failed == 0, [e for _, _, e in job.results if e]
    return time.perf_counter() - t0, {i: r for i, r, _ in job.results}


def in_process(jobs: list[dict]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    results = {i: run_job(spec) for i, spec in enumerate(jobs)}
    return time.perf_counter() - t0, results


def same(a: dict, b: dict) -> bool:
    strip = lambda r: {k: v for k, v in r.items() if k != "seconds"}  # noqa: E731
    return a.keys() == b.keys() and all(strip(a[i]) == strip(b[i]) for i in a)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    threadpool_limits(1)
    jobs = specs(args.epochs)
    load = os.getloadavg()[0]
    local, local_start = started(None, args.workers)
    dask, dask_start = started(DaskFactory(None), args.workers)
    ways = {"in-process loop": in_process, "local pool": local, "Dask LocalCluster": dask}
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeats):  # interleaved, so that a burst of load elsewhere hits each
        results = {}
        for name, way in ways.items():
            took, results[name] = way(jobs) if callable(way) else on_pool(way, jobs)
            seconds[name].append(took)
        assert same(results["in-process loop"], results["local pool"])
        assert same(results["in-process loop"], results["Dask LocalCluster"])

    # Overhead per task: tiny specs, whose own time (in-process) is taken off each pool's
    n_tiny = 64
    own = statistics.median(in_process(tiny(n_tiny))[0] for _ in range(3)) / n_tiny
    overhead, server_cpu = {}, {}
    for name in ("local pool", "Dask LocalCluster"):
        walls, cpus = [], []
        for _ in range(3):
            cpu = time.process_time()  # this process's threads: the manager, and Dask's client and scheduler
            walls.append(on_pool(ways[name], tiny(n_tiny))[0])
            cpus.append(time.process_time() - cpu)
        overhead[name] = statistics.median(walls) * args.workers / n_tiny - own  # a worker's share
        server_cpu[name] = statistics.median(cpus) / n_tiny
    in_flight = dask.pool().capacity
    local.shutdown(wait=True)
    dask.shutdown(wait=True)

    spec_bytes = [len(pickle.dumps((run_job, spec))) for spec in jobs]
    result_bytes = [len(pickle.dumps(r)) for r in results["Dask LocalCluster"].values()]
    best = {name: min(xs) for name, xs in seconds.items()}
    cell = best["in-process loop"] / len(jobs)
    times = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731

    print(f"{len(jobs)} short runs (moons, 2-32-32-2, {args.epochs} epochs each; lr x momentum map)")
    print(
        f"  cores: {os.cpu_count()}, workers: {args.workers} (Dask: {in_flight} tasks in flight);"
        f" load average {load:.1f} before, {os.getloadavg()[0]:.1f} after; results equal on all three"
    )
    print(f"  start + first task: local pool {local_start:.2f} s, Dask LocalCluster {dask_start:.2f} s")
    for name, xs in seconds.items():
        print(f"  {name + ':':<22}{best[name]:6.2f} s best of {args.repeats} ({times(xs)})")
    ratio = best["Dask LocalCluster"] / best["local pool"]
    print(f"  Dask / local pool:    {ratio:6.2f}x   (goal <= 1.2)")
    print(f"  in-process / Dask:    {best['in-process loop'] / best['Dask LocalCluster']:6.2f}x")
    print(
        f"  overhead per task (tiny specs of {1000 * own:.1f} ms each): local pool"
        f" {1000 * overhead['local pool']:.1f} ms, Dask {1000 * overhead['Dask LocalCluster']:.1f} ms;"
        f" of it, CPU in the server's process (the manager, and Dask's client and scheduler):"
        f" {1000 * server_cpu['local pool']:.1f} ms and {1000 * server_cpu['Dask LocalCluster']:.1f} ms"
    )
    print(
        f"  per task sent: {min(spec_bytes)}-{max(spec_bytes)} bytes (the function by name and the spec;"
        f" data is loaded on the worker); back: {min(result_bytes)}-{max(result_bytes)} bytes"
    )
    # W workers take ceil(N/W) rounds of (cell + overhead), but the server's process handles one task
    # at a time: N tasks need at least N x its CPU per task, however many workers there are.
    o, serial = overhead["Dask LocalCluster"], server_cpu["Dask LocalCluster"]
    print(
        f"  predicted on Dask from {1000 * cell:.0f} ms per cell, {1000 * o:.1f} ms overhead per task and"
        f" {1000 * serial:.1f} ms of server CPU per task (a floor of N x that):"
    )
    for cells in (len(jobs), 64, 400):
        row = []
        for workers in (8, 64):
            rounds = math.ceil(cells / workers) * (cell + o)
            row.append(f"{workers} workers {max(rounds, cells * serial):6.2f} s")
        print(f"    {cells:>4} cells: " + ", ".join(row) + f"  (one core: {cells * cell:6.1f} s)")
    print(
        f"    a cell of an MNIST map (27 s, a 20 x 20 map in 3 hours on one core) on 64 workers:"
        f" {math.ceil(400 / 64) * (27 + o) / 60:.1f} min for 400"
    )


if __name__ == "__main__":
    main()
