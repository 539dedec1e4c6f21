"""A 2-racer MNIST race against each racer trained alone, on the server's own machinery.

Each racer trains in a process of its own (app/runs.py), exactly as POST /api/races starts them, with
its weight snapshots sent to the server after each evaluation. The measure is the `epoch` event's
`seconds` (the wall time of the epoch's training steps, evaluation excluded), for the same config
trained alone (one run) and in the race (two runs at once, one per core).

    DESCENT_DATA_DIR=/path/to/mnist python bench/network_race.py [--train-size 10000] [--epochs 2]

Goal: each racer's epoch ≤ 1.15× its solo epoch on a 2-core machine. One BLAS thread per process.
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse
import statistics

import orjson

from app.runs import Limits, Run, RunManager
from core.nn.race import Racer, racer_configs
from core.nn.recipes import RECIPES

RACERS = [Racer("sgd", {"lr": 0.02}), Racer("momentum", {"lr": 0.01, "gamma": 0.9})]


def epoch_seconds(run: Run) -> list[float]:
    run.join()
    return [orjson.loads(text)["seconds"] for text in run.history.records["epochs"]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train-size", type=int, default=10_000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeat", type=int, default=2, help="solo and race runs, alternated")
    args = p.parse_args()
    base = RECIPES["seed_mnist"].config(
        data={"train_size": args.train_size, "test_size": 2000}, epochs=args.epochs, throttle=0.1
    )
    configs = racer_configs(base, RACERS)
    manager = RunManager(Limits(max_active=4, idle_seconds=3600))
    solo: dict[int, list[float]] = {0: [], 1: []}
    raced: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(args.repeat):
        for k, config in enumerate(configs):
            solo[k] += epoch_seconds(manager.create(config))
        runs = manager.create_race(configs, lambda k, step, weights: None)
        for k, run in enumerate(runs):
            raced[k] += epoch_seconds(run)
    print(f"784-600-10 on {args.train_size:,} MNIST images, batch 16, {args.epochs} epochs × {args.repeat}")
    print(f"{'racer':<22}{'solo epoch (s)':>16}{'raced epoch (s)':>17}{'ratio':>8}  goal ≤ 1.15")
    for k, racer in enumerate(RACERS):
        a, b = statistics.median(solo[k]), statistics.median(raced[k])
        print(f"{k} {racer.optimizer:<20}{a:>16.3f}{b:>17.3f}{b / a:>8.3f}")


if __name__ == "__main__":
    main()
