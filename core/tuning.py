"""Tune a learning rate by measuring runs: range test, hyperparameter maps, start maps, seed bands.

Every tool is one or a few `run_many` calls (all paths at once, hyperparameters as per-path arrays)
read post hoc from the loss history and final points. A cell, a start or a seed is therefore exactly
the run `core.paths.path` gives with the same settings (the tests check sampled ones), and a click on
it can replay that very run in the playground.

The learning-rate range test here is not Smith's single run with an exponentially growing rate
(fast.ai's `lr_find`). On a network the loss keeps falling for a long while, so one run can sweep η;
on a 2D landscape a run reaches its minimum within a few dozen steps, and from then on the curve shows
where the point is, not how good the rate is. So every rate on a log grid gets its own run from the
same start, all at once, and the curve is the loss each one reached after the same number of steps.

Targets: a run succeeds when its loss comes within `tolerance` of the global minimum's value f* (by
default 1e-4 of the landscape's typical height above it, `default_tolerance`): |f − f*| ≤ tolerance,
from both sides, since McCormick falls without bound along x = y outside its plot domain, and a run
that escapes down there passes f* without having found anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from core.landscapes import Landscape
from core.noise import GradientNoise
from core.optimizers import OptimizerSpec
from core.params import Param
from core.paths import Paths, run_many

DIVERGED, NO_MINIMUM = -2, -1  # start-map categories besides the index of the minimum reached
BATCH = "batch_size"  # the map axis that is not an optimizer hyperparameter: it sets the noise
DECAYS = ("gamma", "b1", "rho")  # momentum-like hyperparameters, the default second map axis
AVERAGES = (*DECAYS, "b2")  # decay rates of moving averages in [0, 1): mapped on a log scale of 1 − value


# --- targets and grids ----------------------------------------------------------------------------


def global_value(landscape: Landscape) -> float:
    """f at the global minimum."""
    return min(m.value for m in landscape.global_minima)


def default_tolerance(landscape: Landscape) -> float:
    """1e-4 of the median height of f above its global minimum over the plot domain."""
    (x0, x1), (y0, y1) = landscape.domain
    x, y = np.meshgrid(np.linspace(x0, x1, 60), np.linspace(y0, y1, 60))
    return 1e-4 * float(np.median(landscape.f(x, y) - global_value(landscape)))


def target_loss(landscape: Landscape, tolerance: float | None = None) -> float:
    """The top of the target band [f* − tolerance, f* + tolerance]."""
    return global_value(landscape) + (default_tolerance(landscape) if tolerance is None else tolerance)


def steps_to(loss: np.ndarray, value, tolerance: float) -> np.ndarray:
    """(P,) first step whose loss (steps + 1, P) lies within `tolerance` of `value`; -1 if none does."""
    with np.errstate(invalid="ignore"):
        hit = np.abs(loss - value) <= tolerance  # NaN after a divergence: never a hit
    return np.where(hit.any(axis=0), hit.argmax(axis=0), -1)


def _reach(landscape: Landscape, paths: Paths, tolerance: float | None) -> tuple[np.ndarray, float]:
    """Steps to the target band of every path, and the band's top."""
    target = target_loss(landscape, tolerance)
    return steps_to(paths.loss, global_value(landscape), target - global_value(landscape)), target


def axis_values(param: Param, low: float, high: float, n: int) -> np.ndarray:
    """n values of a map axis from `low` to `high`, spaced the way the parameter varies.

    Log-scale parameters get a log grid; decay rates in [0, 1) (γ, β1, ρ, ...) a log grid of 1 − value,
    so 0.9, 0.99 and 0.999 lie evenly apart; integers are rounded and kept once each (fewer than n).
    """
    if param.log and low > 0:
        values = np.geomspace(low, high, n)
    elif param.name in AVERAGES and high < 1:
        values = 1 - np.geomspace(1 - low, 1 - high, n)
    else:
        values = np.linspace(low, high, n)
    if param.integer:
        values = np.unique(np.round(values))
    return values


def batch_param(noise: GradientNoise) -> Param:
    """The batch size as a map axis: 1 to the dataset size, on a log scale."""
    return Param(BATCH, "batch size b", noise.batch_size, 1, noise.dataset_size, log=True, integer=True)


