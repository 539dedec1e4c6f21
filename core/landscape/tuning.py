"""Tune a learning rate by measuring runs: range test, hyperparameter maps, start maps, seed bands.

Every tool is one or a few `run_many` calls (all paths at once, hyperparameters as per-path arrays)
read post hoc from the loss history and final points. A cell, a start or a seed is therefore exactly
the run `core.landscape.paths.path` gives with the same settings (the tests check sampled ones), and a
click on it can replay that very run on the landscape page.

The learning-rate range test here is not Smith's single run with an exponentially growing rate
(fast.ai's `lr_find`). On a network the loss keeps falling for a long while, so one run can sweep η;
on a 2D landscape a run reaches its minimum within a few dozen steps, and from then on the curve shows
where the point is, not how good the rate is. So every rate on a log grid gets its own run from the
same start, all at once, and the curve is the loss each one reached after the same number of steps.

Targets, one criterion for every tool and for the landscape page's replay of a run: the target is the
loss value f* + tolerance (`target_loss`; f* the global minimum's value, the tolerance by default 1e-4
of the landscape's typical height above it, `default_tolerance`), and a run reaches it at the first
step whose loss is at most that value (`Paths.steps_to`). McCormick falls without bound along x = y
outside its plot domain, so a run can also pass the target on its way out: a run whose loss falls
below f* − tolerance (`escape_loss`) has left the domain (`escaped_at`), which no tool counts as a
success, and whose losses from then on no statistic treats as real.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from core.landscape.landscapes import Landscape
from core.landscape.noise import GradientNoise
from core.landscape.paths import Paths, run_many
from core.optimizers import OptimizerSpec
from core.params import Param

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


def _tolerance(landscape: Landscape, tolerance: float | None) -> float:
    return default_tolerance(landscape) if tolerance is None else tolerance


def target_loss(landscape: Landscape, tolerance: float | None = None) -> float:
    """f* + tolerance: a run has reached the target at the first step whose loss is at most this."""
    return global_value(landscape) + _tolerance(landscape, tolerance)


def escape_loss(landscape: Landscape, tolerance: float | None = None) -> float:
    """f* − tolerance: a run whose loss falls below this has left the domain (f has no lower bound
    outside it on McCormick); below f* by less is rounding at the minimum."""
    return global_value(landscape) - _tolerance(landscape, tolerance)


def first_below(loss: np.ndarray, value) -> np.ndarray:
    """(P,) first step whose loss (steps + 1, P) is below `value` (a scalar or (P,)); -1 if none is."""
    with np.errstate(invalid="ignore"):
        hit = loss < value  # NaN after a divergence: never a hit
    return np.where(hit.any(axis=0), hit.argmax(axis=0), -1)


@dataclass(frozen=True)
class Reach:
    steps_to_target: np.ndarray  # (P,) first step at or below the target, -1 if never
    escaped_at: np.ndarray  # (P,) first step below f* − tolerance (left the domain), -1 if never
    target: float

    def success(self, diverged_at: np.ndarray) -> np.ndarray:
        """Reached the target, never left the domain, never diverged."""
        return (self.steps_to_target >= 0) & (self.escaped_at < 0) & (diverged_at == 0)


def _reach(landscape: Landscape, paths: Paths, tolerance: float | None) -> Reach:
    """When every path reached the target, and when it left the domain."""
    target = target_loss(landscape, tolerance)
    return Reach(paths.steps_to(target), first_below(paths.loss, escape_loss(landscape, tolerance)), target)


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
    escaped_at: np.ndarray  # (n,) step at which each run left the domain (f below f*), -1 if never
    steps_to_target: np.ndarray  # (n,) first step at or below the target, -1 if never
    start_loss: float
    target: float
    steepest: int  # index of the steepest fall of log(loss − f*) against log η; -1 if none
    best: int  # index of the lowest |loss − f*| below the divergence point; -1 if even the first rate fails
    divergence: int  # index of the first rate whose run diverges, leaves the domain or ends above its start
    suggested: int  # index of the suggested rate; -1 if even the first rate fails
    reaches: bool  # whether the suggested rate's run reaches the target (else: it is the closest)


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
    All runs share one noise seed, so neighbouring rates differ by the rate alone.

    The suggestion is a measured run, never an extrapolation: of the rates below the divergence point
    that reach the target, the one that reaches it in the fewest steps (the smallest of those that
    tie). Rates past the first one that fails are never suggested, even where one of them happens to
    reach the target. No safety margin is taken off: the divergence point is reported beside it, and
    the page says when the suggested rate is the last one before it. When no rate reaches the target,
    the suggestion is the rate that ends closest to f* (`reaches` is False).
    """
    lrs = np.asarray(lrs, dtype=float)
    n = len(lrs)
    paths = run_many(landscape, optimizer, {**hyper, "lr": lrs}, _starts(start, n), steps, noise, seed=seed)
    reach = _reach(landscape, paths, tolerance)
    loss = _final_loss(landscape, paths)
    start_loss = float(paths.loss[0, 0])
    common: dict[str, Any] = dict(lr=lrs, loss=loss, diverged_at=paths.diverged_at,
                                  escaped_at=reach.escaped_at, steps_to_target=reach.steps_to_target,
                                  start_loss=start_loss, target=reach.target)  # fmt: skip
    failed = (paths.diverged_at > 0) | (reach.escaped_at >= 0) | (loss > start_loss)
    divergence = int(np.argmax(failed)) if failed.any() else -1
    if divergence == 0:
        return RangeTest(**common, steepest=-1, best=-1, divergence=0, suggested=-1, reaches=False)
    stable = np.arange(n) < (divergence if divergence > 0 else n)

    # excess over the minimum, floored a thousandth of the tolerance down: below that is rounding
    f_star = global_value(landscape)
    floor = max((reach.target - f_star) * 1e-3, 1e-300)
    excess = np.log10(np.maximum(np.abs(loss - f_star), floor))
    best = int(np.where(stable, excess, np.inf).argmin())
    slope = np.gradient(excess, np.log10(lrs)) if n >= 2 else np.zeros(n)
    falls = np.where(np.arange(n) <= best, slope, np.nan)
    steepest = int(np.nanargmin(falls)) if np.any(falls < 0) else -1

    reaching = stable & (reach.steps_to_target >= 0)
    if reaching.any():
        suggested = int(np.where(reaching, reach.steps_to_target, np.iinfo(np.int64).max).argmin())
    else:
        suggested = best
    return RangeTest(
        **common, steepest=steepest, best=best, divergence=divergence, suggested=suggested,
        reaches=bool(reaching.any()),
    )  # fmt: skip


