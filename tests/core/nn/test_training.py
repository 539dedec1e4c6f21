import queue
import threading

import numpy as np
import orjson
import pytest

from core.data.datasets import make_dataset
from core.nn.network import Network
from core.nn.training import Controls, TrainConfig, load_data, network_for, train
from core.optimizers import OPTIMIZERS

MOONS = TrainConfig(
    dataset="moons", hidden=((16, "relu"), (16, "relu")), optimizer="adam", hyper={"lr": 0.01}, epochs=20
)


def events_of(config, **kwargs):
    return list(train(config, **kwargs))


def of_type(events, kind):
    return [e for e in events if e["type"] == kind]


def test_moons_training_drives_the_loss_down():
    events = events_of(MOONS)
    evals = of_type(events, "eval")
    assert evals[0]["step"] == 0 and evals[-1]["step"] == 20 * 25
    assert evals[-1]["train_loss"] < 0.5 * evals[0]["train_loss"]
    assert evals[-1]["test_accuracy"] > 0.85


def test_the_seeds_comparison_nonlinear_beats_linear_on_moons():
    linear = TrainConfig(dataset="moons", hidden=(), optimizer="adam", hyper={"lr": 0.01}, epochs=60)
    nonlinear = linear.__class__(**{**linear.__dict__, "hidden": ((16, "relu"), (16, "relu"))})
    acc = [of_type(events_of(c), "epoch")[-1]["train_accuracy"] for c in (linear, nonlinear)]
    assert acc[1] > acc[0] + 0.04


def test_events_come_in_order_with_the_documented_fields():
    events = events_of(MOONS.__class__(**{**MOONS.__dict__, "epochs": 3, "eval_every": 10, "surface": 12}))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "start" and kinds[1] == "eval" and kinds[-1] == "summary"
    start = events[0]
    assert (start["train_size"], start["test_size"], start["steps_per_epoch"]) == (400, 100, 25)
    assert start["total_steps"] == 75 and start["classes"] == ["upper moon", "lower moon"]
    steps = np.concatenate([e["step"] for e in of_type(events, "steps")])
    assert steps.tolist() == list(range(1, 76)), "every step reported once, in order"
    lrs = np.concatenate([e["lr"] for e in of_type(events, "steps")])
    assert (lrs == 0.01).all()
    epochs = of_type(events, "epoch")
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    for e in epochs:
        assert {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds"} <= set(e)
        assert e["seconds"] > 0
    evals = of_type(events, "eval")
    assert [e["step"] for e in evals] == [0, 10, 20, 25, 30, 40, 50, 60, 70, 75]
    last = evals[-1]
    assert last["confusion"].sum() == 100 and last["confusion"].shape == (2, 2)
    assert np.trace(last["confusion"]) == round(last["test_accuracy"] * 100)
    probabilities = last["surface"]["probabilities"]
    assert probabilities.shape == (2, 12, 12)
    np.testing.assert_allclose(probabilities.sum(axis=0), 1, rtol=1e-5)
    assert all(m["true"] != m["predicted"] for m in last["misclassified"])
    layers = last["diagnostics"]["layers"]
    assert [d["layer"] for d in layers][:2] == ["dense0", "dense1"] and "dead_fraction" in layers[0]
    assert set(last["diagnostics"]["weights"]) == {"dense0.W", "dense1.W", "dense2.W"}
    hist = last["diagnostics"]["weights"]["dense0.W"]
    assert hist["counts"].sum() == 2 * 16 and len(hist["edges"]) == len(hist["counts"]) + 1
    assert events[-1]["status"] == "done" and events[-1]["steps"] == 75
    orjson.dumps(events, option=orjson.OPT_SERIALIZE_NUMPY)


def test_same_seed_same_run_and_another_seed_another():
    def losses(config):
        return np.concatenate([e["loss"] for e in of_type(events_of(config), "steps")])

    short = MOONS.__class__(**{**MOONS.__dict__, "epochs": 2, "dropout": 0.2})
    np.testing.assert_array_equal(losses(short), losses(short))
    assert not np.array_equal(losses(short), losses(short.__class__(**{**short.__dict__, "seed": 1})))


def test_a_diverging_run_ends_with_an_explicit_event_and_no_nan():
    config = TrainConfig(
        dataset="moons",
        hidden=((64, "relu"),),
        loss="mse",
        output="linear",
        optimizer="sgd",
        hyper={"lr": 10.0},
        epochs=20,
    )
    events = events_of(config)
    (diverged,) = of_type(events, "diverged")
    assert diverged["message"] == f"diverged at step {diverged['step']}: the loss is not finite"
    assert events[-1]["status"] == "diverged"
    text = orjson.dumps(events, option=orjson.OPT_SERIALIZE_NUMPY)
    assert b"NaN" not in text and b"Infinity" not in text
    reported = np.concatenate([e["step"] for e in of_type(events, "steps")])
    assert reported[-1] == diverged["step"] - 1


def test_early_stopping_restores_the_best_weights():
    config = TrainConfig(
        dataset="moons",
        data={"samples": 60, "noise": 0.4},
        hidden=((128, "relu"), (128, "relu")),
        optimizer="adam",
        hyper={"lr": 0.01},
        epochs=300,
        patience=5,
    )
    events = events_of(config)
    (stop,) = of_type(events, "early_stop")
    assert stop["stopped_epoch"] == stop["best_epoch"] + 5
    epochs = {e["epoch"]: e for e in of_type(events, "epoch")}
    best = min(e["test_loss"] for e in epochs.values())
    assert epochs[stop["best_epoch"]]["test_loss"] == best
    restored = of_type(events, "eval")[-1]
    assert restored["test_loss"] == pytest.approx(best, rel=1e-6)
    assert events[-1]["status"] == "early_stopped" and events[-1]["best_epoch"] == stop["best_epoch"]


class Consumer:
    """Runs a training generator in a thread, like the server does."""

    def __init__(self, config):
        self.controls = Controls()
        self.events: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._run, args=(config,), daemon=True)
        self.thread.start()

    def _run(self, config):
        for event in train(config, self.controls):
            self.events.put(event)

    def until(self, predicate, timeout=20):
        seen = []
        while True:
            event = self.events.get(timeout=timeout)
            seen.append(event)
            if predicate(event):
                return seen


