from dataclasses import replace

import numpy as np
import pytest

from core.landscape.landscapes import LANDSCAPES, get_landscape
from core.landscape.noise import GradientNoise
from core.landscape.paths import Outcome, Steps, path
from core.landscape.tuning import (
    BATCH,
    DIVERGED,
    NO_MINIMUM,
    axis_values,
    batch_param,
    batch_tradeoff,
    default_tolerance,
    global_value,
    hyper_map,
    lr_range_test,
    seed_band,
    start_grid,
    start_map,
    target_loss,
)
from core.optimizers import OPTIMIZERS, get_optimizer

NOISE = GradientNoise(sigma_x=4.0, sigma_y=2.0, dataset_size=500, batch_size=8)


def suggested(landscape, name, **extra):
    spec = get_optimizer(name)
    return spec, spec.hyperparameters(**{"lr": landscape.lr[spec.family], **extra})


def single(landscape, spec, hyper, start, steps, noise=None, seed=0):
    """One run through core.landscape.paths.path, never stopped early: its Steps and Outcome."""
    *chunks, outcome = path(landscape, spec, hyper, start, steps, noise, seed=seed, tol=0)
    assert isinstance(outcome, Outcome) and all(isinstance(c, Steps) for c in chunks)
    return Steps.join(chunks), outcome


def first_at_or_below(loss, target):
    """The replay's criterion, written out: the first step whose loss is at most the target, or -1."""
    hit = np.flatnonzero(loss <= target)
    return int(hit[0]) if len(hit) else -1


def measured(landscape, spec, hyper, start, steps, target, noise=None, seed=0):
    """(final loss, steps to target, diverged at) of a single run, as the tools report them."""
    run, outcome = single(landscape, spec, hyper, start, steps, noise, seed)
    diverged = outcome.step if outcome.status == "diverged" else 0
    return run.loss[-1], first_at_or_below(run.loss, target), diverged


def same_divergence(many: int, single: int):
    """Both runs diverge or neither does. run_many (core/landscape/paths.py) calls a point gone five domain
    widths outside, `path` ten (Landscape.far_outside), so run_many may name an earlier step."""
    assert bool(many) == bool(single)
    assert many <= single


# --- targets and axes -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(LANDSCAPES))
def test_the_target_sits_just_above_the_global_minimum(name):
    ls = get_landscape(name)
    tol = default_tolerance(ls)
    assert 0 < tol < 1
    assert target_loss(ls) == global_value(ls) + tol
    assert target_loss(ls, 0.5) == global_value(ls) + 0.5
    # local minima stay outside the target
    for m in ls.minima:
        assert (m.value <= target_loss(ls)) == m.is_global


def test_axis_values_follow_the_parameter_scale():
    adam = get_optimizer("adam")
    lr, b1 = adam.params[0], adam.params[1]
    assert axis_values(lr, 1e-4, 1.0, 5) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0])
    assert axis_values(b1, 0.0, 0.999, 4) == pytest.approx([0.0, 0.9, 0.99, 0.999])
    batches = axis_values(batch_param(NOISE), 1, 500, 30)
    assert batches[0] == 1 and batches[-1] == 500 and len(batches) < 30
    assert np.all(np.diff(batches) > 0) and np.all(batches == np.round(batches))


# --- the learning-rate range test -----------------------------------------------------------------


