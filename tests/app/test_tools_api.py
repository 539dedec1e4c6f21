"""/api/tools: each answer is the core's, every bad field gets a 422 naming it, nothing is NaN."""

from dataclasses import replace

import numpy as np
import pytest

from app.schemas.tools import MAX_WORK, HyperMapOut, RangeOut, SeedBandOut, StartMapOut, TradeoffOut
from core.landscape.landscapes import get_landscape
from core.landscape.noise import GradientNoise
from core.landscape.tuning import (
    DIVERGED,
    axis_values,
    batch_param,
    batch_tradeoff,
    global_value,
    hyper_map,
    lr_range_test,
    seed_band,
    start_grid,
    start_map,
)
from core.optimizers import get_optimizer

NOISE = {"sigma_x": 4.0, "sigma_y": 2.0, "dataset_size": 500, "batch_size": 8}
CORE_NOISE = GradientNoise(**NOISE)


def post(client, url, body, model):
    r = client.post(f"/api/tools/{url}", json=body)
    assert r.status_code == 200, r.text
    assert "NaN" not in r.text and "Infinity" not in r.text
    model.model_validate_json(r.text)  # the documented schema
    return r.json()


def test_range_test_is_the_cores(client):
    body = {"landscape": "quadratic", "landscape_params": {"kappa": 20}, "optimizer": "sgd", "hyper": {}}
    body |= {"lr_min": 1e-4, "lr_max": 1.0, "points": 41, "steps": 120, "start": [-2.0, 1.0]}
    doc = post(client, "lr-range", body, RangeOut)
    ls, spec = get_landscape("quadratic", kappa=20), get_optimizer("sgd")
    r = lr_range_test(ls, spec, spec.hyperparameters(), (-2.0, 1.0), 120, np.geomspace(1e-4, 1.0, 41))
    assert doc["lr"] == r.lr.tolist() and doc["loss"] == r.loss.tolist()
    assert (
        doc["diverged_at"] == r.diverged_at.tolist() and doc["steps_to_target"] == r.steps_to_target.tolist()
    )
    assert doc["escaped_at"] == r.escaped_at.tolist()
    picks = [doc[k] for k in ("steepest", "best", "divergence", "suggested", "reaches")]
    assert picks == [r.steepest, r.best, r.divergence, r.suggested, r.reaches]
    assert doc["suggested_lr"] == r.lr[r.suggested] < r.lr[r.divergence]
    assert (doc["start_loss"], doc["target"]) == (r.start_loss, r.target)
    assert any(doc["diverged_at"])  # diverged runs are there, as a step, with a finite loss


def test_range_test_defaults_to_the_optimizers_whole_range(client):
    doc = post(client, "lr-range", {"optimizer": "adadelta", "points": 5, "steps": 10}, RangeOut)
    assert doc["lr"][0] == pytest.approx(1e-4) and doc["lr"][-1] == pytest.approx(100.0)


def test_momentum_map_is_the_cores(client):
    body = {"landscape": "mccormick", "optimizer": "momentum", "hyper": {"lr": 0.01, "gamma": 0.5}}
    body |= {"lr_min": 1e-3, "lr_max": 1.0, "nx": 15, "ny": 7, "steps": 150, "tolerance": 0.01}
    doc = post(client, "hyper-map", body, HyperMapOut)
    ls, spec = get_landscape("mccormick"), get_optimizer("momentum")
    gammas = axis_values(spec.params[1], 0.0, 0.999, 7)
    lrs = np.geomspace(1e-3, 1, 15)
    m = hyper_map(
        ls, spec, spec.hyperparameters(gamma=0.5), ls.start, 150, lrs, "gamma", gammas, tolerance=0.01
    )
    assert doc["y_name"] == "gamma" and doc["y"] == gammas.tolist() and doc["target"] == m.target
    assert doc["final_loss"] == m.final_loss.tolist()
    assert (
        doc["steps_to_target"] == m.steps_to_target.tolist() and doc["diverged_at"] == m.diverged_at.tolist()
    )
    assert doc["escaped_at"] == m.escaped_at.tolist()
    assert np.any(m.diverged_at > 0) and np.any(m.steps_to_target >= 0)


def test_batch_size_map_is_the_cores(client):
    body = {"optimizer": "adam", "y": "batch_size", "y_min": 2, "y_max": 500, "ny": 5, "nx": 6, "steps": 80}
    body |= {"noise": NOISE, "seed": 9, "lr_min": 0.01, "lr_max": 1.0}
    doc = post(client, "hyper-map", body, HyperMapOut)
    ls, spec = get_landscape("mccormick"), get_optimizer("adam")
    batches = axis_values(batch_param(CORE_NOISE), 2, 500, 5)
    assert batches.tolist() == [2, 8, 32, 126, 500]
    lrs = np.geomspace(0.01, 1, 6)
    m = hyper_map(
        ls, spec, spec.hyperparameters(), ls.start, 80, lrs, "batch_size", batches, CORE_NOISE, seed=9
    )
    assert doc["y"] == batches.tolist()
    assert doc["final_loss"] == m.final_loss.tolist() and doc["steps_to_target"] == m.steps_to_target.tolist()


