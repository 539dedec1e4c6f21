"""Optimizer paths on landscapes: one path as a stream of steps, or many paths at once as arrays.

Both run the same loop (`_descend`): the true gradient, optional simulated noise, the learning-rate
schedule, then one `send` to the optimizer generator, on parameters of shape (2, P).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.landscapes import Landscape
from core.noise import GradientNoise, fast_noise
from core.optimizers import OptimizerSpec


@dataclass(frozen=True, slots=True)
class Step:
    """The point after update `step` (0: the start), with what produced it."""

    step: int
    x: float
    y: float
    loss: float
    lr: float  # learning rate of this update
    gx: float  # gradient this update used (noisy when noise is on)
    gy: float
    grad_norm: float
    state: dict[str, tuple[float, float]]  # optimizer buffers after the update


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a path ended: "done" (all steps taken), "converged" or "diverged", at step `step`."""

    status: str
    step: int
    message: str
    distance: float  # from the last finite point to the nearest known minimum
    minimum: int  # index of that minimum in landscape.minima


def default_tol(landscape: Landscape) -> float:
    """Convergence radius: a thousandth of the plot domain's diagonal."""
    (x0, x1), (y0, y1) = landscape.domain
    return 1e-3 * math.hypot(x1 - x0, y1 - y0)


def _descend(
    landscape: Landscape,
    optimizer: OptimizerSpec,
    hyper: Mapping,
    params: np.ndarray,
    steps: int,
    noise: GradientNoise | None,
    schedule: Callable | None,
    seed: int | Sequence[int],
) -> Iterator[tuple[int, np.ndarray, object, dict]]:
    """Move `params` (2, P) in place; yield (k, grad, lr, state) after each update k = 1..steps.

    First yields (0, grad, lr, state) before any update: the initial state and the first rate.
    """
    hp = dict(hyper)
    factors = np.ones(steps) if schedule is None else schedule(np.arange(steps))
    rates = np.multiply.outer(factors, hp["lr"])
    perturb = fast_noise(noise, steps, seed) if noise is not None else None
    grad = np.empty_like(params)
    opt = optimizer.make(params, hp)
    _, state = next(opt)
    yield 0, grad, rates[0], state
    for k in range(steps):
        hp["lr"] = rates[k]
        with np.errstate(all="ignore"):
            grad[0], grad[1] = landscape.grad(params[0], params[1])
            if perturb is not None:
                perturb(grad, k)
            opt.send(grad)
        yield k + 1, grad, hp["lr"], state


def path(
    landscape: Landscape,
    optimizer: OptimizerSpec,
    hyper: Mapping[str, float],
    start: tuple[float, float],
    steps: int,
    noise: GradientNoise | None = None,
    schedule: Callable | None = None,
    seed: int = 0,
    tol: float | None = None,
) -> Iterator[Step | Outcome]:
    """Yield the start, then one Step per update, then an Outcome; never a non-finite number.

    Stops early when the point sits within `tol` of a known minimum and moved less than `tol`
    (converged), or when the loss stops being finite or the point is ten domain widths out (diverged).
    """
    tol = default_tol(landscape) if tol is None else tol
    minima = landscape.minima
    params = np.array(start, dtype=float).reshape(2, 1)
    x, y = params[:, 0]
    with np.errstate(all="ignore"):
        loss = landscape.f(x, y)
    if not math.isfinite(loss):
        raise ValueError(f"the loss at the start point ({x:g}, {y:g}) is not finite")
    for k, grad, lr, state in _descend(landscape, optimizer, hyper, params, steps, noise, schedule, seed):
        if k == 0:
            yield Step(0, float(x), float(y), float(loss), float(lr), 0.0, 0.0, 0.0, _state(state))
            continue
        px, py = x, y
        x, y = params[:, 0]
        with np.errstate(all="ignore"):
            loss = landscape.f(x, y)
        if not (math.isfinite(loss) and math.isfinite(x) and math.isfinite(y)):
            yield _outcome(landscape, "diverged", k, f"diverged at step {k}: the loss overflowed", px, py)
            return
        if landscape.far_outside(x, y):
            yield _outcome(landscape, "diverged", k, f"diverged at step {k}: left the domain", px, py)
            return
        gx, gy = float(grad[0, 0]), float(grad[1, 0])
        yield Step(
            k,
            float(x),
            float(y),
            float(loss),
            float(lr),
            gx,
            gy,
            math.hypot(gx, gy),
            _state(state),
        )
        if math.hypot(x - px, y - py) < tol and any(math.hypot(x - m.x, y - m.y) < tol for m in minima):
            yield _outcome(landscape, "converged", k, f"converged at step {k}", x, y)
            return
    yield _outcome(landscape, "done", steps, f"done: {steps} steps", x, y)


def _state(state: dict) -> dict[str, tuple[float, float]]:
    return {name: (float(a[0, 0]), float(a[1, 0])) for name, a in state.items()}


def _outcome(landscape: Landscape, status: str, k: int, message: str, x, y) -> Outcome:
    i, d = landscape.nearest_minimum(x, y)
    return Outcome(status, k, message, float(d), int(i))


@dataclass(frozen=True)
class Paths:
    """Many paths run together. Arrays hold NaN after a path's divergence (core only, never JSON)."""

    loss: np.ndarray  # (steps + 1, P) loss at every step, the start included
    final: np.ndarray  # (2, P) last finite point of every path
    diverged_at: np.ndarray  # (P,) step at which each path diverged, 0 if it never did
    points: np.ndarray | None  # (steps + 1, 2, P) every point, when asked for

    def steps_to(self, target: float) -> np.ndarray:
        """(P,) first step whose loss is at most `target`, -1 where never reached."""
        hit = self.loss <= target
        return np.where(hit.any(axis=0), hit.argmax(axis=0), -1)


def run_many(
    landscape: Landscape,
    optimizer: OptimizerSpec,
    hyper: Mapping,
    starts: np.ndarray,
    steps: int,
    noise: GradientNoise | None = None,
    schedule: Callable | None = None,
    seed: int | Sequence[int] = 0,
    keep_points: bool = False,
) -> Paths:
    """Run P paths at once from `starts` (2, P); hyperparameters may be arrays of shape (P,)."""
    params = np.array(starts, dtype=float)
    n = params.shape[1]
    (x0, x1), (y0, y1) = landscape.domain
    centre = np.array([[(x0 + x1) / 2], [(y0 + y1) / 2]])
    reach = np.array([[5.5 * (x1 - x0)], [5.5 * (y1 - y0)]])  # past this: ten widths outside
    loss = np.empty((steps + 1, n))
    loss[0] = landscape.f(params[0], params[1])
    points = np.empty((steps + 1, 2, n)) if keep_points else None
    if points is not None:
        points[0] = params
    final = params.copy()
    diverged_at = np.zeros(n, dtype=np.int64)
    for k, *_ in _descend(landscape, optimizer, hyper, params, steps, noise, schedule, seed):
        if k == 0:
            continue
        with np.errstate(all="ignore"):
            loss[k] = landscape.f(params[0], params[1])
            bad = ~np.isfinite(loss[k]) | (np.abs(params - centre) > reach).any(axis=0)
        diverged_at[bad & (diverged_at == 0)] = k
        np.copyto(final, params, where=diverged_at == 0)
        if points is not None:
            points[k] = params
    gone = diverged_at > 0
    if gone.any():
        after = np.arange(steps + 1)[:, None] >= diverged_at[None, :]
        after &= gone
        loss[after] = np.nan
        if points is not None:
            points[np.broadcast_to(after[:, None, :], points.shape)] = np.nan
    return Paths(loss, final, diverged_at, points)