def test_range_test_on_a_quadratic_finds_the_stability_limit_of_gradient_descent():
    # Hessian eigenvalues 1 and κ = 10: plain GD diverges exactly above η = 2/κ = 0.2
    ls = get_landscape("quadratic")
    spec, hyper = suggested(ls, "sgd")
    lrs = np.geomspace(1e-4, 1.0, 81)
    r = lr_range_test(ls, spec, hyper, ls.start, 200, lrs)
    assert r.lr[r.divergence - 1] <= 0.2 < r.lr[r.divergence]
    assert r.steepest < r.best < r.divergence
    # the fastest rate is GD's optimal one, 2 / (1 + κ) = 0.18: the grid's nearest, 0.178
    assert r.reaches and r.lr[r.suggested] == pytest.approx(0.178, abs=0.001)
    assert r.steps_to_target[r.suggested] > 0 and r.diverged_at[r.suggested] == 0
    # the loss falls with η up to the best rate
    assert r.loss[0] > r.loss[r.steepest] > r.loss[r.best]
    assert r.start_loss == pytest.approx(float(ls.f(*ls.start)))


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("landscape", list(LANDSCAPES))
def test_the_suggested_rate_is_a_measured_stable_run_below_the_divergence_point(landscape, optimizer):
    ls = get_landscape(landscape)
    spec, hyper = suggested(ls, optimizer)
    lr = spec.params[0]
    r = lr_range_test(ls, spec, hyper, ls.start, 150, np.geomspace(max(lr.low, 1e-6), lr.high, 40))
    assert np.isfinite(r.loss).all()
    below = np.arange(len(r.lr)) < (r.divergence if r.divergence >= 0 else len(r.lr))
    reaching = below & (r.steps_to_target >= 0)
    if r.divergence == 0:
        assert r.suggested == -1
        return
    assert r.diverged_at[r.suggested] == 0 and r.escaped_at[r.suggested] == -1 and below[r.suggested]
    assert r.reaches == reaching.any()
    if r.reaches:  # the fastest of the rates that reach the target, the smallest of a tie
        fastest = r.steps_to_target[reaching].min()
        assert r.steps_to_target[r.suggested] == fastest
        assert r.suggested == np.flatnonzero(reaching & (r.steps_to_target == fastest))[0]
    else:  # none does: the closest
        assert r.suggested == r.best
    if r.divergence > 0:
        d = r.divergence
        assert r.diverged_at[d] > 0 or r.escaped_at[d] >= 0 or r.loss[d] > r.start_loss


def test_the_range_test_suggests_the_fastest_rate_that_reaches_the_target_on_rosenbrock():
    # the page's defaults for SGD on Rosenbrock: 80 rates from 1e-6 to 10, 500 steps. Only η = 1.55e-3
    # reaches the target (in 294 steps); half the divergence point (1.9e-3), the old rule's cap,
    # would suggest 8.4e-4, which never gets there.
    ls = get_landscape("rosenbrock")
    spec, hyper = suggested(ls, "sgd")
    r = lr_range_test(ls, spec, hyper, ls.start, 500, np.geomspace(1e-6, 10.0, 80))
    assert r.reaches and r.lr[r.suggested] == pytest.approx(1.55e-3, rel=0.01)
    assert r.steps_to_target[r.suggested] == 294 and r.suggested == r.divergence - 1
    run, _ = single(ls, spec, {**hyper, "lr": r.lr[r.suggested]}, ls.start, 500)
    assert first_at_or_below(run.loss, r.target) == 294
    slower = r.steps_to_target[: r.divergence]
    assert ((slower == -1) | (slower >= 294)).all()


def test_range_test_points_are_single_runs():
    ls = get_landscape("mccormick")
    spec, hyper = suggested(ls, "adam")
    lrs = np.geomspace(1e-3, 3.0, 12)
    r = lr_range_test(ls, spec, hyper, ls.start, 120, lrs, noise=NOISE, seed=5)
    for i in (0, 5, 11):
        loss, reach, diverged = measured(ls, spec, {**hyper, "lr": lrs[i]}, ls.start, 120, r.target, NOISE, 5)
        assert r.loss[i] == pytest.approx(loss, rel=1e-9) or diverged
        assert r.steps_to_target[i] == reach
        same_divergence(r.diverged_at[i], diverged)


# --- hyperparameter maps --------------------------------------------------------------------------


