"""Optimizer paths on landscapes: one path as a stream of steps, or many paths at once as arrays.

Both run the same loop (`_descend`): the true gradient, optional simulated noise, the learning-rate
schedule, then one `send` to the optimizer generator, on parameters of shape (2, P).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from core.landscape.landscapes import Landscape
from core.landscape.noise import GradientNoise, Seeds, fast_noise
from core.optimizers import OptimizerSpec


@dataclass(frozen=True)
class Steps:
    """Consecutive steps of one path as columns; row i is the point after update `step[i]` (0: start)."""

    step: np.ndarray  # int
    x: np.ndarray
    y: np.ndarray
    loss: np.ndarray
    lr: np.ndarray  # learning rate of the update that led here (at 0: the first update's)
    gx: np.ndarray  # gradient that update used, noisy when noise is on (0 at the start)
    gy: np.ndarray
    grad_norm: np.ndarray
    state: dict[str, np.ndarray]  # optimizer buffer -> (n, 2) values after each update

    def __len__(self) -> int:
        return len(self.step)

    @classmethod
    def join(cls, chunks: Sequence[Steps]) -> Steps:
        columns = {name: np.concatenate([getattr(c, name) for c in chunks]) for name in _COLUMNS}
        state = {name: np.concatenate([c.state[name] for c in chunks]) for name in chunks[0].state}
        return cls(**columns, state=state)


_COLUMNS = ("step", "x", "y", "loss", "lr", "gx", "gy", "grad_norm")
LARGEST_CHUNK = 400  # rows of a path's later `Steps`


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a path ended, at step `step`.

    - "converged": step k came within `tol` of a known minimum, moving less than `tol`.
    - "diverged": update k made the loss non-finite or took the point ten domain widths out. That
      point is not a row of the path; `heading` is the unit direction it went in from the last row,
      and `escape` the point itself when it is finite.
    - "left": all steps taken, but the path has been outside the plot domain since update k (where
      the loss may lie below every listed minimum).
    - "done": all steps taken, inside the domain.
    """

    status: str
    step: int
    message: str
    distance: float  # from the last row to the nearest known minimum
    minimum: int  # index of that minimum in landscape.minima
    heading: tuple[float, float] | None = None
    escape: tuple[float, float] | None = None


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
    seed: Seeds,
) -> Iterator[tuple[int, np.ndarray, float | np.ndarray, dict]]:
    """Move `params` (2, P) in place; yield (k, grad, lr, state) after each update k = 1..steps.

    First yields (0, grad, lr, state) before any update: the initial state and the first rate.
    Callers advance it under np.errstate(all="ignore"): a diverging path overflows on its way out.
    """
    hp = dict(hyper)
    lone = params.shape[1] == 1  # a lone path is evaluated on scalars: four times faster
    factors = np.ones(steps) if schedule is None else schedule(np.arange(steps))
    rates = np.multiply.outer(factors, hp["lr"])
    perturb = fast_noise(noise, steps, seed) if noise is not None else None
    grad = np.empty_like(params)
    opt = optimizer.make(params, hp)
    _, state = next(opt)
    yield 0, grad, rates[0], state
    for k in range(steps):
        hp["lr"] = rates[k]
        grad[0], grad[1] = landscape.grad(params[0, 0], params[1, 0]) if lone else landscape.grad(*params)
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
    chunk: int = 16,
) -> Iterator[Steps | Outcome]:
    """Yield the path in `Steps`, the start first, then one `Outcome`.

    The first `Steps` has up to `chunk` rows, each later one up to twice the rows of the one before,
    at most max(`chunk`, LARGEST_CHUNK): the first points come at once, a long path in few pieces.

    Stops early when a point lies within `tol` of a known minimum after a move shorter than `tol`
    (converged), or when the loss stops being finite or the point is ten domain widths out
    (diverged: that step is not shown). A path that ends outside the domain has "left" it (see
    `Outcome`). No yielded number is ever NaN or infinite.
    """
    tol = default_tol(landscape) if tol is None else tol
    params = np.array(start, dtype=float).reshape(2, 1)
    with np.errstate(all="ignore"):
        if not math.isfinite(landscape.f(*params[:, 0])):
            raise ValueError(f"the loss at the start point {tuple(start)} is not finite")
    descent = _descend(landscape, optimizer, hyper, params, steps, noise, schedule, seed)
    previous, first, rows, size = params[:, 0].copy(), 0, None, chunk
    outside_since = None  # first step of the stretch outside the domain the path is on, if any
    while first <= steps:
        n = min(size, steps + 1 - first)
        with np.errstate(all="ignore"):
            for i, (k, grad, lr, state) in zip(range(n), descent, strict=False):  # n steps, no more
                if rows is None:  # columns: x, y, gx, gy, lr, then each state buffer's x and y
                    rows = np.zeros((max(chunk, LARGEST_CHUNK), 5 + 2 * len(state)))
                    buffers = [(5 + 2 * j, b[:, 0]) for j, b in enumerate(state.values())]
                rows[i, 0:2] = params[:, 0]
                if k:
                    rows[i, 2:4] = grad[:, 0]
                rows[i, 4] = lr
                for j, buffer in buffers:
                    rows[i, j : j + 2] = buffer
        assert rows is not None  # n >= 1 and `descent` yields step k = 0 before any update
        part, outcome = _check(landscape, rows[:n], first, list(state), previous, tol)
        if len(part):
            yield part
        if outcome is not None:
            yield outcome
            return
        outside_since = _outside_since(landscape, part, outside_since)
        previous, first, size = rows[n - 1, 0:2].copy(), first + n, max(chunk, min(2 * size, LARGEST_CHUNK))
    x, y = previous
    if outside_since is None:
        yield _outcome(landscape, "done", steps, f"done: {steps} steps", x, y)
    else:
        yield _outcome(landscape, "left", outside_since, f"left the domain at step {outside_since}", x, y)


