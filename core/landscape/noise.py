"""Simulated stochastic gradients on 2D landscapes (the seed's "Simulated Stochasticity").

A fictional dataset of N examples has per-example gradients drawn around the true gradient with a
standard deviation per axis, recentred so their mean is exactly the true gradient. A step averages a
mini-batch drawn without replacement; an epoch is ⌈N/b⌉ steps, the last batch holding what is left.

`literal_noise` does exactly that (N draws per step) and is kept as the reference. `fast_noise`, the
default, draws the batch mean directly: the recentred mean of b of N Gaussian draws is Gaussian with
variance σ²·(1/b − 1/N), so per axis g̃ = g + σ·√(1/b − 1/N)·z. Batch size N gives the true gradient.

Both work on gradients of shape (2, P): P paths at once. The fast noise of a path depends only on its
seed: one seed for all paths gives them all the same noise; one seed per path makes each path
identical to running it alone with that seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.params import Param

NOISE_PARAMS = (
    Param("sigma_x", "σ of ∂f/∂x", 16.0, 0.0, 1000.0, help="spread of per-example gradients"),
    Param("sigma_y", "σ of ∂f/∂y", 4.0, 0.0, 1000.0),
    Param("dataset_size", "dataset size N", 2000, 1, 1_000_000, log=True, integer=True),
    Param("batch_size", "batch size b", 4, 1, 1_000_000, log=True, integer=True),
)
_BLOCK = 256  # steps of noise drawn at once
Seeds = int | Sequence[int] | np.ndarray  # one seed, or one per lane (a list or an int array)


@dataclass(frozen=True)
class GradientNoise:
    sigma_x: float = 16.0
    sigma_y: float = 4.0
    dataset_size: int = 2000
    batch_size: int = 4

    def __post_init__(self):
        for p in NOISE_PARAMS:
            object.__setattr__(self, p.name, p.check(getattr(self, p.name)))
        if self.batch_size > self.dataset_size:
            raise ValueError(
                f"batch_size must be in [1, dataset_size = {self.dataset_size}], got {self.batch_size}"
            )

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.dataset_size // self.batch_size)

    def batch_sizes(self, steps: int, first: int = 0) -> np.ndarray:
        """The batch size of steps first, first + 1, ...: b, b, ..., then the epoch's remainder."""
        last = self.dataset_size - self.batch_size * (self.steps_per_epoch - 1)
        k = np.arange(first, first + steps) % self.steps_per_epoch
        return np.where(k == self.steps_per_epoch - 1, last, self.batch_size)

    def scales(self, steps: int, first: int = 0) -> np.ndarray:
        """(steps, 2): standard deviation of the batch-mean gradient per axis at steps first, ..."""
        b = self.batch_sizes(steps, first)[:, None]
        sigma = np.array([self.sigma_x, self.sigma_y])
        return sigma * np.sqrt(np.maximum(1 / b - 1 / self.dataset_size, 0.0))


def fast_noise(noise: GradientNoise, steps: int, seed: Seeds):
    """perturb(grad, k): add step k's batch-mean noise to `grad` (2, P) in place and return it.

    The draws come block by block, so `steps` (the path's length, as literal_noise takes it) does
    not change them."""
    seeds = np.atleast_1d(np.asarray(seed, dtype=np.int64))
    rngs = [np.random.default_rng(int(s)) for s in seeds]
    block, first = None, -_BLOCK

    def perturb(grad, k):
        nonlocal block, first
        if not first <= k < first + _BLOCK:
            first = k - k % _BLOCK
            # draws for steps [first, first + _BLOCK): each lane's stream is its seed's alone
            block = np.stack([rng.standard_normal((_BLOCK, 2)) for rng in rngs], axis=-1)
            block *= noise.scales(_BLOCK, first)[:, :, None]
        grad += block[k - first]
        return grad

    return perturb


def literal_noise(noise: GradientNoise, steps: int, seed: int):
    """The reference: per step, N per-example gradients, recentred, a batch without replacement."""
    rng = np.random.default_rng(seed)
    sizes = noise.batch_sizes(steps)
    sigma = np.array([noise.sigma_x, noise.sigma_y])[:, None, None]
    n = noise.dataset_size

    def perturb(grad, k):
        examples = rng.normal(grad[..., None], sigma, size=(*grad.shape, n))
        examples += grad[..., None] - examples.mean(axis=-1, keepdims=True)
        batch = rng.choice(n, sizes[k], replace=False)
        grad[...] = examples[..., batch].mean(axis=-1)
        return grad

    return perturb
