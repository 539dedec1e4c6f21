"""Races on one network: fair starts and batches, thinned trajectories, and the race's surface."""

import numpy as np
import pytest

from core.data.datasets import one_hot
from core.nn import race as race_module
from core.nn.config import TrainConfig
from core.nn.race import Race, Racer, Trajectory, race_surface, racer_configs
from core.nn.surface import loss_at

BASE = TrainConfig(dataset="moons", hidden=((8, "tanh"), (8, "relu")), epochs=4, batch_size=20, seed=3)
RACERS = [Racer("sgd", {"lr": 0.2}), Racer("momentum", {"lr": 0.05}), Racer("adam", {"lr": 0.02})]


@pytest.fixture(scope="module")
def finished():
    race = Race(BASE, RACERS)
    events = list(race.events())
    return race, events


def test_racers_differ_only_in_their_optimizer():
    configs = racer_configs(BASE, RACERS)
    assert [c.optimizer for c in configs] == ["sgd", "momentum", "adam"]
    assert configs[2].hyper["b1"] == 0.9  # defaults filled in
    for c in configs:
        assert c.seed == BASE.seed and c.hidden == BASE.hidden and c.batch_size == BASE.batch_size
    with pytest.raises(ValueError, match="2 to 6 racers, got 1"):
        racer_configs(BASE, RACERS[:1])
    with pytest.raises(ValueError, match="2 to 6 racers, got 9"):
        racer_configs(BASE, RACERS * 3)
    with pytest.raises(ValueError, match="lr"):
        Racer("sgd", {"lr": -1})


def test_every_racer_starts_from_the_same_weights_and_sees_the_same_batches(finished):
    race, events = finished
    initial = {k: e["train_loss"] for k, e in events if e["type"] == "eval" and e["step"] == 0}
    assert len(initial) == 3 and len(set(initial.values())) == 1
    orders = [[e["batches"] for k, e in events if e["type"] == "epoch" and k == r] for r in range(3)]
    assert orders[0] == orders[1] == orders[2] and len(set(orders[0])) == 4
    finals = [e["train_loss"] for _, e in events if e["type"] == "summary"]
    assert len(set(finals)) == 3  # and yet they end apart: only the optimizer differs
    for t in race.trajectories:
        np.testing.assert_array_equal(t.weights[0], race.initial.astype(np.float32))


def test_a_trajectory_thins_itself_and_keeps_its_first_snapshot(monkeypatch):
    t = Trajectory(cap=4)
    kept = [t.offer(step, np.full(3, step, float)) for step in range(20)]
    assert len(t) <= 4 and t.steps[0] == 0
    assert t.steps == sorted(t.steps) and kept.count(True) >= len(t)
    assert np.array_equal(t.points()[:, 0], np.array(t.steps, np.float32))
    monkeypatch.setattr(race_module, "SNAPSHOT_BYTES", 4 * 1000 * 3)  # room for three of 1,000 floats
    big = Trajectory()
    for step in range(10):
        big.offer(step, np.zeros(1000))
    assert len(big) <= 3 and big.points().dtype == np.float32


@pytest.mark.parametrize("kind", ["pca", "random"])
def test_the_race_surface_is_true_to_its_network(finished, kind):
    race, _ = finished
    split = race.split
    x, y = split.x_train[:200], one_hot(split.y_train[:200], split.classes)
    trajectories = [(t.steps, t.points()) for t in race.trajectories]
    event, plane = race_surface(race.nets[0], x, y, race.initial, trajectories, kind, 9, seed=1)
    assert event["centre_loss"] == loss_at(race.nets[0], x, y, race.initial)
    for k, path in enumerate(event["paths"]):
        assert path["racer"] == k and path["step"] == list(race.trajectories[k].steps)
        assert path["a"][0] == pytest.approx(0, abs=1e-9) and path["b"][0] == pytest.approx(0, abs=1e-9)
        ab = plane.project(race.trajectories[k].points().astype(np.float64))
        np.testing.assert_allclose(ab[:, 0], path["a"], rtol=1e-12, atol=1e-12)
    # every projected point lies inside the drawn grid
    for axis, key in ((event["a"], "a"), (event["b"], "b")):
        values = [v for p in event["paths"] for v in p[key]]
        assert min(axis) <= min(values) and max(values) <= max(axis)
    loss = np.asarray(event["loss"], float)
    assert loss.shape == (9, 9)
    i, j = len(event["b"]) // 2, len(event["a"]) // 2
    centre = plane.centre + event["a"][j] * plane.d1 + event["b"][i] * plane.d2
    assert loss[i, j] == pytest.approx(
        loss_at(race.nets[0], x, y, centre), rel=1e-6
    )  # in the network's float32
    line = np.asarray(event["interpolation"]["loss"])
    alphas = np.asarray(event["interpolation"]["alpha"])
    assert line.shape == (3, len(alphas))
    end = list(alphas).index(1.0)
    for k, t in enumerate(race.trajectories):
        assert line[k, end] == pytest.approx(
            loss_at(race.nets[0], x, y, t.points()[-1], np.float64), rel=1e-12
        )
    assert (event["explained"] is None) == (kind == "random")


def test_too_early_for_pca_the_surface_falls_back_to_random_directions_and_says_so(finished):
    race, _ = finished
    x, y = race.split.x_train[:100], one_hot(race.split.y_train[:100], race.split.classes)
    only_start = [([0], t.points()[:1]) for t in race.trajectories]
    event, plane = race_surface(race.nets[0], x, y, race.initial, only_start, "pca", 5)
    assert event["kind"] == plane.kind == "random" and event["explained"] is None
    assert event["note"].startswith("drawn on random directions")
    full = [(t.steps, t.points()) for t in race.trajectories]
    assert race_surface(race.nets[0], x, y, race.initial, full, "pca", 5)[0]["note"] is None