# --- hyperparameter maps --------------------------------------------------------------------------


@dataclass(frozen=True)
class HyperMap:
    lr: np.ndarray  # (nx,) columns
    y: np.ndarray  # (ny,) rows: values of `y_name`
    y_name: str  # an optimizer hyperparameter, or "batch_size"
    final_loss: np.ndarray  # (ny, nx) loss at the last step, or the last finite point of a diverged run
    steps_to_target: np.ndarray  # (ny, nx) first step at or below the target, -1 if never
    diverged_at: np.ndarray  # (ny, nx) step of divergence, 0 if never
    escaped_at: np.ndarray  # (ny, nx) step at which the run left the domain (f below f*), -1 if never
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
        reaches = [_reach(landscape, p, tolerance) for p in rows]
        reach = np.stack([r.steps_to_target for r in reaches])
        escaped = np.stack([r.escaped_at for r in reaches])
        diverged = np.stack([p.diverged_at for p in rows])
    else:
        if y_name == "lr" or y_name not in hyper:
            raise ValueError(f"optimizer {optimizer.name!r} has no hyperparameter {y_name!r} to map")
        grid = {**hyper, "lr": np.tile(lrs, ny), y_name: np.repeat(y_values.astype(float), nx)}
        paths = run_many(landscape, optimizer, grid, _starts(start, nx * ny), steps, noise, seed=seed)
        final = _final_loss(landscape, paths).reshape(ny, nx)
        r = _reach(landscape, paths, tolerance)
        reach, escaped = r.steps_to_target.reshape(ny, nx), r.escaped_at.reshape(ny, nx)
        diverged = paths.diverged_at.reshape(ny, nx)
    return HyperMap(lrs, y_values, y_name, final, reach, diverged, escaped, target)


