import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.cli import train as train_command
from core.nn.network import Network
from core.nn.training import TrainConfig, load_data

ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self):
        return True


def descent(*argv, **kwargs) -> subprocess.Popen:
    """`descent ARGV` in its own process, as a user runs it."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "app.cli", *argv], cwd=ROOT, env=env, text=True, **kwargs)


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
    assert err == "", "no progress bar unless stderr is a terminal"


def test_a_progress_bar_on_a_terminal(capsys, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["train", "moons", "--hidden", "8", "--epochs", "2"]) == 0
    assert "epoch 1/2" in terminal.getvalue() and "epoch 2/2" in terminal.getvalue()
    assert "/25 " in terminal.getvalue()


def test_stderr_redirected_to_a_file_gets_no_bar(tmp_path):
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        done = descent("train", "moons", "--epochs", "2", stdout=subprocess.PIPE, stderr=stderr)
        out, _ = done.communicate(timeout=120)
    assert done.returncode == 0 and out.splitlines()[-1].startswith("done: 50 steps")
    assert log.read_text() == ""


def test_ctrl_c_while_training_is_one_line_and_status_130():
    proc = descent(
        "train",
        "moons",
        "--hidden",
        "64,64",
        "--epochs",
        "10000",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # as from a terminal: a shell's background job (a CI script run with &) ignores Ctrl-C, and so
        # would its children
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        first = proc.stdout.readline()  # training has begun
        assert first.startswith("moons: 400 training")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err == "descent: interrupted\n"


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
        (["moons", "--seed", "-1"], "--seed must be a whole number in [0, 4294967295], got '-1'"),
        (["moons", "--seed", str(2**32)], f"--seed must be a whole number in [0, 4294967295], got '{2**32}'"),
        (["moons", "--seed", "1.5"], "--seed must be a whole number in [0, 4294967295], got '1.5'"),
        (["moons", "--data", "colour=1"], "dataset 'moons' has no parameter 'colour'; valid: samples"),
        (["moons", "--batch-size", "1000"], "batch_size must be in [1, 400] (the training set), got 1000"),
        (["moons", "--save="], "--save takes a file name such as model.npz, got ''"),
        (["moons", "--save", "."], "--save takes a file name such as model.npz, got the folder '.'"),
        (
            ["moons", "--save", "no/such/folder/model.npz"],
            "--save: the folder 'no/such/folder' does not exist",
        ),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "train", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("descent: error: ")
    assert message in err


def test_save_names_the_file_numpy_writes(capsys, tmp_path):
    code, out, _ = run(
        capsys, "train", "xor", "--hidden", "4", "--epochs", "1", "--save", str(tmp_path / "m")
    )
    assert code == 0 and f"saved the model to {tmp_path / 'm.npz'}\n" in out
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_an_interrupted_save_keeps_the_old_model(capsys, monkeypatch, tmp_path):
    target = tmp_path / "m.npz"
    target.write_bytes(b"the previous model")

    def interrupted(self, path):
        Path(path).write_bytes(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(Network, "save", interrupted)
    try:
        code, _, err = run(capsys, "train", "xor", "--epochs", "1", "--quiet", "--save", str(target))
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped main() and would print a traceback")
    assert (code, err) == (130, "descent: interrupted\n")
    assert target.read_bytes() == b"the previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_a_failed_save_is_one_line(capsys, monkeypatch, tmp_path):
    def refuse(self, path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Network, "save", refuse)
    code, _, err = run(capsys, "train", "xor", "--epochs", "1", "--quiet", "--save", str(tmp_path / "m.npz"))
    assert code == 2
    assert err == f"descent: error: --save: cannot write '{tmp_path / 'm.npz'}': Permission denied\n"


def test_a_network_too_big_for_memory_is_one_line(capsys, monkeypatch):
    def too_big(config, split):
        raise MemoryError("Unable to allocate 74.5 GiB for an array with shape (99999, 99999)")

    monkeypatch.setattr(train_command, "network_for", too_big)
    code, out, err = run(capsys, "train", "moons", "--hidden", "99999,99999", "--epochs", "1")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("descent: error: out of memory (Unable to allocate 74.5 GiB")
