"""What the sharpness probe costs: training with `sharpness_every` = 100 against the same training without
it, in one process, one BLAS thread. Goal: at most 1.10.

- (a) the seed's MNIST network, 784-600-10 ReLU/softmax/cross-entropy, He/Xavier, SGD η 0.02, on 10,240
  images, at batch 16 (the seed's), 128 and 512. A probe costs about (1 + k) float64 gradient passes
  over core.nn.sharpness.EXAMPLES = 512 examples (k ≈ 3 Lanczos products when warm), 100 steps cost
  100 float32 passes over a batch: the probe fits in 10 % only from batches of about 512 on (the lab's
  setting for sharpness: large batches, where the edge of stability shows); smaller batches pay more.
- (b) bench/edge_of_stability.py's setting: full-batch GD on 784-200-200-200-10 tanh/MSE over 500 images,
  η = 0.07, 3,000 steps (the cold first probe, progressive sharpening and the edge itself).

Both runs go through core.nn.training.train with evaluation held back (a 60 s throttle, 100 images
scored), so the ratio is the probe's against the steps'; the time is the whole run's, the first probe
(a cold start) included. Best of --repeat, the two orders alternating.

    OPENBLAS_NUM_THREADS=1 DESCENT_DATA_DIR=... python bench/sharpness_cost.py [--repeat 2] [--only 3,5]
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from edge_of_stability import EDGE_OF_STABILITY

from core.nn.recipes import SEED_MNIST
from core.nn.sharpness import EXAMPLES
from core.nn.training import TrainConfig, load_data, train

QUIET = {"throttle": 60.0, "eval_train_size": 100, "chunk": 1000}  # evaluation held back
SEED_DATA = {"train_size": 10_240, "test_size": 100}
CASES = [
    (f"(a) seed network, batch {batch}", {**SEED_MNIST, "data": SEED_DATA, "batch_size": batch}, 2_000)
    for batch in (16, 128, 512, 1024)
] + [("(b) edge of stability, η 0.07", {**EDGE_OF_STABILITY, "hyper": {"lr": 0.07}}, 3_000)]


def seconds(fields: dict, steps: int, every: int, split) -> tuple[float, int]:
    """Wall time of one whole run of `steps` steps, and how many probes it made."""
    per_epoch = -(-len(split.y_train) // fields["batch_size"])
    config = TrainConfig(**{**fields, **QUIET, "epochs": -(-steps // per_epoch), "sharpness_every": every})
    probes, start = 0, time.perf_counter()
    for event in train(config, split=split):
        probes += event["type"] == "sharpness"
    return time.perf_counter() - start, probes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", help="the cases to run, by number from 1, e.g. 3,5")
    args = parser.parse_args()
    chosen = {int(i) for i in args.only.split(",")} if args.only else set(range(1, len(CASES) + 1))
    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    print(f"Sharpness every 100 steps against none; {threads} BLAS thread(s), best of {args.repeat}")
    print(f"probe: the first {EXAMPLES} training examples, float64, warm-started Lanczos")
    columns = {"steps": 6, "without": 8, "with": 8, "probes": 7, "per probe": 10, "ratio": 6}
    print(f"  {'case':32} " + " ".join(f"{name:>{width}}" for name, width in columns.items()))
    for number, (label, fields, steps) in enumerate(CASES, 1):
        if number not in chosen:
            continue
        split = load_data(TrainConfig(**fields))
        plain, probed, probes = [], [], 0
        for i in range(args.repeat):
            for every in (0, 100) if i % 2 == 0 else (100, 0):
                elapsed, count = seconds(fields, steps, every, split)
                (probed if every else plain).append(elapsed)
                probes = max(probes, count)
        without, with_ = min(plain), min(probed)
        per_probe = (with_ - without) / probes
        print(
            f"  {label:32} {steps:>6} {without:7.2f}s {with_:7.2f}s {probes:>7} {per_probe * 1e3:8.1f}ms"
            f" {with_ / without:6.3f}"
        )
    print("goal: ratio <= 1.10")


if __name__ == "__main__":
    main()
