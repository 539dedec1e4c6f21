"""`descent race` and `descent train --sharpness-every`: the same core as the lab, on the command line."""

import json

import numpy as np
import pytest

from tests.app.test_cli_train import run

SMALL = ("moons", "--hidden", "8,8", "--epochs", "3", "--batch-size", "32")


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_race_prints_every_racers_events_and_a_final_surface(capsys):
    code, out, err = run(
        capsys, "race", *SMALL, "--optimizers", "sgd,momentum,adam", "--param", "adam.lr=0.01",
        "--param", "0.lr=0.2", "--sharpness-every", "10", "--surface", "7", "--json",
    )  # fmt: skip
    assert code == 0, err
    events = lines(out)
    assert events[0]["type"] == "race"
    assert [r["hyper"]["lr"] for r in events[0]["racers"]] == [0.2, 0.01, 0.01]
    racing = events[1:-1]
    assert all(e["racer"] in (0, 1, 2) for e in racing)
    summaries = [e for e in racing if e["type"] == "summary"]
    assert sorted(e["racer"] for e in summaries) == [0, 1, 2]
    first = {e["racer"]: e["train_loss"] for e in racing if e["type"] == "eval" and e["step"] == 0}
    assert len(set(first.values())) == 1  # one initial loss: the same weights
    orders = [[e["batches"] for e in racing if e["type"] == "epoch" and e["racer"] == k] for k in range(3)]
    assert orders[0] == orders[1] == orders[2] and len(orders[0]) == 3
    sharp = [e for e in racing if e["type"] == "sharpness" and e["racer"] == 0]
    assert sharp and all(e["threshold"] == pytest.approx(2 / 0.2) for e in sharp)
    surface = events[-1]
    assert surface["type"] == "surface" and surface["kind"] == "pca"
    assert np.asarray(surface["loss"]).shape == (7, 7)
    assert [p["racer"] for p in surface["paths"]] == [0, 1, 2]
    assert 0 < sum(surface["explained"]) <= 1 + 1e-9


def test_race_prints_lines_a_person_reads(capsys):
    code, out, _ = run(capsys, "race", *SMALL, "--optimizers", "sgd,adam", "--surface", "5")
    assert code == 0
    assert "[0 sgd] epoch   3/3" in out and "[1 adam] epoch   3/3" in out
    assert out.strip().splitlines()[-1].startswith("surface: 5×5 pca grid")


def test_train_eval_events_carry_sharpness_and_threshold(capsys):
    code, out, _ = run(capsys, "train", *SMALL, "--lr", "0.1", "--sharpness-every", "5", "--json")
    assert code == 0
    events = lines(out)
    probes = [e for e in events if e["type"] == "sharpness"]
    assert [e["step"] for e in probes][:3] == [0, 5, 10]
    evals = [e for e in events if e["type"] == "eval" and e["step"] > 0]
    assert evals and all(e["threshold"] == pytest.approx(20.0) for e in evals)
    for e in evals:  # each carries the latest probe's value
        latest = max((p for p in probes if p["step"] <= e["step"]), key=lambda p: p["step"])
        assert e["sharpness"] == latest["sharpness"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--optimizers", "sgd"), "--optimizers takes 2 to 6 names, got 1"),
        (("--optimizers", "sgd,nope"), "unknown optimizer 'nope'"),
        (
            ("--optimizers", "sgd,adam", "--param", "rmsprop.lr=0.1"),
            "neither a racer's optimizer nor its index",
        ),
        (("--optimizers", "sgd,adam", "--param", "adam.lr=100"), "lr must be in"),
        (("--optimizers", "sgd,adam", "--param", "lr=0.1"), "--param takes OPTIMIZER.NAME=VALUE"),
        (("--surface", "4"), "odd number in [3, 101]"),
        (("--sharpness-every", "-1"), "sharpness_every"),
    ],
)
def test_bad_race_flags_get_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "race", "moons", *argv)
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1
