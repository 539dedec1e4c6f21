import pickle

import numpy as np
import pytest

from core.nn.sweeps import JOBS, centered, config_from, range_points, run_job
from core.nn.training import train

MOONS = {
    "dataset": "moons",
    "hidden": [[16, "relu"]],
    "optimizer": "adam",
    "hyper": {"lr": 0.01},
    "epochs": 6,
}
DIVERGING = {"dataset": "moons", "optimizer": "sgd", "hyper": {"lr": 10.0}, "loss": "mse", "output": "linear"}


def events_of(fields):
    return list(train(config_from(fields)))


def test_a_train_job_reports_what_the_training_loop_does():
    result = run_job({"kind": "train", "config": MOONS, "target": 0.85})
    events = events_of(MOONS)
    summary = events[-1]
    evals = [e for e in events if e["type"] == "eval"]
    losses = np.concatenate([e["loss"] for e in events if e["type"] == "steps"])
    assert (result["status"], result["steps"], result["epochs"]) == ("done", summary["steps"], 6)
    assert result["accuracy"] == summary["test_accuracy"] and result["test_loss"] == summary["test_loss"]
    assert result["best_accuracy"] == max(e["test_accuracy"] for e in evals)
    first = next(e for e in evals if e["test_accuracy"] >= 0.85)
    assert result["steps_to_target"] == first["step"] and result["epochs_to_target"] == first["epoch"]
    assert result["accuracy_curve"]["value"] == [e["test_accuracy"] for e in evals]
    # 150 steps in at most 200 bins: one step per bin, the losses themselves
    assert result["curve"]["step"] == list(range(1, 151))
    np.testing.assert_allclose(result["curve"]["value"], losses, rtol=1e-5)


def test_the_curve_is_binned_over_the_planned_steps():
    result = run_job({"kind": "train", "config": MOONS, "points": 40})
    losses = np.concatenate([e["loss"] for e in events_of(MOONS) if e["type"] == "steps"])
    assert result["curve"]["step"] == [*range(4, 151, 4), 150]  # bins of 4 steps, the last short
    np.testing.assert_allclose(result["curve"]["value"][0], losses[:4].mean(), rtol=1e-5)
    np.testing.assert_allclose(result["curve"]["value"][-1], losses[148:].mean(), rtol=1e-5)


def test_seeds_share_their_x_values_and_differ_in_their_losses():
    a, b = (run_job({"kind": "train", "config": MOONS | {"seed": s}, "points": 50}) for s in (1, 2))
    assert a["curve"]["step"] == b["curve"]["step"] and a["curve"]["value"] != b["curve"]["value"]
    assert run_job({"kind": "train", "config": MOONS | {"seed": 1}, "points": 50})["curve"] == a["curve"]


def test_a_diverged_run_and_a_target_never_reached():
    result = run_job({"kind": "train", "config": DIVERGING | {"epochs": 3}, "target": 0.99})
    assert result["status"] == "diverged" and result["diverged_at"] == result["steps"] + 1
    assert result["accuracy"] is None and result["steps_to_target"] is None
    assert result["curve"]["step"][-1] == result["steps"]  # the curve ends where the run did


def test_centred_smoothing_has_no_lag_and_shorter_windows_at_the_ends():
    np.testing.assert_allclose(centered(np.arange(1.0, 6.0), 0.5), [1.5, 2, 3, 4, 4.5])
    line = np.linspace(0, 1, 100)
    np.testing.assert_allclose(centered(line)[20:80], line[20:80], atol=1e-12)


def test_range_points_on_a_known_curve():
    lr = np.geomspace(1e-5, 1.0, 500)
    x = np.log10(lr)
    loss = 2.0 - np.tanh(2 * (x + 3)) + np.where(x > -1, 50 * (x + 1) ** 2, 0.0)  # steepest at lr = 1e-3
    points = range_points(lr, loss, diverged=True)
    assert points["steepest"]["lr"] == pytest.approx(1e-3, rel=0.1)
    assert points["suggestion"] == points["steepest"]["lr"]
    assert 1e-2 < points["minimum"]["lr"] < 1e-1 + 0.05
    assert points["divergence"]["lr"] == lr[-1] and points["divergence"]["step"] == 500