def race(
    landscape: Landscape,
    racers: Sequence[tuple[OptimizerSpec, Mapping[str, float]]],
    start: tuple[float, float],
    steps: int,
    noise: GradientNoise | None = None,
    schedule: Callable | None = None,
    seed: int = 0,
    tol: float | None = None,
    chunk: int = 16,
) -> Iterator[tuple[int, Steps | Outcome]]:
    """Several optimizers from one start over the same noise, interleaved `Steps` by `Steps`.

    Yields (racer index, Steps or Outcome); each racer's sequence is exactly its `path`.
    """
    streams = {
        i: path(landscape, spec, hyper, start, steps, noise, schedule, seed, tol, chunk)
        for i, (spec, hyper) in enumerate(racers)
    }
    while streams:
        for i, stream in list(streams.items()):
            item = next(stream)
            if isinstance(item, Outcome):
                del streams[i]
            yield i, item


def _outside_since(landscape: Landscape, part: Steps, since: int | None) -> int | None:
    """The first step of the stretch outside the domain that `part` ends on (None: it ends inside)."""
    (x0, x1), (y0, y1) = landscape.domain
    inside = (part.x >= x0) & (part.x <= x1) & (part.y >= y0) & (part.y <= y1)
    if inside[-1]:
        return None
    if not inside.any():
        return int(part.step[0]) if since is None else since
    return int(part.step[len(inside) - inside[::-1].argmax()])


def _heading(last: np.ndarray, went: np.ndarray, grad: np.ndarray) -> tuple[float, float]:
    """Unit direction from `last` to `went` (which may be infinite or NaN); -`grad` if unknown."""
    with np.errstate(all="ignore"):
        d = went - last
        if not np.isfinite(d).all():
            d = np.where(np.isnan(d), 0.0, np.sign(d))
        if not np.any(d) or not np.isfinite(d).all():
            d = -np.where(np.isfinite(grad), grad, np.sign(np.nan_to_num(grad)))
        norm = math.hypot(*d)
    return (float(d[0] / norm), float(d[1] / norm)) if norm > 0 and math.isfinite(norm) else (0.0, 0.0)


def _check(landscape, rows, first, names, previous, tol) -> tuple[Steps, Outcome | None]:
    """Columns for `rows`, cut at the first diverged or converged step, with the outcome if any."""
    steps = np.arange(first, first + len(rows))
    x, y = rows[:, 0], rows[:, 1]
    with np.errstate(all="ignore"):
        loss = landscape.f(x, y)
        overflow = ~(np.isfinite(loss) & np.isfinite(x) & np.isfinite(y))
        gone = overflow | landscape.far_outside(x, y)
        moved = np.hypot(np.diff(x, prepend=previous[0]), np.diff(y, prepend=previous[1]))
    near = (landscape.nearest_minimum(x, y)[1] < tol) & (moved < tol) & (steps > 0)
    outcome, end = None, len(rows)
    if gone.any():
        end = int(gone.argmax())
        reason = "the loss overflowed" if overflow[end] else "ten domain widths out"
        k = int(steps[end])
        last, went = (rows[end - 1, 0:2] if end else previous), rows[end, 0:2]
        message = f"diverged at step {k}: {reason}"
        outcome = _outcome(landscape, "diverged", k, message, *last)
        escape = (float(went[0]), float(went[1])) if np.isfinite(went).all() else None
        outcome = replace(outcome, heading=_heading(last, went, rows[end, 2:4]), escape=escape)
    if near[:end].any():
        end = int(near.argmax()) + 1
        k = int(steps[end - 1])
        outcome = _outcome(landscape, "converged", k, f"converged at step {k}", x[end - 1], y[end - 1])
    gx, gy = rows[:end, 2], rows[:end, 3]
    part = Steps(
        steps[:end],
        x[:end].copy(),
        y[:end].copy(),
        loss[:end],
        rows[:end, 4].copy(),
        gx.copy(),
        gy.copy(),
        np.hypot(gx, gy),
        {name: rows[:end, 5 + 2 * j : 7 + 2 * j].copy() for j, name in enumerate(names)},
    )
    return part, outcome


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
    seed: Seeds = 0,
    keep_points: bool = False,
) -> Paths:
    """Run P paths at once from `starts` (2, P); hyperparameters may be arrays of shape (P,)."""
    params = np.array(starts, dtype=float)
    n = params.shape[1]
    (x0, x1), (y0, y1) = landscape.domain
    centre = np.array([[(x0 + x1) / 2], [(y0 + y1) / 2]])
    reach = np.array([[10.5 * (x1 - x0)], [10.5 * (y1 - y0)]])  # past this: ten widths outside
    loss = np.empty((steps + 1, n))
    loss[0] = landscape.f(params[0], params[1])
    points = np.empty((steps + 1, 2, n)) if keep_points else None
    if points is not None:
        points[0] = params
    final = params.copy()
    diverged_at = np.zeros(n, dtype=np.int64)
    with np.errstate(all="ignore"):
        for k, *_ in _descend(landscape, optimizer, hyper, params, steps, noise, schedule, seed):
            if k == 0:
                continue
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
