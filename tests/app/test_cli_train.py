import json

import numpy as np
import pytest

from app.cli import main
from core.network import Network
from core.training import TrainConfig, load_data


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_prints_per_epoch_metrics(capsys):
    code, out, err = run(
        capsys,
        "train",
        "moons",
        "--hidden",
        "16,16",
        "--epochs",
        "3",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--l2",
        "0",
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "moons: 400 training and 100 test examples, 354 parameters, 25 steps per epoch"
    assert [line.split()[1] for line in lines[1:4]] == ["1/3", "2/3", "3/3"]
    assert "train loss" in lines[1] and "test loss" in lines[1] and lines[1].endswith(" s")
    assert lines[-1].startswith("done: 75 steps in ")
    assert "epoch 1/3" in err, "a progress bar on stderr"


def test_train_json_is_one_event_per_line(capsys):
    code, out, _ = run(
        capsys,
        "train",
        "circles",
        "--hidden",
        "8",
        "--activation",
        "tanh",
        "--epochs",
        "2",
        "--json",
        "--seed",
        "3",
    )
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0]["type"] == "start" and events[-1]["type"] == "summary"
    epochs = [e for e in events if e["type"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    for e in epochs:
        assert {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds"} <= set(e)
    assert events[0]["config"]["hidden"] == [[8, "tanh"]] and events[0]["config"]["seed"] == 3


def test_train_saves_a_model_that_loads(capsys, tmp_path):
    target = tmp_path / "model.npz"
    code, out, _ = run(
        capsys,
        "train",
        "xor",
        "--hidden",
        "8,8",
        "--activation",
        "relu,tanh",
        "--epochs",
        "2",
        "--save",
        str(target),
        "--quiet",
    )
    assert code == 0 and f"saved the model to {target}" in out
    net = Network.load(target)
    split = load_data(TrainConfig(dataset="xor"))
    assert net.predict_proba(split.x_test).shape == (len(split.x_test), 2)
    assert [w for w, _ in net.spec.hidden] == [8, 8] and np.isfinite(net.params).all()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cifar"], "argument dataset: invalid choice: 'cifar'"),
        (["moons", "--hidden", "16,x"], "--hidden takes comma-separated widths"),
        (
            ["moons", "--hidden", "16,16", "--activation", "relu,tanh,relu"],
            "--activation takes one name or one per hidden layer (2)",
        ),
        (["moons", "--hidden", "0,4"], "width must be in [1, 100000], got 0"),
        (["moons", "--batch-size", "0"], "batch_size must be in [1, 65536], got 0"),
        (["moons", "--optimizer", "adamx"], "unknown optimizer 'adamx'; valid: sgd"),
        (["moons", "--lr", "-1"], "lr must be in [1e-07, 10], got -1"),
        (["moons", "--activation", "swish"], "unknown activation 'swish'"),
        (["moons", "--data", "samples=5"], "samples must be in [20, 100000], got 5"),
        (["moons", "--epochs", "nan"], "--epochs must be finite"),
        (["moons", "--dropout", "1"], "dropout must be in [0, 0.95], got 1"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "train", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("descent: error: ")
    assert message in err