def test_a_momentum_map_equals_single_runs_cell_by_cell():
    ls = get_landscape("mccormick")
    spec, hyper = suggested(ls, "momentum")
    lrs, gammas = np.geomspace(1e-3, 1.0, 20), axis_values(spec.params[1], 0.0, 0.99, 8)
    m = hyper_map(ls, spec, hyper, ls.start, 200, lrs, "gamma", gammas)
    assert m.final_loss.shape == m.steps_to_target.shape == m.diverged_at.shape == (8, 20)
    assert (m.diverged_at > 0).any() and (m.steps_to_target >= 0).any() and (m.steps_to_target < 0).any()
    for row, col in [(0, 0), (3, 9), (5, 14), (7, 19), (7, 4), (1, 17)]:
        cell = {**hyper, "lr": lrs[col], "gamma": gammas[row]}
        loss, reach, diverged = measured(ls, spec, cell, ls.start, 200, m.target)
        assert m.steps_to_target[row, col] == reach
        same_divergence(m.diverged_at[row, col], diverged)
        if not diverged:
            assert m.final_loss[row, col] == pytest.approx(loss, rel=1e-9)


def test_a_batch_size_map_equals_single_noisy_runs():
    ls = get_landscape("mccormick")
    spec, hyper = suggested(ls, "sgd")
    lrs, batches = np.geomspace(1e-3, 0.5, 10), np.array([1, 8, 64, 500])
    m = hyper_map(ls, spec, hyper, ls.start, 150, lrs, BATCH, batches, noise=NOISE, seed=3)
    assert m.y_name == BATCH and m.final_loss.shape == (4, 10)
    for row, col in [(0, 2), (1, 7), (2, 5), (3, 9), (3, 0)]:
        noise = replace(NOISE, batch_size=int(batches[row]))
        cell = {**hyper, "lr": lrs[col]}
        loss, reach, diverged = measured(ls, spec, cell, ls.start, 150, m.target, noise, seed=3)
        assert m.steps_to_target[row, col] == reach
        same_divergence(m.diverged_at[row, col], diverged)
        if not diverged:
            assert m.final_loss[row, col] == pytest.approx(loss, rel=1e-9)


def test_a_map_refuses_an_axis_it_cannot_vary():
    ls = get_landscape("mccormick")
    spec, hyper = suggested(ls, "sgd")
    with pytest.raises(ValueError, match="no hyperparameter 'gamma'"):
        hyper_map(ls, spec, hyper, ls.start, 10, [0.1], "gamma", [0.9])
    with pytest.raises(ValueError, match="needs gradient noise"):
        hyper_map(ls, spec, hyper, ls.start, 10, [0.1], BATCH, [4])


# --- start-point maps -----------------------------------------------------------------------------


def test_himmelblau_start_map_shows_its_four_basins():
    ls = get_landscape("himmelblau")
    spec, hyper = suggested(ls, "sgd")
    xs, ys = start_grid(ls, 41, 41)
    m = start_map(ls, spec, hyper, ls.steps, xs, ys)
    counts = np.bincount(m.minimum[m.minimum >= 0].ravel(), minlength=4)
    assert counts.min() > 0.15 * m.minimum.size, counts  # four basins, none tiny
    assert m.global_share == pytest.approx(np.mean(m.minimum >= 0))
    # each basin holds the minimum it is named after: the grid point nearest each minimum ends there
    for i, mn in enumerate(ls.minima):
        row, col = np.abs(ys - mn.y).argmin(), np.abs(xs - mn.x).argmin()
        assert m.minimum[row, col] == i
    # the grid point on (3, 2) itself is there at step 0
    assert (xs[32], ys[28]) == (3.0, 2.0) and (m.minimum[28, 32], m.steps[28, 32]) == (0, 0)
    # the basins are whole regions: the four quadrants around (0, 0) each belong mostly to one minimum
    quadrant = m.minimum[ys > 2.5][:, xs > 2.5]
    assert np.mean(quadrant == 0) > 0.9


def test_starts_on_each_minimum_stay_there():
    ls = get_landscape("camel")
    spec, hyper = suggested(ls, "adam")
    xs, ys = [m.x for m in ls.minima], [m.y for m in ls.minima]
    m = start_map(ls, spec, hyper, 100, xs, ys)
    assert np.diag(m.minimum).tolist() == list(range(len(ls.minima)))
    assert np.diag(m.steps).tolist() == [0] * len(ls.minima)
    assert m.global_share == pytest.approx(np.mean(np.isin(m.minimum, [0, 1])))


