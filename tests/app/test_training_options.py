"""Every training option reaches every surface from its one declaration (core/nn/config.py): the request
model, live changes, the command line, and the run log; clip_norm is the worked example."""

import argparse
import json

import pytest

from app.cli import main
from app.cli import train as train_command
from app.schemas.runs import TrainIn
from core.nn.config import LIVE, OPTIONS, PARAMS
from core.nn.recipes import RECIPES
from tests.app.test_runs import ENDLESS, sse, wait_for

NUMBERS = [name for name, o in OPTIONS.items() if o.kind == "number" and not o.internal]


@pytest.mark.parametrize("name", NUMBERS)
def test_each_number_is_bounded_as_declared(client, name):
    option = OPTIONS[name]
    field = TrainIn.model_fields[name]
    assert field.default == option.served_default
    assert TrainIn.model_json_schema()["properties"][name]["maximum"] == option.high
    r = client.post("/api/runs", json={"dataset": "moons", name: option.high + 1})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", name]


@pytest.mark.parametrize("name", LIVE)
def test_each_live_option_changes_a_running_run(client, name):
    run_id = client.post("/api/runs", json=ENDLESS | {"eval_every": 1000}).json()["id"]
    value = PARAMS[name].high / 2
    with client.stream("GET", f"/api/runs/{run_id}/events") as r:
        lines = r.iter_lines()
        sse(lines, until="steps")
        assert client.post(f"/api/runs/{run_id}/hyper", json={"values": {name: value}}).status_code == 200
        change = sse(lines, until="control")[-1][1]
        too_big = client.post(f"/api/runs/{run_id}/hyper", json={"values": {name: PARAMS[name].high * 2}})
        client.post(f"/api/runs/{run_id}/stop")
        sse(lines, until="summary")
    assert change["action"] == "set" and change["values"] == {name: value}
    assert too_big.status_code == 422 and f"{name} must be in" in too_big.json()["detail"][0]["msg"]


def test_a_clipped_run_is_logged_with_its_clip_and_each_change_of_it(client):

    run_id = client.post("/api/runs", json=ENDLESS | {"eval_every": 1000, "clip_norm": 0.5}).json()["id"]
    with client.stream("GET", f"/api/runs/{run_id}/events") as r:
        lines = r.iter_lines()
        start = sse(lines, until="start")[-1][1]
        sse(lines, until="steps")
        client.post(f"/api/runs/{run_id}/hyper", json={"values": {"clip_norm": 2.0}})
        change = sse(lines, until="control")[-1][1]
        client.post(f"/api/runs/{run_id}/stop")
        sse(lines, until="summary")
    assert start["config"]["clip_norm"] == 0.5
    log = client.app.state.log.get()
    wait_for(lambda: log.list(kind="training", limit=1)[1])
    logged = log.get(log.list(kind="training", limit=1)[1][0]["id"])
    assert logged["config"]["clip_norm"] == 0.5
    assert logged["results"]["changed_while_training"] == [
        {"step": change["step"], "values": {"clip_norm": 2.0}}
    ]


def _train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    train_command.register(parser.add_subparsers())
    return parser


def test_every_flagged_option_is_a_flag_whose_default_is_the_seeds_recipe():
    args = _train_parser().parse_args(["train", "mnist"])
    recipe = RECIPES["seed_mnist"].config()
    config = train_command.config_from(args)
    skipped = {"surface", "throttle", "chunk"}  # what a page that draws as it trains sets
    for name in OPTIONS:
        if name not in skipped:
            assert getattr(config, name) == getattr(recipe, name), name


def test_clip_norm_from_the_command_line(capsys):
    code = main(
        ["train", "moons", "--hidden", "8", "--epochs", "1", "--clip-norm", "0.25", "--json", "--quiet"]
    )
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and events[0]["config"]["clip_norm"] == 0.25
    assert main(["train", "moons", "--clip-norm", "101"]) == 2
    assert "clip_norm must be in [0, 100], got 101" in capsys.readouterr().err


def test_a_bad_norm_is_refused_with_the_registrys_names(capsys):
    assert main(["train", "moons", "--norm", "group"]) == 2
    assert "unknown norm 'group'; valid: batch, layer" in capsys.readouterr().err
