"""A small network hyperparameter map (6 learning rates x 4 momenta = 24 short runs on moons) on the
process pool of app/jobs.py, against the same jobs run one after another in this process.

Both run core.nn.sweeps.run_job on the same specs (their results are checked to agree); the pool's time
includes starting its processes, measured apart. One BLAS thread everywhere. The ideal ratio is the
number of free cores.

    OPENBLAS_NUM_THREADS=1 python bench/network_maps.py [--epochs 20] [--workers N] [--repeats 3]
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

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


def on_pool(manager: JobManager, jobs: list[dict]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    job = manager.submit(jobs)
    while job.status == "running":
        time.sleep(0.005)
    assert job.failed == 0, [e for _, _, e in job.results if e]
    return time.perf_counter() - t0, {i: r for i, r, _ in job.results}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    threadpool_limits(1)
    jobs = specs(args.epochs)
    manager = JobManager(JobLimits(workers=args.workers, max_specs=len(jobs)))

    load = os.getloadavg()[0]
    start, _ = on_pool(manager, jobs[:1])  # starts the fork server and the worker processes
    pool, serial = [], []
    for _ in range(args.repeats):  # interleaved, so that a burst of load elsewhere hits both
        seconds, pooled = on_pool(manager, jobs)
        pool.append(seconds)
        t0 = time.perf_counter()
        local = [run_job(spec) for spec in jobs]
        serial.append(time.perf_counter() - t0)
        for i, result in enumerate(local):
            assert result["curve"] == pooled[i]["curve"] and result["accuracy"] == pooled[i]["accuracy"]
    manager.shutdown(wait=True)

    times = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    print(f"{len(jobs)} short runs (moons, 2-32-32-2, {args.epochs} epochs each; lr x momentum map)")
    print(
        f"  cores: {os.cpu_count()}, pool workers: {args.workers}; load average {load:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    print(f"  pool start + first run:            {start:6.2f} s (once per server)")
    print(
        f"  one after another, in-process:     {min(serial):6.2f} s best of {args.repeats} ({times(serial)})"
    )
    print(f"  on the process pool:               {min(pool):6.2f} s best of {args.repeats} ({times(pool)})")
    print(f"  ratio (best / best):               {min(serial) / min(pool):6.2f}x")


if __name__ == "__main__":
    main()
