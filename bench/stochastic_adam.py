"""Stochastic Adam on McCormick with the seed's settings: the seed's literal process vs ours.

Seed settings: lr 0.01, β 0.9/0.999, 10 epochs of N = 2000 examples in batches of 4 (5,000 steps),
gradient noise σ = (16, 4). The reference redraws the whole fictional dataset at every step, as the
seed's `simulate_grad` does; ours draws the batch mean directly (core.landscape.noise.fast_noise). Adam's
update alone, without gradient or records, shows the ceiling for one path stepped by numpy.

    OPENBLAS_NUM_THREADS=1 python bench/stochastic_adam.py
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time

import numpy as np

from core.landscape.landscapes import get_landscape
from core.landscape.noise import GradientNoise
from core.landscape.paths import path, run_many
from core.optimizers import get_optimizer

N, BATCH, EPOCHS, LR = 2000, 4, 10, 0.01
STEPS = EPOCHS * N // BATCH
MCCORMICK = get_landscape("mccormick")


def seed_process(start, rs):
    """The seed's loop: N fresh per-example gradients per step, recentred, a batch without replacement."""
    params, m, v, t = np.array(start), np.zeros(2), np.zeros(2), 0
    for _epoch in range(EPOCHS):
        for _i in range(0, N, BATCH):
            t += 1
            true = np.array(MCCORMICK.grad(*params))
            dist_x = rs.normal(true[0], 16, size=(N, 1))
            dist_x += true[0] - dist_x.sum() / N
            dist_y = rs.normal(true[1], 4, size=(N, 1))
            dist_y += true[1] - dist_y.sum() / N
            grads = np.concatenate((dist_x, dist_y), axis=1)
            grad = grads[rs.choice(N, BATCH, replace=False), :].sum(axis=0) / BATCH
            m = 0.9 * m + 0.1 * grad
            v = 0.999 * v + 0.001 * grad**2
            params = params - LR / (np.sqrt(v / (1 - 0.999**t)) + 1e-8) * (m / (1 - 0.9**t))
            yield params


def rule_only(spec, hyper):
    """Adam's generator alone on one point with a fixed gradient: no landscape, noise or records.

    The ceiling for a path stepped by a numpy rule: each of its ufunc calls on two values costs
    about as much as it would on a thousand.
    """
    params, grad = np.array([[-1.0], [2.75]]), np.full((2, 1), 0.5)
    opt = spec.make(params, dict(hyper))
    next(opt)
    for _ in range(STEPS):
        opt.send(grad)


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    spec = get_optimizer("adam")
    hyper = spec.hyperparameters(lr=LR)
    noise = GradientNoise(16.0, 4.0, N, BATCH)
    start = (-1.0, 2.75)

    seed_s = best_of(lambda: list(seed_process(start, np.random.RandomState(0))))
    path_s = best_of(lambda: list(path(MCCORMICK, spec, hyper, start, STEPS, noise, seed=0, tol=0)))
    rule_s = best_of(lambda: rule_only(spec, hyper))
    loop_s = best_of(lambda: run_many(MCCORMICK, spec, hyper, np.array([start]).T, STEPS, noise, seed=0))
    lanes = 1000
    many_s = best_of(
        lambda: run_many(
            MCCORMICK, spec, hyper, np.tile(np.array([start]).T, lanes), STEPS, noise, seed=range(lanes)
        ),
        repeat=1,
    )

    rate = STEPS / seed_s
    print(f"{STEPS} steps of stochastic Adam on McCormick (N={N}, batch {BATCH}, lr {LR}), one BLAS thread")
    print(f"{'':48}{'steps/s':>12}{'vs seed':>10}")
    print(f"{'seed process (N draws per step)':48}{rate:12,.0f}{1:10.1f}x")
    rows = [
        ("ours, core.landscape.paths.path (full step records)", STEPS / path_s),
        ("ours, run_many, 1 path", STEPS / loop_s),
        ("Adam's update alone (no gradient, no records)", STEPS / rule_s),
        (f"ours, run_many, {lanes} seeds at once", lanes * STEPS / many_s),
    ]
    for label, r in rows:
        print(f"{label:48}{r:12,.0f}{r / rate:10.1f}x")
    print(
        f"one step: seed {1e6 / rate:.1f} us, ours {1e6 * path_s / STEPS:.1f} us, Adam's update alone"
        f" {1e6 * rule_s / STEPS:.1f} us; 50x would need {1e6 / rate / 50:.1f} us"
    )


if __name__ == "__main__":
    main()