def test_start_map_is_the_cores(client):
    body = {"landscape": "himmelblau", "optimizer": "adam", "hyper": {"lr": 0.05}, "nx": 21, "ny": 19}
    doc = post(client, "start-map", body | {"steps": 300}, StartMapOut)
    ls, spec = get_landscape("himmelblau"), get_optimizer("adam")
    m = start_map(ls, spec, spec.hyperparameters(lr=0.05), 300, *start_grid(ls, 21, 19))
    assert doc["x"] == m.x.tolist() and doc["y"] == m.y.tolist()
    assert doc["minimum"] == m.minimum.tolist() and doc["steps"] == m.steps.tolist()
    assert doc["final_loss"] == m.final_loss.tolist() and doc["global_share"] == m.global_share
    assert {0, 1, 2, 3} <= {v for row in doc["minimum"] for v in row}
    # each minimum's target, the replay's: f there + the tolerance
    assert doc["targets"] == [mn.value + doc["tolerance"] for mn in ls.minima] == m.targets.tolist()


def test_diverged_starts_are_a_category_with_finite_numbers(client):
    body = {"landscape": "beale", "optimizer": "sgd", "hyper": {"lr": 0.05}, "nx": 10, "ny": 10, "steps": 200}
    doc = post(client, "start-map", body, StartMapOut)
    assert sum(v == DIVERGED for row in doc["minimum"] for v in row) > 50


def test_seed_band_is_the_cores(client):
    body = {"optimizer": "sgd", "hyper": {"lr": 0.2}, "noise": NOISE | {"batch_size": 1}, "seed": 4}
    doc = post(client, "seed-band", body | {"seeds": 30, "steps": 700}, SeedBandOut)
    ls, spec = get_landscape("mccormick"), get_optimizer("sgd")
    b = seed_band(ls, spec, spec.hyperparameters(lr=0.2), ls.start, 700, replace(CORE_NOISE, batch_size=1),
                  range(4, 34))  # fmt: skip
    assert doc["seeds"] == list(range(4, 34)) and doc["success"] == b.success
    assert (
        doc["steps_to_target"] == b.steps_to_target.tolist() and doc["diverged_at"] == b.diverged_at.tolist()
    )
    assert doc["alive"] == b.alive.tolist() and doc["escaped_at"] == b.escaped_at.tolist()
    going = int(np.sum(b.alive > 0))
    for name in ("mean", "low", "median", "high"):
        assert doc[name] == getattr(b, name)[:going].tolist()
    # the fan: every third step (701 points drawn as 234), each path cut at its divergence
    fan = doc["fan"]
    assert fan["step"][:3] == [0, 3, 6] and fan["step"][-1] == 700 and len(fan["step"]) == 235
    for j, gone in enumerate(b.diverged_at):
        steps = [k for k in fan["step"] if not gone or k < gone]
        assert fan["x"][j] == b.points[steps, 0, j].tolist() and fan["y"][j] == b.points[steps, 1, j].tolist()
    assert 0 < sum(1 for g in b.diverged_at if g) < 30


def test_batch_tradeoff_is_the_cores(client):
    body = {"optimizer": "sgd", "noise": NOISE, "lr_min": 0.01, "lr_max": 0.4, "nx": 3}
    body |= {"batch_min": 1, "batch_max": 500, "ny": 3, "seeds": 8, "seed": 100, "steps": 200}
    doc = post(client, "batch-tradeoff", body, TradeoffOut)
    ls, spec = get_landscape("mccormick"), get_optimizer("sgd")
    lrs, batches = np.geomspace(0.01, 0.4, 3), np.array([1, 22, 500])
    t = batch_tradeoff(
        ls, spec, spec.hyperparameters(), ls.start, 200, CORE_NOISE, lrs, batches, range(100, 108)
    )
    assert doc["batch_size"] == [1, 22, 500] and doc["seeds"] == 8
    assert doc["success"] == t.success.tolist()
    assert doc["mean_steps"] == np.nan_to_num(t.mean_steps, nan=-1).tolist()


