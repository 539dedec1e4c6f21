"""Learning-rate schedules: a multiplier on η for step k (0-based) of a run of `steps` steps.

A schedule composes with any optimizer: the driver sets hp["lr"] = η·factor(k) before each step.
Every factor takes an array of step indices, so a whole run's rates come from one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.params import Param, by_name, lookup, resolve


def constant(k, steps):
    return np.ones_like(k, dtype=float)


def step_decay(k, steps, every=100, gamma=0.5):
    return gamma ** (k // every)


def exponential(k, steps, gamma=0.995):
    return gamma**k


def cosine(k, steps, floor=0.0):
    return floor + (1 - floor) * (1 + np.cos(math.pi * np.minimum(k, steps) / steps)) / 2


def warmup(k, steps, warmup_steps=100):
    return np.minimum(1.0, (k + 1) / warmup_steps)


def lr_range(k, steps, span=1e4):
    """Smith's learning-rate range test: η/s at the first step, growing exponentially to η at the last."""
    return float(span) ** (np.minimum(k, steps - 1) / max(steps - 1, 1) - 1.0)


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    label: str
    formula: str
    factor: Callable  # factor(k, steps, **params) -> multiplier of η
    params: tuple[Param, ...] = ()

    def bind(self, steps: int, /, **given: float) -> Callable:
        """factor(k) for a run of `steps` steps, parameters checked."""
        values = resolve(self.params, given, f"schedule {self.name!r}")
        return lambda k: self.factor(k, steps, **values)


SCHEDULES: dict[str, ScheduleSpec] = by_name(
    [
        ScheduleSpec("constant", "Constant", "ηₖ = η", constant),
        ScheduleSpec(
            "step",
            "Step decay",
            "ηₖ = η·γ^⌊k/n⌋",
            step_decay,
            (
                Param("every", "every n steps", 100, 1, 100_000, log=True, integer=True),
                Param("gamma", "factor γ", 0.5, 0.01, 1.0),
            ),
        ),
        ScheduleSpec(
            "exponential",
            "Exponential decay",
            "ηₖ = η·γᵏ",
            exponential,
            (Param("gamma", "factor γ per step", 0.995, 0.9, 1.0),),
        ),
        ScheduleSpec(
            "cosine",
            "Cosine annealing",
            "ηₖ = η·(f + (1−f)·(1 + cos(πk/K))/2)",
            cosine,
            (Param("floor", "final fraction f", 0.0, 0.0, 1.0),),
        ),
        ScheduleSpec(
            "warmup",
            "Linear warmup",
            "ηₖ = η·min(1, (k+1)/w)",
            warmup,
            (Param("warmup_steps", "warmup steps w", 100, 1, 100_000, log=True, integer=True),),
        ),
        ScheduleSpec(
            "lr_range",
            "LR range test (exponential growth)",
            "ηₖ = η·s^(k/(K−1) − 1)",
            lr_range,
            (Param("span", "span s (last over first rate)", 1e4, 1.0, 1e10, log=True),),
        ),
    ]
)


def get_schedule(name: str, steps: int, /, **params: float) -> Callable:
    """factor(k) of schedule `name` for a run of `steps` steps."""
    return lookup(SCHEDULES, name, "schedule").bind(steps, **params)