# --- start-point maps -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StartMap:
    x: np.ndarray  # (nx,) grid columns
    y: np.ndarray  # (ny,) grid rows
    minimum: np.ndarray  # (ny, nx) index into landscape.minima reached; NO_MINIMUM or DIVERGED
    steps: np.ndarray  # (ny, nx) first step at or below that minimum's target; -1 otherwise
    final_loss: np.ndarray  # (ny, nx)
    global_share: float  # share of starts that reach a global minimum
    targets: np.ndarray  # (minima,) each minimum's target: f there + tolerance


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
    loss came at or below i's target, f at i + `tolerance` (the steps: the first step it did), without
    ending more than `tolerance` below f at i nor ever leaving the domain (f below f* − tolerance).
    With noise a run jitters around its minimum, so its last loss alone would rarely be within the
    band. A run that ends elsewhere (a minimum the registry does not list, a saddle, still on its
    way, out of the domain) is NO_MINIMUM; one that overflowed, DIVERGED.
    """
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    gx, gy = np.meshgrid(xs, ys)
    paths = run_many(landscape, optimizer, hyper, np.stack([gx.ravel(), gy.ravel()]), steps, noise, seed=seed)
    tol = _tolerance(landscape, tolerance)
    final = _final_loss(landscape, paths)
    nearest, _ = landscape.nearest_minimum(*paths.final)
    targets = np.array([m.value for m in landscape.minima]) + tol
    values = targets[nearest] - tol
    first = paths.steps_to(values + tol)
    escaped = first_below(paths.loss, escape_loss(landscape, tol)) >= 0
    reached = (first >= 0) & (final >= values - tol) & ~escaped & (paths.diverged_at == 0)
    minimum = np.where(reached, nearest, NO_MINIMUM)
    minimum[paths.diverged_at > 0] = DIVERGED
    first = np.where(reached, first, -1)
    is_global = np.array([m.is_global for m in landscape.minima])
    share = float(np.mean(reached & is_global[nearest]))
    shape = (len(ys), len(xs))
    return StartMap(
        xs, ys, minimum.reshape(shape), first.reshape(shape), final.reshape(shape), share, targets
    )


# --- seed bands -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedBand:
    seeds: np.ndarray  # (n,)
    points: np.ndarray  # (steps + 1, 2, n) every path; NaN after its divergence (core only)
    mean: np.ndarray  # (steps + 1,) mean loss of the runs counted at each step (see `alive`)
    low: np.ndarray  # (steps + 1,) lower quantile of those losses
    median: np.ndarray
    high: np.ndarray  # upper quantile
    alive: np.ndarray  # (steps + 1,) how many runs had neither diverged nor left the domain by then
    steps_to_target: np.ndarray  # (n,) -1 if never
    diverged_at: np.ndarray  # (n,) 0 if never
    escaped_at: np.ndarray  # (n,) step at which the run left the domain (f below f*), -1 if never
    success: float  # share of runs that reach the target, never leave the domain and never diverge
    target: float


def seed_band(
    landscape: Landscape,
    optimizer: OptimizerSpec,
    hyper: Mapping[str, float],
    start: tuple[float, float],
    steps: int,
    noise: GradientNoise,
    seeds: Sequence[int] | np.ndarray,
    tolerance: float | None = None,
    quantiles: tuple[float, float] = (0.1, 0.9),
) -> SeedBand:
    """One run per seed from `start`, all at once: lane j is exactly `path(..., seed=seeds[j])`.

    The mean and quantiles at a step are over the runs still counted then: a run is counted out
    from the step it diverges or leaves the domain (its loss below f* − tolerance, where f has no
    lower bound), so that neither a missing value nor an unbounded fall passes for a good run.
    """
    seeds = np.asarray(seeds, dtype=np.int64)
    paths = run_many(
        landscape, optimizer, hyper, _starts(start, len(seeds)), steps, noise, seed=seeds, keep_points=True
    )
    reach = _reach(landscape, paths, tolerance)
    loss = paths.loss.copy()
    step = np.arange(len(loss))[:, None]
    loss[(reach.escaped_at >= 0) & (step >= reach.escaped_at)] = np.nan
    alive = np.isfinite(loss).sum(axis=1)
    # every row has a finite loss until all runs are counted out; those rows stay NaN
    rows = alive > 0
    stats = np.full((4, len(loss)), np.nan)
    stats[0, rows] = np.nanmean(loss[rows], axis=1)
    stats[1:, rows] = np.nanquantile(loss[rows], [quantiles[0], 0.5, quantiles[1]], axis=1)
    success = float(np.mean(reach.success(paths.diverged_at)))
    assert paths.points is not None  # keep_points=True
    mean, low, median, high = stats
    return SeedBand(
        seeds, paths.points, mean, low, median, high, alive, reach.steps_to_target, paths.diverged_at,
        reach.escaped_at, success, reach.target,
    )  # fmt: skip


@dataclass(frozen=True)
class Tradeoff:
    lr: np.ndarray  # (nx,)
    batch_size: np.ndarray  # (ny,)
    success: np.ndarray  # (ny, nx) share of seeds that reach the target, never leaving nor diverging
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
    seeds: Sequence[int] | np.ndarray,
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
        r = _reach(landscape, paths, tolerance)
        reach, ok = r.steps_to_target.reshape(nx, ns), r.success(paths.diverged_at).reshape(nx, ns)
        success[i] = ok.mean(axis=1)
        counted = ok.sum(axis=1)
        totals = np.where(ok, reach, 0).sum(axis=1)
        mean_steps[i] = np.divide(totals, counted, out=np.full(nx, np.nan), where=counted > 0)
    return Tradeoff(lrs, np.asarray(batch_sizes), success, mean_steps, ns)
