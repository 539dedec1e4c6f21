"""The tuning maps, vectorized against a plain loop (goal: the 100 × 100 McCormick map in < 2 s).

1. Hyperparameter map: momentum on McCormick, 100 learning rates × 100 values of γ, 500 steps, exact
   gradients: 10,000 paths in one run_many call (core.landscape.tuning.hyper_map).
2. Start-point map: SGD on Himmelblau from a 100 × 100 grid of starts, 1,000 steps
   (core.landscape.tuning.start_map).

Each is compared with the same map computed one path at a time through core.landscape.paths.path, timed on a
sample of cells and scaled, and the sampled cells are checked against the map.

    OPENBLAS_NUM_THREADS=1 python bench/maps.py
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time

import numpy as np

from core.landscape.landscapes import get_landscape
from core.landscape.paths import Steps, path
from core.landscape.tuning import axis_values, hyper_map, start_grid, start_map
from core.optimizers import get_optimizer

SIDE, SAMPLE, REPEATS = 100, 60, 3


def best_of(fn):
    best, out = float("inf"), None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def final_loss(landscape, spec, hyper, start, steps):
    """The loss at the end of one path run alone (its last finite point if it diverged)."""
    *chunks, _outcome = path(landscape, spec, hyper, start, steps, tol=0)
    return Steps.join([c for c in chunks if isinstance(c, Steps)]).loss[-1]


def loop_time(cells, run_one):
    t0 = time.perf_counter()
    values = [run_one(*cell) for cell in cells]
    return (time.perf_counter() - t0) / len(cells), values


def report(title, cells, fast, per_path):
    loop = per_path * cells
    print(title)
    print(f"  vectorized (run_many), all at once:  {fast:8.2f} s   ({cells / fast:,.0f} paths/s)")
    print(f"  one path at a time (scaled):         {loop:8.2f} s")
    print(f"  ratio:                               {loop / fast:8.0f}x")


def hyperparameter_map(rng):
    ls, spec = get_landscape("mccormick"), get_optimizer("momentum")
    hyper, steps = spec.hyperparameters(), 500
    lrs, gammas = np.geomspace(1e-4, 1.0, SIDE), axis_values(spec.params[1], 0.0, 0.999, SIDE)
    fast, m = best_of(lambda: hyper_map(ls, spec, hyper, ls.start, steps, lrs, "gamma", gammas))
    cells = [
        (int(i), int(j))
        for i, j in zip(rng.integers(0, SIDE, SAMPLE), rng.integers(0, SIDE, SAMPLE), strict=True)
    ]
    per_path, values = loop_time(
        cells, lambda i, j: final_loss(ls, spec, {**hyper, "lr": lrs[j], "gamma": gammas[i]}, ls.start, steps)
    )
    for (i, j), v in zip(cells, values, strict=True):
        if m.diverged_at[i, j] == 0:
            np.testing.assert_allclose(m.final_loss[i, j], v, rtol=1e-9)
    report(
        f"Hyperparameter map: momentum on McCormick, {SIDE} η × {SIDE} γ, {steps} steps each",
        SIDE * SIDE,
        fast,
        per_path,
    )
    print(f"  goal < 2 s: {'met' if fast < 2 else 'MISSED'}")


def starts_map(rng):
    ls, spec = get_landscape("himmelblau"), get_optimizer("sgd")
    hyper, steps = spec.hyperparameters(lr=ls.lr["gd"]), 1000
    xs, ys = start_grid(ls, SIDE, SIDE)
    fast, m = best_of(lambda: start_map(ls, spec, hyper, steps, xs, ys))
    cells = [
        (int(i), int(j))
        for i, j in zip(rng.integers(0, SIDE, SAMPLE), rng.integers(0, SIDE, SAMPLE), strict=True)
    ]
    per_path, values = loop_time(cells, lambda i, j: final_loss(ls, spec, hyper, (xs[j], ys[i]), steps))
    for (i, j), v in zip(cells, values, strict=True):
        np.testing.assert_allclose(m.final_loss[i, j], v, rtol=1e-9, atol=1e-12)
    report(
        f"Start-point map: SGD on Himmelblau from {SIDE} × {SIDE} starts, {steps} steps "
        f"({m.global_share:.0%} reach a global minimum)",
        SIDE * SIDE,
        fast,
        per_path,
    )


def main():
    rng = np.random.default_rng(0)
    print(f"one BLAS thread; best of {REPEATS}; loop timed on {SAMPLE} sampled cells\n")
    hyperparameter_map(rng)
    print()
    starts_map(rng)


if __name__ == "__main__":
    main()