def start_grid(landscape: Landscape, nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid axes over the plot domain, edges included."""
    (x0, x1), (y0, y1) = landscape.domain
    return np.linspace(x0, x1, nx), np.linspace(y0, y1, ny)


def _starts(start, n: int) -> np.ndarray:
    return np.tile(np.asarray(start, dtype=float).reshape(2, 1), (1, n))


def _final_loss(landscape: Landscape, paths: Paths) -> np.ndarray:
    """f at each path's last finite point (finite: a point whose loss overflowed is never kept)."""
    return landscape.f(*paths.final)


# --- the learning-rate range test -----------------------------------------------------------------


@dataclass(frozen=True)
class RangeTest:
    lr: np.ndarray  # (n,) the rates, increasing on a log grid
    loss: np.ndarray  # (n,) loss after `steps` steps; at the last finite point where a run diverged
    diverged_at: np.ndarray  # (n,) step at which each run diverged, 0 if it never did
    steps_to_target: np.ndarray  # (n,) first step within the target band, -1 if never
    start_loss: float
    target: float
    steepest: int  # index of the steepest fall of log(loss − f*) against log η; -1 if none
    best: int  # index of the lowest loss below the divergence point; -1 if even the first rate fails
    divergence: int  # index of the first rate whose run diverges or ends above the start; -1 if none
    suggested: int  # index of the suggested rate; -1 if even the first rate fails


def lr_range_test(
    landscape: Landscape,
    optimizer: OptimizerSpec,
    hyper: Mapping[str, float],
    start: tuple[float, float],
    steps: int,
    lrs: np.ndarray,
    noise: GradientNoise | None = None,
    seed: int = 0,
    tolerance: float | None = None,
) -> RangeTest:
    """Run each rate in `lrs` (increasing) from `start` for `steps` steps, all at once; read the curve.

    The curve is |f − f*| after the steps (f at the last finite point where a run diverged).
    All runs share one noise seed, so neighbouring rates differ by the rate alone. The suggestion:
    where several rates end at the target, the middle (on the log axis) of the longest stretch of them
    (far from both too slow and unstable); otherwise the rate with the lowest loss. Either way at most
    half the divergence point, so a small change of start or noise does not tip it over.
    """
    lrs = np.asarray(lrs, dtype=float)
    n = len(lrs)
    paths = run_many(landscape, optimizer, {**hyper, "lr": lrs}, _starts(start, n), steps, noise, seed=seed)
    reach, target = _reach(landscape, paths, tolerance)
    loss = _final_loss(landscape, paths)
    alive = paths.diverged_at == 0
    start_loss = float(paths.loss[0, 0])
    common = dict(lr=lrs, loss=loss, diverged_at=paths.diverged_at, steps_to_target=reach,
                  start_loss=start_loss, target=target)  # fmt: skip
    worse = np.flatnonzero(~alive | (loss > start_loss))
    divergence = int(worse[0]) if len(worse) else -1
    if divergence == 0:
        return RangeTest(**common, steepest=-1, best=-1, divergence=0, suggested=-1)
    stable = np.arange(n) < (divergence if divergence > 0 else n)

    # excess over the minimum, floored a thousandth of the tolerance down: below that is rounding
    f_star = global_value(landscape)
    tol = target - f_star
    floor = max(tol * 1e-3, 1e-300)
    gap = np.abs(loss - f_star)
    excess = np.log10(np.maximum(gap, floor))
    best = int(np.where(stable, excess, np.inf).argmin())
    slope = np.gradient(excess, np.log10(lrs)) if n >= 2 else np.zeros(n)
    falls = np.where(np.arange(n) <= best, slope, np.nan)
    steepest = int(np.nanargmin(falls)) if np.any(falls < 0) else -1

    suggested = best
    at_target = stable & (gap <= tol)
    if at_target.any():
        first, last = max(_stretches(at_target), key=lambda r: r[1] - r[0])
        suggested = (first + last) // 2
    if divergence > 0:
        safe = np.flatnonzero(lrs <= lrs[divergence] / 2)
        suggested = min(suggested, int(safe[-1])) if len(safe) else 0
    return RangeTest(**common, steepest=steepest, best=best, divergence=divergence, suggested=suggested)


def _stretches(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True in `mask`."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


# --- hyperparameter maps --------------------------------------------------------------------------


@dataclass(frozen=True)
class HyperMap:
    lr: np.ndarray  # (nx,) columns
    y: np.ndarray  # (ny,) rows: values of `y_name`
    y_name: str  # an optimizer hyperparameter, or "batch_size"
    final_loss: np.ndarray  # (ny, nx) loss at the last step, or the last finite point of a diverged run
    steps_to_target: np.ndarray  # (ny, nx) first step within the target band, -1 if never
    diverged_at: np.ndarray  # (ny, nx) step of divergence, 0 if never
    target: float


def hyper_map(
    landscape: Landscape,
    optimizer: OptimizerSpec,
    hyper: Mapping[str, float],
    start: tuple[float, float],
    steps: int,
    lrs: np.ndarray,
    y_name: str,
    y_values: np.ndarray,
    noise: GradientNoise | None = None,
    seed: int = 0,
    tolerance: float | None = None,
) -> HyperMap:
    """One run per cell of lr × `y_name`, all from `start`, all over the same noise (seed `seed`).

    An optimizer hyperparameter on the y axis takes one `run_many` call (per-path hyperparameter
    arrays). The batch size sets the noise, which `run_many` holds fixed for all paths, so that axis
    takes one call per row.
    """
    lrs, y_values = np.asarray(lrs, dtype=float), np.asarray(y_values)
    nx, ny = len(lrs), len(y_values)
    target = target_loss(landscape, tolerance)
    if y_name == BATCH:
        if noise is None:
            raise ValueError("a batch-size axis needs gradient noise")
        rows = [
            run_many(landscape, optimizer, {**hyper, "lr": lrs}, _starts(start, nx), steps,
                     replace(noise, batch_size=int(b)), seed=seed)
            for b in y_values
        ]  # fmt: skip
        final = np.stack([_final_loss(landscape, p) for p in rows])
        reach = np.stack([_reach(landscape, p, tolerance)[0] for p in rows])
        diverged = np.stack([p.diverged_at for p in rows])
    else:
        if y_name == "lr" or y_name not in hyper:
            raise ValueError(f"optimizer {optimizer.name!r} has no hyperparameter {y_name!r} to map")
        grid = {**hyper, "lr": np.tile(lrs, ny), y_name: np.repeat(y_values.astype(float), nx)}
        paths = run_many(landscape, optimizer, grid, _starts(start, nx * ny), steps, noise, seed=seed)
        final = _final_loss(landscape, paths).reshape(ny, nx)
        reach = _reach(landscape, paths, tolerance)[0].reshape(ny, nx)
        diverged = paths.diverged_at.reshape(ny, nx)
    return HyperMap(lrs, y_values, y_name, final, reach, diverged, target)


# --- start-point maps -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StartMap:
    x: np.ndarray  # (nx,) grid columns
    y: np.ndarray  # (ny,) grid rows
    minimum: np.ndarray  # (ny, nx) index into landscape.minima reached; NO_MINIMUM or DIVERGED
    steps: np.ndarray  # (ny, nx) first step within tolerance of that minimum's value; -1 otherwise
    final_loss: np.ndarray  # (ny, nx)
    global_share: float  # share of starts that reach a global minimum


def start_map(
    landscape: Landscape,
    optimizer: OptimizerSpec,
    hyper: Mapping[str, float],
    steps: int,
    xs: np.ndarray,
    ys: np.ndarray,
    noise: GradientNoise | None = None,
    seed: int = 0,
    tolerance: float | None = None,
) -> StartMap:
    """Run from every start of the grid xs × ys at once; name the minimum each run ends in.

    A run reached minimum i when its last point lies nearer i than any other known minimum and its
    loss came within `tolerance` of f at i (the steps: the first step it did), without ending below
    that band (an escape, past i and on down). With noise a run jitters around its minimum, so its
    last loss alone would rarely be within the band. A run that ends elsewhere (a minimum the
    registry does not list, a saddle, still on its way) is NO_MINIMUM; one that overflowed or left
    the domain, DIVERGED.
    """
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    gx, gy = np.meshgrid(xs, ys)
    paths = run_many(landscape, optimizer, hyper, np.stack([gx.ravel(), gy.ravel()]), steps, noise, seed=seed)
    tol = default_tolerance(landscape) if tolerance is None else tolerance
    final = _final_loss(landscape, paths)
    nearest, _ = landscape.nearest_minimum(*paths.final)
    values = np.array([m.value for m in landscape.minima])[nearest]
    first = steps_to(paths.loss, values, tol)
    reached = (first >= 0) & (final >= values - tol) & (paths.diverged_at == 0)
    minimum = np.where(reached, nearest, NO_MINIMUM)
    minimum[paths.diverged_at > 0] = DIVERGED
    first = np.where(reached, first, -1)
    is_global = np.array([m.is_global for m in landscape.minima])
    share = float(np.mean(reached & is_global[nearest]))
    shape = (len(ys), len(xs))
    return StartMap(xs, ys, minimum.reshape(shape), first.reshape(shape), final.reshape(shape), share)


# --- seed bands -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedBand:
    seeds: np.ndarray  # (n,)
    points: np.ndarray  # (steps + 1, 2, n) every path; NaN after its divergence (core only)
    mean: np.ndarray  # (steps + 1,) mean loss of the runs still going at each step
    low: np.ndarray  # (steps + 1,) lower quantile of those losses
    median: np.ndarray
    high: np.ndarray  # upper quantile
    alive: np.ndarray  # (steps + 1,) how many runs had not diverged by then
    steps_to_target: np.ndarray  # (n,) -1 if never
    diverged_at: np.ndarray  # (n,) 0 if never
    success: float  # share of runs that reach the target and never diverge
    target: float


def seed_band(
    landscape: Landscape,
    optimizer: OptimizerSpec,
    hyper: Mapping[str, float],
    start: tuple[float, float],
    steps: int,
    noise: GradientNoise,
    seeds: Sequence[int],
    tolerance: float | None = None,
    quantiles: tuple[float, float] = (0.1, 0.9),
) -> SeedBand:
    """One run per seed from `start`, all at once: lane j is exactly `path(..., seed=seeds[j])`."""
    seeds = np.asarray(seeds, dtype=np.int64)
    paths = run_many(
        landscape, optimizer, hyper, _starts(start, len(seeds)), steps, noise, seed=seeds, keep_points=True
    )
    reach, target = _reach(landscape, paths, tolerance)
    loss = paths.loss
    alive = np.isfinite(loss).sum(axis=1)
    # every row has at least one finite loss until all runs have diverged; those rows stay NaN
    rows = alive > 0
    stats = np.full((4, len(loss)), np.nan)
    stats[0, rows] = np.nanmean(loss[rows], axis=1)
    stats[1:, rows] = np.nanquantile(loss[rows], [quantiles[0], 0.5, quantiles[1]], axis=1)
    success = float(np.mean((reach >= 0) & (paths.diverged_at == 0)))
    return SeedBand(seeds, paths.points, *stats, alive, reach, paths.diverged_at, success, target)


@dataclass(frozen=True)
class Tradeoff:
    lr: np.ndarray  # (nx,)
    batch_size: np.ndarray  # (ny,)
    success: np.ndarray  # (ny, nx) share of seeds that reach the target without diverging
    mean_steps: np.ndarray  # (ny, nx) mean steps to the target over those that do; NaN if none
    seeds: int


def batch_tradeoff(
    landscape: Landscape,
    optimizer: OptimizerSpec,
    hyper: Mapping[str, float],
    start: tuple[float, float],
    steps: int,
    noise: GradientNoise,
    lrs: np.ndarray,
    batch_sizes: np.ndarray,
    seeds: Sequence[int],
    tolerance: float | None = None,
) -> Tradeoff:
    """Success share and mean steps to the target over `seeds`, per learning rate and batch size.

    One `run_many` per batch size, its lanes every (rate, seed) pair, each lane with its own seed.
    """
    lrs, seeds = np.asarray(lrs, dtype=float), np.asarray(seeds, dtype=np.int64)
    nx, ns = len(lrs), len(seeds)
    success, mean_steps = np.zeros((len(batch_sizes), nx)), np.full((len(batch_sizes), nx), np.nan)
    for i, b in enumerate(batch_sizes):
        paths = run_many(
            landscape, optimizer, {**hyper, "lr": np.repeat(lrs, ns)}, _starts(start, nx * ns), steps,
            replace(noise, batch_size=int(b)), seed=np.tile(seeds, nx),
        )  # fmt: skip
        reach = _reach(landscape, paths, tolerance)[0].reshape(nx, ns)
        ok = (reach >= 0) & (paths.diverged_at.reshape(nx, ns) == 0)
        success[i] = ok.mean(axis=1)
        counted = ok.sum(axis=1)
        totals = np.where(ok, reach, 0).sum(axis=1)
        mean_steps[i] = np.divide(totals, counted, out=np.full(nx, np.nan), where=counted > 0)
    return Tradeoff(lrs, np.asarray(batch_sizes), success, mean_steps, ns)