def test_start_map_names_diverged_and_unfinished_runs_and_equals_single_runs():
    ls = get_landscape("camel")
    spec, hyper = suggested(ls, "sgd", lr=0.05)  # unstable on the steep outer walls
    xs, ys = start_grid(ls, 15, 15)
    m = start_map(ls, spec, hyper, 200, xs, ys)
    kinds = set(np.unique(m.minimum))
    assert {DIVERGED, NO_MINIMUM, 0, 1, 2, 3} <= kinds
    assert m.global_share == pytest.approx(np.mean(np.isin(m.minimum, [0, 1])))
    for row, col in [(7, 7), (0, 0), (3, 11), (12, 4), (5, 2), (9, 13)]:
        run, outcome = single(ls, spec, hyper, (xs[col], ys[row]), 200)
        assert (m.minimum[row, col] == DIVERGED) == (outcome.status == "diverged")
        if m.minimum[row, col] != DIVERGED:
            assert m.final_loss[row, col] == pytest.approx(run.loss[-1], rel=1e-9)
        if (i := m.minimum[row, col]) >= 0:
            hit = np.abs(run.loss - ls.minima[i].value) <= default_tolerance(ls)
            assert hit.any() and m.steps[row, col] == hit.argmax()
            assert ls.nearest_minimum(run.x[-1], run.y[-1])[0] == i
    assert (m.steps[m.minimum < 0] == -1).all() and (m.steps[m.minimum >= 0] >= 0).all()


# --- seed bands -----------------------------------------------------------------------------------


