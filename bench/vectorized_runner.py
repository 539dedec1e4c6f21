"""10,000 Adam paths x 1,000 steps on McCormick with exact gradients, all at once (goal: < 2 s).

Compared with the same paths run one at a time through core.landscape.paths.path (timed on a sample of 100
paths and scaled), in the same process.

    OPENBLAS_NUM_THREADS=1 python bench/vectorized_runner.py
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time

import numpy as np

from core.landscape.landscapes import get_landscape
from core.landscape.paths import path, run_many
from core.optimizers import get_optimizer

PATHS, STEPS, SAMPLE = 10_000, 1_000, 100


def main():
    ls = get_landscape("mccormick")
    spec = get_optimizer("adam")
    hyper = spec.hyperparameters(lr=0.01)
    (x0, x1), (y0, y1) = ls.domain
    rng = np.random.default_rng(0)
    starts = np.stack([rng.uniform(x0, x1, PATHS), rng.uniform(y0, y1, PATHS)])

    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        many = run_many(ls, spec, hyper, starts, STEPS)
        best = min(best, time.perf_counter() - t0)

    t0 = time.perf_counter()
    finals = []
    for j in range(SAMPLE):
        *_, last, _outcome = path(ls, spec, hyper, starts[:, j], STEPS, tol=0)
        finals.append((last.x[-1], last.y[-1]))
    loop = (time.perf_counter() - t0) * PATHS / SAMPLE
    np.testing.assert_allclose(np.array(finals).T, many.final[:, :SAMPLE], rtol=1e-9)

    print(f"{PATHS:,} paths x {STEPS:,} steps of Adam (exact gradients, McCormick), one BLAS thread")
    rate = PATHS * STEPS / best / 1e6
    print(f"  run_many, all at once:        {best:8.2f} s   ({rate:.1f} M steps/s; goal < 2 s)")
    print(f"  one path at a time (scaled):  {loop:8.2f} s")
    print(f"  ratio:                        {loop / best:8.0f}x")


if __name__ == "__main__":
    main()