LONG = TrainConfig(
    dataset="moons", hidden=((8, "relu"),), optimizer="sgd", hyper={"lr": 0.05}, epochs=10_000, chunk=5
)


def test_pause_stops_the_steps_and_resume_continues_where_it_stopped():
    run = Consumer(LONG)
    seen = run.until(lambda e: e["type"] == "steps")
    run.controls.pause()
    seen += run.until(lambda e: e["type"] == "control" and e["action"] == "pause")
    paused_at = seen[-1]["step"]  # the first step not taken
    taken = [int(s) for e in seen if e["type"] == "steps" for s in e["step"]]
    assert taken == list(range(1, paused_at)), "every step before the pause is reported before it"
    with pytest.raises(queue.Empty):
        run.events.get(timeout=0.3)  # nothing happens while paused
    run.controls.resume()
    seen = run.until(lambda e: e["type"] == "steps")
    assert [e["action"] for e in seen if e["type"] == "control"] == ["resume"]
    assert int(seen[-1]["step"][0]) == paused_at
    run.controls.stop()
    assert run.until(lambda e: e["type"] == "summary")[-1]["status"] == "stopped"
    run.thread.join(5)
    assert not run.thread.is_alive()


def test_a_learning_rate_change_shows_in_the_following_steps():
    run = Consumer(LONG)
    run.until(lambda e: e["type"] == "steps")
    run.controls.set(lr=0.2)
    seen = run.until(lambda e: e["type"] == "control")
    changed_at = seen[-1]["step"]
    assert seen[-1]["values"] == {"lr": 0.2}
    seen = run.until(lambda e: e["type"] == "steps" and e["step"][0] >= changed_at)
    rates = {
        int(s): float(r)
        for e in seen
        if e["type"] == "steps"
        for s, r in zip(e["step"], e["lr"], strict=True)
    }
    assert all(r == 0.2 for s, r in rates.items() if s >= changed_at)
    assert all(r == 0.05 for s, r in rates.items() if s < changed_at)
    run.controls.stop()
    run.thread.join(5)


def test_single_steps_while_paused():
    run = Consumer(LONG)
    run.until(lambda e: e["type"] == "steps")
    run.controls.pause()
    paused_at = run.until(lambda e: e["type"] == "control")[-1]["step"]
    run.controls.step()
    seen = run.until(lambda e: e["type"] == "eval")
    taken = [int(s) for e in seen if e["type"] == "steps" for s in e["step"] if s >= paused_at]
    assert taken == [paused_at], "exactly one step, then an evaluation"
    with pytest.raises(queue.Empty):
        while True:  # then nothing, but the epoch summary if that step ended an epoch
            assert run.events.get(timeout=0.3)["type"] == "epoch"
    run.controls.stop()
    run.thread.join(5)


