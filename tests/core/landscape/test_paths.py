import dataclasses
import math

import numpy as np
import orjson
import pytest

from core.landscape.landscapes import LANDSCAPES, get_landscape
from core.landscape.noise import GradientNoise
from core.landscape.paths import Outcome, Steps, path, race, run_many
from core.optimizers import OPTIMIZERS, get_optimizer
from core.schedules import get_schedule


def _suggested(landscape, name, **extra):
    spec = get_optimizer(name)
    return spec, spec.hyperparameters(lr=landscape.lr[spec.family], **extra)


def _split(events):
    *chunks, outcome = events
    assert all(isinstance(c, Steps) for c in chunks) and isinstance(outcome, Outcome)
    return Steps.join(chunks), outcome


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_reaches_the_mccormick_minimum_from_the_seed_start(name):
    ls = get_landscape("mccormick")
    spec, hyper = _suggested(ls, name)
    steps, outcome = _split(list(path(ls, spec, hyper, (-1.0, 2.75), ls.steps)))
    assert outcome.status in {"converged", "done"}
    assert outcome.distance < 0.02, f"{name} ended {outcome.distance:.3g} from the minimum"
    assert steps.loss[-1] == pytest.approx(0.08678, abs=1e-3)


def test_a_path_starts_at_the_start_and_numbers_its_steps():
    ls = get_landscape("mccormick")
    spec, hyper = _suggested(ls, "momentum")
    steps, outcome = _split(list(path(ls, spec, hyper, (-1.0, 2.75), 50)))
    assert (steps.step[0], steps.x[0], steps.y[0]) == (0, -1.0, 2.75)
    assert steps.loss[0] == pytest.approx(float(ls.f(-1.0, 2.75)))
    assert steps.step.tolist() == list(range(51))
    assert (outcome.status, outcome.step, outcome.message) == ("done", 50, "done: 50 steps")
    # each step records the gradient it used, and the velocity after it: v1 = η·g1
    g = ls.grad(-1.0, 2.75)
    assert (steps.gx[1], steps.gy[1]) == pytest.approx(g)
    assert steps.state["velocity"][1] == pytest.approx((0.01 * g[0], 0.01 * g[1]))
    assert steps.grad_norm[1] == pytest.approx(math.hypot(*g))
    assert (steps.x[1], steps.y[1]) == pytest.approx((-1.0 - 0.01 * g[0], 2.75 - 0.01 * g[1]))
    assert steps.state["velocity"][0].tolist() == [0.0, 0.0] and steps.lr.tolist() == [0.01] * 51


def test_chunks_cover_the_path_in_order():
    ls = get_landscape("mccormick")
    spec, hyper = _suggested(ls, "adam")
    *chunks, _ = path(ls, spec, hyper, ls.start, 2000, chunk=20, tol=0)
    assert [len(c) for c in chunks] == [20, 40, 80, 160, 320, 400, 400, 400, 181]
    assert [int(c.step[0]) for c in chunks] == [0, 20, 60, 140, 300, 620, 1020, 1420, 1820]


def test_convergence_ends_the_path_early():
    ls = get_landscape("quadratic")
    spec, hyper = _suggested(ls, "sgd")
    steps, outcome = _split(list(path(ls, spec, hyper, ls.start, 10_000)))
    assert outcome.status == "converged" and outcome.step == steps.step[-1] < 10_000
    assert outcome.message == f"converged at step {outcome.step}"
    assert outcome.distance < 1e-3 * math.hypot(6, 6)


@pytest.mark.parametrize("landscape", list(LANDSCAPES))
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_absurd_learning_rates_never_leak_a_non_finite_number(landscape, name):
    ls = get_landscape(landscape)
    spec = get_optimizer(name)
    hyper = spec.hyperparameters(lr=spec.params[0].high)
    events = list(path(ls, spec, hyper, ls.start, 300))
    steps, outcome = _split(events)
    text = orjson.dumps(events[:-1], option=orjson.OPT_SERIALIZE_NUMPY)  # orjson writes NaN as null
    assert b"null" not in text and b"NaN" not in text and b"Infinity" not in text
    sent = orjson.loads(orjson.dumps(outcome))
    absent = (
        {"heading", "escape"}
        if outcome.status != "diverged"
        else {"escape"}
        if outcome.escape is None
        else set()
    )
    assert {k for k, v in sent.items() if v is None} == absent
    for column in ("x", "y", "loss", "lr", "gx", "gy", "grad_norm"):
        assert np.isfinite(getattr(steps, column)).all()
    assert all(np.isfinite(v).all() for v in steps.state.values())
    if outcome.status == "diverged":
        assert outcome.message.startswith(f"diverged at step {outcome.step}:")
        assert steps.step[-1] == outcome.step - 1


