"""A regression target end to end in the core: one linear output, MSE, R² in place of accuracy,
each number checked against a direct numpy computation from the network's own predictions."""

import numpy as np
import pytest

from core.data import own
from core.data.uploads import Table
from core.nn.config import TrainConfig
from core.nn.scoring import r2_score
from core.nn.training import load_data, network_for, train


def table(n=90, seed=0) -> Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.1 * rng.normal(size=n)
    return Table(x, y, ("a", "b", "c"), (), "y")


@pytest.fixture
def stored(tmp_path, monkeypatch):
    monkeypatch.setenv("DESCENT_DATA_DIR", str(tmp_path))
    from core.data.store import DataStore

    return DataStore(own.uploads_folder(), 2**30).put(table())


def config(data_id, **fields):
    base = {"dataset": "upload", "data_id": data_id, "loss": "mse", "hidden": ((8, "tanh"),), "epochs": 3}
    return TrainConfig(**{**base, "batch_size": 10, "optimizer": "adam", **fields})


def test_r2_score_is_the_textbook_formula():
    y, p = np.array([1.0, 2.0, 4.0, 7.0]), np.array([1.5, 2.0, 3.0, 7.5])
    assert r2_score(y, p) == pytest.approx(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2), rel=1e-12)
    assert r2_score(y, y) == 1.0 and r2_score(y, np.full(4, y.mean())) == pytest.approx(0.0, abs=1e-12)
    assert r2_score(np.ones(3), np.zeros(3)) is None and r2_score(np.zeros(0), np.zeros(0)) is None


def test_the_network_has_one_linear_output_and_mse(stored):
    c = config(stored, output="softmax")  # a softmax of one output would always say 1
    split = load_data(c)
    net = network_for(c, split)
    assert (net.spec.inputs, net.spec.outputs, net.spec.output, net.spec.loss) == (3, 1, "linear", "mse")
    with pytest.raises(ValueError, match="a regression target needs loss mse"):
        load_data(config(stored, loss="cross_entropy"))


def test_eval_events_match_a_direct_computation(stored):
    c = config(stored)
    split = load_data(c)
    net = network_for(c, split)
    for event in train(c, split=split, net=net):
        if event["type"] == "eval":
            checked = event
    predicted = net.predict_proba(split.x_test)[:, 0].astype(np.float64)
    y = split.y_test.astype(np.float64)
    assert checked["test_loss"] == pytest.approx(np.mean((predicted - y) ** 2), rel=1e-5)
    assert checked["test_r2"] == pytest.approx(
        1 - np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2), rel=1e-6
    )
    fitted = net.predict_proba(split.x_train)[:, 0].astype(np.float64)
    ytr = split.y_train.astype(np.float64)
    assert checked["train_r2"] == pytest.approx(
        1 - np.sum((ytr - fitted) ** 2) / np.sum((ytr - ytr.mean()) ** 2), rel=1e-6
    )
    assert checked["test_accuracy"] is None and checked["train_accuracy"] is None
    assert "confusion" not in checked and "misclassified" not in checked


def test_training_learns_the_linear_target_and_the_summary_carries_r2(stored):
    events = list(train(config(stored, epochs=40, hyper={"lr": 0.02})))
    start, summary = events[0], events[-1]
    assert start["regression"] is True and start["classes"] == []
    assert summary["status"] == "done" and summary["test_accuracy"] is None
    assert summary["test_r2"] > 0.95  # y is linear in x up to noise of σ 0.1 against a spread of about 2.5


def test_the_split_is_the_stored_tables_seeded_cut(stored):
    a = load_data(config(stored, data={"seed": 4, "test_fraction": 0.3, "standardize": 0}))
    b = own.split_of(table(), {"seed": 4, "test_fraction": 0.3, "standardize": 0})
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert (len(a.y_train), len(a.y_test)) == (63, 27)