def test_a_long_noisy_floor_does_not_pull_the_suggestion_to_where_noise_put_the_minimum():
    rng = np.random.default_rng(0)
    lr = np.geomspace(1e-5, 10.0, 300)
    x = np.log10(lr)
    clean = 0.6 - 0.15 * (1 + np.tanh(2 * (x + 2.5)))  # steepest at 10^-2.5, flat from 1e-2 to 10
    for _ in range(5):
        points = range_points(lr, clean + rng.normal(0, 0.15, 300), diverged=False)
        assert abs(np.log10(points["suggestion"]) + 2.5) < 0.6  # within about half a decade


def test_an_lr_range_test_grows_the_rate_exponentially_and_finds_the_blow_up():
    spec = {
        "kind": "lr_range",
        "config": MOONS | {"optimizer": "sgd"},
        "lr_min": 1e-4,
        "lr_max": 10.0,
        "steps": 300,
    }
    result = run_job(spec)
    lr = np.array(result["lr"])
    assert result["planned_steps"] == 300 and lr[0] == pytest.approx(1e-4)
    assert np.allclose(np.diff(np.log(lr)), np.log(1e5) / 299)  # every kept step: the same factor
    assert result["status"] == "diverged" and result["steps"] < 300
    assert result["divergence"]["lr"] > result["minimum"]["lr"] >= result["steepest"]["lr"]
    assert 1e-4 < result["suggestion"] == result["steepest"]["lr"] < 10
    assert len(result["loss"]) == len(result["smoothed"]) == len(lr) == result["steps"]


def test_steps_round_to_whole_epochs_and_a_gentle_range_ends_done():
    spec = {"kind": "lr_range", "config": MOONS, "lr_min": 1e-5, "lr_max": 1e-3, "steps": 110}
    result = run_job(spec)  # 25 steps per epoch: 4 epochs
    assert (result["status"], result["steps"], result["planned_steps"]) == ("done", 100, 100)
    assert result["lr"][-1] == pytest.approx(1e-3) and result["divergence"] is None
    with pytest.raises(ValueError, match="need 0 < lr_min < lr_max"):
        run_job(spec | {"lr_min": 1.0})


def test_jobs_are_registered_picklable_and_checked():
    assert set(JOBS) == {"train", "lr_range"}
    for job in JOBS.values():
        assert job.label and pickle.loads(pickle.dumps(job.run)) is job.run
    assert pickle.loads(pickle.dumps(run_job)) is run_job
    with pytest.raises(ValueError, match="unknown job kind 'sweep'; valid: train, lr_range"):
        run_job({"kind": "sweep", "config": MOONS})
    with pytest.raises(ValueError, match="lr must be in"):
        run_job({"kind": "train", "config": MOONS | {"hyper": {"lr": 100.0}}})


def test_an_lr_range_test_on_an_mnist_subset(monkeypatch, mnist_dir):
    monkeypatch.setenv("DESCENT_DATA_DIR", str(mnist_dir))
    config = {"dataset": "mnist", "data": {"train_size": 640, "test_size": 100}, "hidden": [[32, "relu"]]}
    config |= {"optimizer": "adam", "batch_size": 32}
    result = run_job({"kind": "lr_range", "config": config, "lr_min": 1e-5, "lr_max": 1.0, "steps": 100})
    assert result["planned_steps"] == 100 and result["lr"][0] == pytest.approx(1e-5)
    assert result["smoothed"][0] > 2.0 > result["minimum"]["loss"]  # ln 10 at the start, then it learns
    assert 1e-5 < result["suggestion"] < result["minimum"]["lr"]