def test_gradient_descent_past_the_stability_limit_diverges():
    ls = get_landscape("mccormick")
    _, outcome = _split(list(path(ls, get_optimizer("sgd"), {"lr": 2.0}, (-1.0, 2.75), 1000)))
    assert outcome.status == "diverged"
    assert outcome.message in {
        f"diverged at step {outcome.step}: ten domain widths out",
        f"diverged at step {outcome.step}: the loss overflowed",
    }


@pytest.mark.parametrize("lr", [0.003, 1.0])
def test_the_diverging_step_is_the_update_that_left_and_its_heading_points_where_it_went(lr):
    ls = get_landscape("rosenbrock")
    steps, outcome = _split(list(path(ls, get_optimizer("sgd"), {"lr": lr}, ls.start, 2000)))
    assert outcome.status == "diverged" and outcome.message.startswith(f"diverged at step {outcome.step}:")
    assert steps.step[-1] == outcome.step - 1  # every row shown; the step that left is not a row
    last = np.array([steps.x[-1], steps.y[-1]])
    went = last - lr * np.array(ls.grad(*last))  # one more gradient step, by hand
    assert outcome.escape == pytest.approx(tuple(went), rel=1e-12)
    assert ls.far_outside(*went)
    assert outcome.heading == pytest.approx(tuple((went - last) / np.hypot(*(went - last))), rel=1e-12)
    assert (outcome.step == 1) == (lr == 1.0)  # at η = 1 the first update leaves: only the start is shown


def test_an_overflow_still_has_a_finite_heading_and_no_escape_point():
    ls = dataclasses.replace(get_landscape("rosenbrock"), grad=lambda x, y: (math.inf, -math.inf))
    _, outcome = _split(list(path(ls, get_optimizer("sgd"), {"lr": 0.001}, ls.start, 5)))
    assert (outcome.status, outcome.step, outcome.escape) == ("diverged", 1, None)
    assert outcome.message == "diverged at step 1: the loss overflowed"
    assert outcome.heading == pytest.approx((-(0.5**0.5), 0.5**0.5))  # towards (-inf, +inf)


def test_a_path_that_ends_outside_the_domain_has_left_it_since_its_last_exit():
    # noisy momentum walks off the modified McCormick, which falls away without bound outside its domain
    ls = get_landscape("mccormick")
    spec = get_optimizer("momentum")
    noise = GradientNoise(16.0, 4.0, 2000, 4)
    steps, outcome = _split(
        list(path(ls, spec, spec.hyperparameters(lr=0.01), ls.start, 2000, noise, seed=0))
    )
    (x0, x1), (y0, y1) = ls.domain
    inside = (steps.x >= x0) & (steps.x <= x1) & (steps.y >= y0) & (steps.y <= y1)
    exit_step = steps.step[np.flatnonzero(inside)[-1] + 1]
    assert not inside[-1]
    assert (outcome.status, outcome.step, outcome.message) == (
        "left",
        exit_step,
        f"left the domain at step {exit_step}",
    )
    assert steps.loss[-1] < min(m.value for m in ls.minima)  # below f*: a loss no minimum has


def test_noise_is_reproducible_and_shared_by_racers():
    ls = get_landscape("mccormick")
    noise = GradientNoise(16.0, 4.0, 2000, 4)

    def noise_seen(name, seed):
        spec, hyper = _suggested(ls, name)
        steps, _ = _split(list(path(ls, spec, hyper, ls.start, 100, noise, seed=seed)))
        true_x, true_y = ls.grad(steps.x[:-1], steps.y[:-1])
        return np.column_stack([steps.gx[1:] - true_x, steps.gy[1:] - true_y])

    a = noise_seen("sgd", 3)
    np.testing.assert_allclose(a, noise_seen("sgd", 3), rtol=0, atol=0)
    np.testing.assert_allclose(a, noise_seen("adam", 3), atol=1e-9)  # same seed, same noise
    assert not np.allclose(a, noise_seen("sgd", 4))
    np.testing.assert_allclose(
        a.std(axis=0), [16 * math.sqrt(1 / 4 - 1 / 2000), 4 * math.sqrt(1 / 4 - 1 / 2000)], rtol=0.25
    )