def test_a_seed_band_is_made_of_single_runs_one_seed_each():
    ls = get_landscape("mccormick")
    spec, hyper = suggested(ls, "sgd", lr=0.05)
    seeds = [0, 1, 7, 123, 2**32 - 1]
    band = seed_band(ls, spec, hyper, ls.start, 120, NOISE, seeds)
    assert band.points.shape == (121, 2, 5)
    for j, s in enumerate(seeds):
        run, _ = single(ls, spec, hyper, ls.start, 120, NOISE, seed=s)
        np.testing.assert_allclose(band.points[:, 0, j], run.x, rtol=1e-9)
        np.testing.assert_allclose(band.points[:, 1, j], run.y, rtol=1e-9)
        assert band.steps_to_target[j] == first_at_or_below(run.loss, band.target)
    losses = np.array([ls.f(*band.points[k]) for k in range(121)])
    np.testing.assert_allclose(band.mean, losses.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(band.high, np.quantile(losses, 0.9, axis=1), rtol=1e-12)
    assert np.all(band.low <= band.median) and np.all(band.median <= band.high)
    assert band.alive.tolist() == [5] * 121
    assert band.success == np.mean(band.steps_to_target >= 0)


def test_a_seed_band_counts_diverged_runs_out():
    ls = get_landscape("mccormick")
    spec, hyper = suggested(ls, "sgd", lr=0.5)  # at the edge (2/λmax): some noisy runs fall off
    band = seed_band(ls, spec, hyper, ls.start, 150, replace(NOISE, batch_size=1), range(40))
    assert 0 < np.sum(band.diverged_at > 0) < 40
    still = (band.diverged_at == 0) & (band.escaped_at < 0)  # most of the others slide out of the domain
    assert band.alive[0] == 40 and band.alive[-1] == np.sum(still) > 0
    assert np.isfinite(band.mean).all() and np.isfinite(band.high).all()
    ok = (band.steps_to_target >= 0) & still
    assert band.success == np.mean(ok)


def test_batch_tradeoff_summarises_seed_bands():
    ls = get_landscape("mccormick")
    spec, hyper = suggested(ls, "sgd")
    lrs, batches, seeds = np.array([0.01, 0.1, 0.45]), np.array([1, 16, 500]), np.arange(12)
    t = batch_tradeoff(ls, spec, hyper, ls.start, 200, NOISE, lrs, batches, seeds)
    assert t.success.shape == t.mean_steps.shape == (3, 3) and t.seeds == 12
    for i, b in enumerate(batches):
        for j, lr in enumerate(lrs):
            band = seed_band(
                ls, spec, {**hyper, "lr": lr}, ls.start, 200, replace(NOISE, batch_size=int(b)), seeds
            )
            assert t.success[i, j] == band.success
            ok = (band.steps_to_target >= 0) & (band.escaped_at < 0) & (band.diverged_at == 0)
            if ok.any():
                assert t.mean_steps[i, j] == pytest.approx(band.steps_to_target[ok].mean())
            else:
                assert np.isnan(t.mean_steps[i, j])
    # the full batch is exact gradient descent: every seed agrees
    assert set(t.success[-1]) <= {0.0, 1.0}


def test_noisy_runs_reach_the_basin_they_jitter_in():
    ls = get_landscape("himmelblau")
    spec, hyper = suggested(ls, "sgd")
    xs, ys = start_grid(ls, 12, 12)
    noise = replace(NOISE, sigma_x=16.0, sigma_y=4.0, batch_size=4)
    exact, noisy = (
        start_map(ls, spec, hyper, 400, xs, ys),
        start_map(ls, spec, hyper, 400, xs, ys, noise, seed=1),
    )
    assert np.mean(noisy.minimum == exact.minimum) > 0.9  # mostly the same basins as without noise
    tol = default_tolerance(ls)
    assert (np.abs(noisy.final_loss[noisy.minimum >= 0]) > tol).mean() > 0.5  # though they end off the band


def test_a_run_that_escapes_below_the_global_minimum_is_no_success():
    # McCormick falls without bound along x = y: from its bottom-left corner a run slides away below f*
    ls = get_landscape("mccormick")
    spec, hyper = suggested(ls, "sgd")
    xs, ys = start_grid(ls, 21, 21)
    m = start_map(ls, spec, hyper, 500, xs, ys)
    assert m.final_loss[0, 0] < global_value(ls) - 1 and m.minimum[0, 0] == NO_MINIMUM and m.steps[0, 0] == -1
    assert m.global_share == pytest.approx(np.mean(m.minimum == 0)) and m.global_share > 0.5
    band = seed_band(ls, spec, hyper, (xs[0], ys[0]), 500, replace(NOISE, batch_size=500), [1, 2])
    assert band.success == 0.0 and (band.escaped_at > 0).all()
    assert (band.alive[band.escaped_at.max() :] == 0).all()


def test_seed_bands_count_out_the_runs_that_leave_the_domain():
    # momentum on McCormick with noise: 3 of 40 seeds slide out along x = y, where f falls below f*
    ls = get_landscape("mccormick")
    spec, hyper = suggested(ls, "momentum", lr=0.01, gamma=0.9)
    noise = GradientNoise(sigma_x=16.0, sigma_y=4.0, dataset_size=2000, batch_size=32)
    band = seed_band(ls, spec, hyper, ls.start, 300, noise, range(40))
    left = band.escaped_at >= 0
    assert left.sum() == 3
    losses = np.array([ls.f(*band.points[k]) for k in range(301)])  # (steps + 1, seeds)
    f_star, tol = global_value(ls), default_tolerance(ls)
    for j in np.flatnonzero(left):  # each fell below f* − tol at that step, never before
        k = band.escaped_at[j]
        assert losses[k, j] < f_star - tol and (losses[:k, j] >= f_star - tol).all()
    counted = ~left[None, :] | (np.arange(301)[:, None] < band.escaped_at[None, :])
    counted &= np.isfinite(losses)
    assert band.alive.tolist() == counted.sum(axis=1).tolist()
    assert band.alive[-1] == 37
    kept = np.where(counted, losses, np.nan)
    np.testing.assert_allclose(band.mean, np.nanmean(kept, axis=1), rtol=1e-12)
    np.testing.assert_allclose(band.low, np.nanquantile(kept, 0.1, axis=1), rtol=1e-12)
    # nothing counted lies below the target band: the mean never sinks under f*
    assert (band.mean >= f_star - tol).all() and (band.low >= f_star - tol).all()
    ok = (band.steps_to_target >= 0) & ~left & (band.diverged_at == 0)
    assert band.success == np.mean(ok) == 15 / 40  # 18 reach the target, 3 of them on their way out