def test_mnist_subset_beats_chance_by_a_wide_margin(mnist_dir, monkeypatch):
    monkeypatch.setenv("DESCENT_DATA_DIR", str(mnist_dir))
    config = TrainConfig(
        dataset="mnist",
        data={"train_size": 3000, "test_size": 1000},
        hidden=((64, "relu"),),
        optimizer="sgd",
        hyper={"lr": 0.05},
        batch_size=16,
        epochs=2,
    )
    *_, last = of_type(events_of(config), "epoch")
    assert last["test_accuracy"] > 0.8  # chance: 0.1
    assert of_type(events_of(config), "eval")[-1]["confusion"].shape == (10, 10)


def test_a_given_network_is_trained_in_place_and_can_be_saved(tmp_path):
    config = MOONS.__class__(**{**MOONS.__dict__, "epochs": 3})
    split = load_data(config)
    net = network_for(config, split)
    *_, summary = events_of(config, split=split, net=net)
    assert summary["status"] == "done"
    net.save(tmp_path / "moons.npz")
    again = Network.load(tmp_path / "moons.npz")
    np.testing.assert_array_equal(again.predict_proba(split.x_test), net.predict_proba(split.x_test))


@pytest.mark.parametrize("poison", [np.nan, np.inf])
def test_a_network_with_non_finite_weights_is_refused_before_any_event(poison):
    config = TrainConfig(dataset="xor", hidden=((4, "relu"),), epochs=1)
    split = load_data(config)
    net = network_for(config, split)
    net.params[0] = poison
    with pytest.raises(ValueError, match="weights are not all finite"):
        next(train(config, split=split, net=net))


def test_finite_weights_whose_loss_is_not_end_at_once_as_diverged():
    config = TrainConfig(dataset="xor", hidden=((4, "relu"),), epochs=3)
    split = load_data(config)
    net = network_for(config, split)
    net.params[:] = 3e38  # finite, but every output overflows
    events = list(train(config, split=split, net=net))
    assert [e["type"] for e in events] == ["start", "diverged", "summary"]
    assert events[1]["step"] == 0 and events[-1]["status"] == "diverged" and events[-1]["steps"] == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dataset": "cifar"}, "unknown dataset 'cifar'; valid: moons, circles"),
        ({"batch_size": 0}, r"batch_size must be in \[1, 65536\]"),
        ({"optimizer": "adam", "hyper": {"gamma": 0.9}}, "optimizer 'adam' has no parameter 'gamma'"),
        ({"schedule": "cosine", "schedule_params": {"floor": 2}}, r"floor must be in \[0, 1\]"),
        ({"l2": -1}, r"l2 must be in \[0, 1\]"),
        ({"epochs": 2.5}, "epochs must be a whole number"),
    ],
)
def test_bad_configurations_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)


def test_toy_data_is_the_registrys():
    split = load_data(MOONS)
    expected = make_dataset("moons")
    np.testing.assert_array_equal(split.x_train, expected.x_train)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_absurd_learning_rates_on_a_network_never_leak_a_non_finite_number(optimizer):
    spec = OPTIMIZERS[optimizer]
    config = TrainConfig(
        dataset="spiral",
        hidden=((32, "relu"), (32, "tanh")),
        loss="mse",
        output="linear",
        optimizer=optimizer,
        hyper={"lr": spec.params[0].high},
        epochs=3,
        eval_every=7,
        surface=8,
    )
    events = events_of(config)
    text = orjson.dumps(events, option=orjson.OPT_SERIALIZE_NUMPY)
    assert b"NaN" not in text and b"Infinity" not in text
    assert events[-1]["type"] == "summary" and events[-1]["status"] in {"done", "diverged"}
    if events[-1]["status"] == "diverged":
        (diverged,) = of_type(events, "diverged")
        assert diverged["message"].startswith(f"diverged at step {diverged['step']}")


def test_a_throttle_thins_the_stream_but_keeps_every_step():
    config = TrainConfig(dataset="moons", hidden=((8, "relu"),), epochs=200, throttle=0.05, surface=10)
    events = events_of(config)
    steps = np.concatenate([e["step"] for e in of_type(events, "steps")])
    assert steps.tolist() == list(range(1, 200 * 25 + 1)), "every step is still reported, in order"
    epochs = of_type(events, "epoch")
    assert 1 <= len(epochs) < 200 and epochs[-1]["epoch"] == 200, "the last epoch is always evaluated"
    assert all(e["epoch"] >= 1 for e in of_type(events, "steps"))
    evals = of_type(events, "eval")
    assert evals[-1]["step"] == 5000 and len(evals) == len(epochs) + 1