def test_the_schedule_scales_each_step():
    ls = get_landscape("mccormick")
    spec, hyper = _suggested(ls, "adam")
    factor = get_schedule("cosine", 40, floor=0.1)
    steps, _ = _split(list(path(ls, spec, hyper, ls.start, 40, schedule=factor)))
    np.testing.assert_allclose(steps.lr[1:], 0.01 * factor(np.arange(40)), rtol=1e-12)
    assert steps.lr[0] == pytest.approx(0.01)


@pytest.mark.parametrize("name", ["momentum", "adam", "lion"])
def test_many_paths_at_once_equal_each_path_alone(name):
    ls = get_landscape("himmelblau")
    spec = get_optimizer(name)
    starts = np.array([[-0.3, 1.0, -4.0], [-0.9, 1.0, 4.0]])
    lrs = np.array([0.001, 0.005, 0.01])
    noise = GradientNoise(5.0, 5.0, 100, 10)
    many = run_many(
        ls, spec, spec.hyperparameters() | {"lr": lrs}, starts, 60, noise, seed=[1, 2, 3], keep_points=True
    )
    for j in range(3):
        hyper = spec.hyperparameters(lr=lrs[j])
        steps, _ = _split(list(path(ls, spec, hyper, starts[:, j], 60, noise, seed=j + 1, tol=0)))
        assert len(steps) == 61
        np.testing.assert_allclose(many.points[:, :, j], np.column_stack([steps.x, steps.y]), rtol=1e-12)
        np.testing.assert_allclose(many.loss[:, j], steps.loss, rtol=1e-12)


def test_many_paths_mark_divergence_and_steps_to_target():
    ls = get_landscape("quadratic", kappa=10.0)
    spec = get_optimizer("sgd")
    lrs = np.array([0.05, 0.19, 0.21, 5.0])  # 2/λmax = 0.2
    starts = np.tile([[1.0], [-1.0]], 4)
    many = run_many(ls, spec, {"lr": lrs}, starts, 300)
    assert many.diverged_at[0] == many.diverged_at[1] == 0
    assert many.diverged_at[3] > 0 and np.isnan(many.loss[many.diverged_at[3] :, 3]).all()
    assert np.isfinite(many.final).all()
    first = many.steps_to(1e-6)
    assert 0 < first[0] < 300 and first[2] == first[3] == -1
    assert many.loss[first[0], 0] <= 1e-6 < many.loss[first[0] - 1, 0]


def test_a_race_interleaves_each_racers_own_path():
    ls = get_landscape("mccormick")
    noise = GradientNoise(16.0, 4.0, 2000, 4)
    racers = [_suggested(ls, name) for name in ("sgd", "momentum", "adam")]
    events = list(race(ls, racers, ls.start, 120, noise, seed=5, chunk=40))
    assert [i for i, _ in events[:3]] == [0, 1, 2], "round robin, chunk by chunk"
    for i, (spec, hyper) in enumerate(racers):
        alone = list(path(ls, spec, hyper, ls.start, 120, noise, seed=5, chunk=40))
        mine = [item for j, item in events if j == i]
        assert len(mine) == len(alone)
        steps, outcome = _split(mine)
        expected, expected_outcome = _split(alone)
        np.testing.assert_array_equal(steps.x, expected.x)
        assert outcome == expected_outcome


def test_many_paths_diverge_where_a_lone_path_does():
    ls = get_landscape("mccormick")
    spec = get_optimizer("sgd")
    lrs = np.array([0.6, 1.0, 2.0])  # all past 2/λmax = 0.5 at the start
    many = run_many(ls, spec, {"lr": lrs}, np.tile([[-1.0], [2.75]], 3), 400)
    for j, lr in enumerate(lrs):
        *_, outcome = path(ls, spec, {"lr": lr}, (-1.0, 2.75), 400, tol=0)
        assert outcome.status == "diverged" and many.diverged_at[j] == outcome.step
