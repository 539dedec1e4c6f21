"""One MNIST epoch of the seed's network (784-600-10, ReLU/softmax, SGD lr 0.02, batch 16, L2 2e-4):
ours against PyTorch CPU and against the GEMM-bound floor, plus the cost of streaming events.

- ours: core.nn.training.train, the epoch event's `seconds` (training steps only).
- PyTorch: torch 2.13 CPU, the same layers and SGD (weight_decay 4e-4 = the seed's 2λ), the same
  shuffled index slices per batch, one thread.
- floor: the epoch's matmul FLOPs divided by a measured float32 GEMM rate (1024³, one thread).
- budget: what 1.5x the floor leaves per batch beyond the matmuls at their own shapes, next to the
  cost of one numpy pass over the parameters (the update and the L2 term each take two).
- streaming: train() with every event serialized by orjson (as the server does) against a bare loop
  over the same network, batches and optimizer with no events at all.

    OPENBLAS_NUM_THREADS=1 DESCENT_DATA_DIR=... python bench/mnist_epoch.py [--repeat 3]
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time

import numpy as np
import orjson

from core.data.datasets import one_hot
from core.data.mnist import load
from core.nn.training import TrainConfig, network_for, train
from core.optimizers import get_optimizer

CONFIG = TrainConfig(
    dataset="mnist",
    hidden=((600, "relu"),),
    optimizer="sgd",
    hyper={"lr": 0.02},
    batch_size=16,
    epochs=1,
    l2=2e-4,
)


def ours(split) -> float:
    for event in train(CONFIG, split=split):
        orjson.dumps(event, option=orjson.OPT_SERIALIZE_NUMPY)
        if event["type"] == "epoch":
            return event["seconds"]
    raise RuntimeError("no epoch event")


def bare(split) -> float:
    """The same work as one epoch of train(), with no events, evaluation or bookkeeping."""
    net = network_for(CONFIG, split)
    spec = get_optimizer("sgd")
    hp = spec.hyperparameters(lr=0.02)
    opt = spec.make(net.params, hp)
    next(opt)
    targets = one_hot(split.y_train, 10)
    order = np.random.default_rng(0).permutation(len(targets))
    start = time.perf_counter()
    for i in range(0, len(order), 16):
        rows = order[i : i + 16]
        net.loss_and_grad(split.x_train[rows], targets[rows])
        net.add_regularization(0.0, 2e-4)
        opt.send(net.grad)
    return time.perf_counter() - start


def torch_epoch(split) -> float:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 600), torch.nn.ReLU(), torch.nn.Linear(600, 10))
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, weight_decay=4e-4)
    # writable copies: torch warns about the loader's read-only arrays
    x, y = torch.from_numpy(np.array(split.x_train)), torch.from_numpy(np.array(split.y_train))
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(y)))
    start = time.perf_counter()
    for i in range(0, len(order), 16):
        rows = order[i : i + 16]
        loss = loss_fn(model(x[rows]), y[rows])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def gemm_rate() -> float:
    """float32 FLOP/s of one large matrix product on one thread (best of 5)."""
    a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
    out = np.empty_like(a)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        np.matmul(a, a, out=out)
        best = min(best, time.perf_counter() - t)
    return 2 * 1024**3 / best


def shaped_floor(n: int, batch: int = 16) -> float:
    """Seconds for one epoch's matmuls alone, each timed at its own shape (best of 50)."""
    rng = np.random.default_rng(0)
    x, dz1 = rng.random((batch, 784), np.float32), rng.random((batch, 600), np.float32)
    w1, w2, dz2 = (
        rng.random((784, 600), np.float32),
        rng.random((600, 10), np.float32),
        rng.random((batch, 10), np.float32),
    )
    a1 = rng.random((batch, 600), np.float32)
    products = [(x, w1), (x.T, dz1), (a1, w2), (a1.T, dz2), (dz2, w2.T)]
    total = 0.0
    for a, b in products:
        out = np.empty((a.shape[0], b.shape[1]), np.float32)
        best = float("inf")
        for _ in range(50):
            t = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - t)
        total += best
    return total * -(-n // batch)


def parameter_pass() -> float:
    """Seconds for one numpy pass over the network's parameters (out = c·params; best of 50)."""
    params = np.random.default_rng(0).random(784 * 600 + 600 + 600 * 10 + 10, np.float32)
    out = np.empty_like(params)
    best = float("inf")
    for _ in range(50):
        t = time.perf_counter()
        np.multiply(params, np.float32(0.5), out=out)
        best = min(best, time.perf_counter() - t)
    return best


def epoch_flops(n: int, batch: int = 16) -> float:
    """Matmul FLOPs of one epoch: forward and weight gradients of both layers, ∂L/∂x of the second."""
    per_example = 2 * (784 * 600 * 2 + 600 * 10 * 3)
    return per_example * n


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    split = load("mnist", progress=False)
    n = len(split.y_train)
    rate = gemm_rate()
    floor = epoch_flops(n) / rate
    shaped = shaped_floor(n)
    one_pass = parameter_pass()
    runs = {"ours (train)": [], "ours (bare loop)": [], "PyTorch": []}
    for _ in range(args.repeat):
        runs["ours (train)"].append(ours(split))
        runs["ours (bare loop)"].append(bare(split))
        runs["PyTorch"].append(torch_epoch(split))
    best = {k: min(v) for k, v in runs.items()}
    print(f"MNIST epoch, 784-600-10, batch 16, float32, one thread; best of {args.repeat}")
    print(f"  GEMM rate {rate / 1e9:.1f} GFLOP/s -> floor {floor:.2f} s for {epoch_flops(n) / 1e9:.1f} GFLOP")
    for name, seconds in best.items():
        print(f"  {name:18} {seconds:6.2f} s   all runs: {', '.join(f'{s:.2f}' for s in runs[name])}")
    print(f"  ours / PyTorch       {best['ours (train)'] / best['PyTorch']:.2f}   (goal <= 0.5)")
    print(f"  ours / GEMM floor    {best['ours (train)'] / floor:.2f}   (goal <= 1.5)")
    print(
        f"  ours / the same matmuls timed at their own shapes ({shaped:.2f} s)"
        f"  {best['ours (train)'] / shaped:.2f}"
    )
    left = (1.5 * floor - shaped) / -(-n // 16)
    print(
        f"  at 1.5x the floor, {left * 1e6:.0f} us per batch are left beyond those matmuls;"
        f" one numpy pass over the parameters takes {one_pass * 1e6:.0f} us (SGD with L2 takes four)"
    )
    print(f"  streaming overhead   {best['ours (train)'] / best['ours (bare loop)'] - 1:+.1%} (goal <= 5%)")


if __name__ == "__main__":
    main()