BAD = [
    (
        "lr-range",
        {"optimizer": "adagrad", "lr_min": 20.0},
        ["body", "lr_min"],
        "lr_min must be in [1e-07, 10]",
    ),
    ("lr-range", {"lr_min": 0.1, "lr_max": 0.01}, ["body", "lr_max"], "lr_max must be more than lr_min"),
    ("lr-range", {"points": 201}, ["body", "points"], "less than or equal to 200"),
    ("lr-range", {"steps": 5001}, ["body", "steps"], "less than or equal to 5000"),
    (
        "lr-range",
        {"optimizer": "sgd", "hyper": {"gamma": 0.9}},
        ["body", "hyper"],
        "has no parameter 'gamma'",
    ),
    ("lr-range", {"optimizer": "sgd", "hyper": {"lr": 0}}, ["body", "hyper"], "lr must be in [1e-07, 10]"),
    ("lr-range", {"optimizer": "rmsprop2"}, ["body", "optimizer"], "Input should be 'sgd'"),
    ("lr-range", {"start": [1e9, 0]}, ["body", "start"], "lies ten domain widths outside"),
    ("lr-range", {"tolerance": 1e-13}, ["body", "tolerance"], "greater than or equal to 0.000000000001"),
    ("lr-range", {"seed": -1}, ["body", "seed"], "greater than or equal to 0"),
    ("lr-range", {"points": 1.5}, ["body", "points"], "valid integer"),
    ("lr-range", {"lr_max": False}, ["body", "lr_max"], "valid number"),
    (
        "hyper-map",
        {"nx": 200, "ny": 200, "steps": 500},
        ["body", "steps"],
        "at most 148 steps for 40000 paths",
    ),
    ("hyper-map", {"optimizer": "sgd"}, ["body", "y"], "sgd has no γ, β1 or ρ"),
    (
        "hyper-map",
        {"optimizer": "adam", "y": "gamma"},
        ["body", "y"],
        "y must be one of b1, b2, eps, batch_size",
    ),
    ("hyper-map", {"y": "batch_size"}, ["body", "y"], "a batch_size axis needs noise"),
    ("hyper-map", {"y_min": 1.5}, ["body", "y_min"], "y_min must be in [0, 0.9999] for gamma"),
    ("hyper-map", {"y_min": 0.9, "y_max": 0.5}, ["body", "y_max"], "y_max must be more than y_min"),
    (
        "hyper-map",
        {"y": "batch_size", "noise": NOISE, "y_max": 501, "ny": 8},
        ["body", "y_max"],
        "in [1, 500]",
    ),
    ("start-map", {"nx": 201}, ["body", "nx"], "less than or equal to 200"),
    (
        "start-map",
        {"nx": 200, "ny": 200, "steps": 200},
        ["body", "steps"],
        "at most 148 steps for 40000 paths",
    ),
    ("start-map", {"start": [0, 0]}, ["body", "start"], "Extra inputs are not permitted"),
    ("seed-band", {}, ["body", "noise"], "Field required"),
    ("seed-band", {"noise": NOISE, "seeds": 201}, ["body", "seeds"], "less than or equal to 200"),
    ("seed-band", {"noise": NOISE | {"batch_size": 501}}, ["body", "noise"], "batch_size must be in [1, "),
    ("batch-tradeoff", {"noise": NOISE, "batch_max": 501}, ["body", "batch_max"], "at most the dataset size"),
    ("batch-tradeoff", {"noise": NOISE, "batch_min": 9, "batch_max": 8}, ["body", "batch_max"], "at least"),
    ("batch-tradeoff", {"noise": NOISE, "nx": 13}, ["body", "nx"], "less than or equal to 12"),
    (
        "batch-tradeoff",
        {"noise": NOISE, "seeds": 50, "nx": 12, "ny": 12, "steps": 500},
        ["body", "steps"],
        "at most 454",
    ),
    ("batch-tradeoff", {"noise": NOISE, "colour": 1}, ["body", "colour"], "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("url", "body", "field", "message"), BAD, ids=[f"{u}-{f[-1]}" for u, _, f, _ in BAD])
def test_bad_requests_get_a_422_naming_the_field(client, url, body, field, message):
    r = client.post(f"/api/tools/{url}", json=body)
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["loc"] == field
    assert message in error["msg"]


def test_the_work_cap_admits_the_100_by_100_map(client):
    body = {"landscape": "mccormick", "optimizer": "momentum", "nx": 100, "ny": 100, "steps": 500}
    assert MAX_WORK >= 500 * (100 * 100 + 500)
    r = client.post("/api/tools/hyper-map", json=body)
    assert r.status_code == 200 and len(r.json()["final_loss"]) == 100


def test_seed_band_statistics_leave_out_runs_that_left_the_domain(client):
    # momentum on McCormick with noise: 3 of 40 seeds slide out along x = y, below f*
    noise = {"sigma_x": 16.0, "sigma_y": 4.0, "dataset_size": 2000, "batch_size": 32}
    body = {"optimizer": "momentum", "hyper": {"lr": 0.01, "gamma": 0.9}, "noise": noise, "seeds": 40}
    doc = post(client, "seed-band", body | {"steps": 300}, SeedBandOut)
    left = [j for j, k in enumerate(doc["escaped_at"]) if k >= 0]
    assert len(left) == 3 and doc["alive"][-1] == 37
    target, tol = doc["target"], doc["target"] - global_value(get_landscape("mccormick"))
    assert min(doc["low"]) >= target - 2 * tol  # no counted loss lies below f* − tol
    assert doc["success"] == 15 / 40  # 18 reach the target, 3 of them on their way out
