"""Weight initializations W ~ D(m, n) for a layer with m inputs and n neurons; biases start at zero.

Each sampler takes an `np.random.Generator` (never the global np.random), so a seed fixes every
weight. Samples are drawn in float64 and cast by the caller: the same seed gives the same network
in float32 and in float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.params import by_name, lookup


def gaussian(rng: np.random.Generator, inputs: int, neurons: int) -> np.ndarray:
    """W ~ N(0, 1): the seed's first, naive initialization."""
    return rng.standard_normal((inputs, neurons))


def xavier(rng: np.random.Generator, inputs: int, neurons: int) -> np.ndarray:
    """W ~ U(−√(6/(m+n)), √(6/(m+n))), Glorot and Bengio (2010)."""
    limit = np.sqrt(6 / (inputs + neurons))
    return rng.uniform(-limit, limit, (inputs, neurons))


def he(rng: np.random.Generator, inputs: int, neurons: int) -> np.ndarray:
    """W ~ N(0, 2/m), He et al. (2015): keeps the activation variance stable through ReLU layers."""
    return rng.standard_normal((inputs, neurons)) * np.sqrt(2 / inputs)


@dataclass(frozen=True)
class Init:
    name: str
    label: str
    formula: str  # one line, for display
    sample: Callable  # (rng, inputs, neurons) -> float64 array of shape (inputs, neurons)
    reference: str = ""


INITS: dict[str, Init] = by_name(
    [
        Init("gaussian", "Gaussian N(0, 1)", "W ~ N(0, 1)", gaussian),
        Init("xavier", "Xavier (Glorot uniform)", "W ~ U(±√(6/(m+n)))", xavier, "Glorot and Bengio (2010)"),
        Init("he", "He (normal)", "W ~ N(0, 2/m)", he, "He et al. (2015)"),
    ]
)


def get_init(name: str) -> Init:
    return lookup(INITS, name, "init")
