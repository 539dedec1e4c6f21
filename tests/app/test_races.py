"""Races of optimizers on one network over the API: fairness, the merged stream, controls, the loss
surface and the run log."""

import json
import re
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.runlog import RunLog, ServerLog
from app.runs import Limits
from tests.app.test_runs import sse

RACE = {
    "training": {
        "dataset": "moons",
        "hidden": [{"width": 8}, {"width": 8}],
        "epochs": 6,
        "batch_size": 16,
        "sharpness_every": 10,
        "throttle": 0.0,
    },
    "racers": [
        {"optimizer": "sgd", "hyper": {"lr": 0.1}},
        {"optimizer": "momentum", "hyper": {"lr": 0.05}},
        {"optimizer": "adam", "hyper": {"lr": 0.01}},
    ],
    "surface": {"kind": "pca", "resolution": 11, "every": 2},
}


@pytest.fixture
def client(tmp_path):
    app = create_app(Limits(max_active=6, idle_seconds=30, keep_seconds=60))
    app.state.log = ServerLog(opened=RunLog(tmp_path / "log.sqlite3"))
    app.state.races.log = app.state.log
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
        c.app.state.runs.stop_all()


def watch(client, race_id, until="race_end"):
    with client.stream("GET", f"/api/races/{race_id}/events") as r:
        assert r.status_code == 200
        return sse(r.iter_lines(), until)


def of(events, kind, racer=None):
    return [d for n, d in events if n == kind and (racer is None or d.get("racer") == racer)]


def seen(events, kind, racer):
    """A racer's events of a kind (eval, epoch or control): those it had sent before the subscription
    (in its `history`), then the live ones."""
    key = kind if kind == "sharpness" else f"{kind}s"
    return of(events, "history", racer)[0][key] + of(events, kind, racer)


def test_a_race_is_fair_streams_every_racer_and_ends_with_its_surface(client):
    race = client.post("/api/races", json=RACE).json()
    assert [r["optimizer"] for r in race["racers"]] == ["sgd", "momentum", "adam"]
    events = watch(client, race["id"])
    assert events[0][0] == "race" and events[-1][0] == "race_end"
    # the same initial loss and the same batch order (each epoch's digest) for every racer
    initial = [seen(events, "eval", k)[0] for k in range(3)]
    assert all(e["step"] == 0 for e in initial)
    assert initial[0]["train_loss"] == initial[1]["train_loss"] == initial[2]["train_loss"]
    orders = [[e["batches"] for e in seen(events, "epoch", k)] for k in range(3)]
    assert len(orders[0]) == 6 and orders[0] == orders[1] == orders[2]
    assert len(set(orders[0])) == 6  # a new order each epoch
    # every racer's summary, and its sharpness against its own threshold
    assert {d["racer"] for d in of(events, "summary")} == {0, 1, 2}
    sharp = [seen(events, "sharpness", k) for k in range(3)]
    steps = of(events, "summary", 0)[0]["steps"]
    assert [[d["step"] for d in s] for s in sharp] == [list(range(0, steps + 1, 10))] * 3
    assert all(d["threshold"] == pytest.approx(2 / 0.1) for d in sharp[0])
    assert all(d["threshold"] == pytest.approx(3.8 / 0.05) for d in sharp[1])
    assert all(d["threshold"] == pytest.approx(38 / 0.01) and "preconditioned" in d for d in sharp[2])
    # the last surface covers every racer's path, on the requested grid
    surface = of(events, "surface")[-1]
    assert len(surface["a"]) == len(surface["b"]) == 11
    assert len(surface["loss"]) == 11 and all(len(row) == 11 for row in surface["loss"])
    assert [p["racer"] for p in surface["paths"]] == [0, 1, 2]
    assert len(surface["explained"]) == 2 and 0 < sum(surface["explained"]) <= 1 + 1e-9
    assert np.asarray(surface["interpolation"]["loss"]).shape == (3, len(surface["interpolation"]["alpha"]))
    assert of(events, "surface_progress")


def test_a_race_is_logged_as_one_entry_of_linked_racers(client):
    race = client.post("/api/races", json=RACE).json()
    watch(client, race["id"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        total, rows = client.app.state.log.get().list(kind="training")
        if total:
            break
        time.sleep(0.05)
    assert total == 3
    assert len({row["race"] for row in rows}) == 1
    full = [client.app.state.log.get().get(row["id"]) for row in rows]
    assert sorted(r["config"]["racer"] for r in full) == [0, 1, 2]
    assert all(r["config"]["race_racers"][r["config"]["racer"]]["optimizer"] == r["optimizer"] for r in full)
    assert all(r["config"]["race_surface"] == RACE["surface"] for r in full)


def test_pause_resume_step_and_a_live_rate_act_on_the_racers(client):
    slow = {**RACE, "training": {**RACE["training"], "epochs": 400, "sharpness_every": 0}}
    race = client.post("/api/races", json=slow).json()
    race_id = race["id"]
    assert client.post(f"/api/races/{race_id}/pause").status_code == 200
    deadline = time.monotonic() + 10
    while client.get(f"/api/races/{race_id}").json()["status"] != "paused":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    r = client.post(f"/api/races/{race_id}/racers/2/hyper", json={"values": {"lr": 0.003}})
    assert r.status_code == 200
    assert client.post(f"/api/races/{race_id}/racers/2/hyper", json={"values": {"lr": 99}}).status_code == 422
    assert (
        client.post(f"/api/races/{race_id}/racers/5/hyper", json={"values": {"lr": 0.1}}).status_code == 404
    )
    assert client.post(f"/api/races/{race_id}/step").status_code == 200
    client.post(f"/api/races/{race_id}/stop")
    events = watch(client, race_id)
    sets = [[c for c in seen(events, "control", k) if c["action"] == "set"] for k in range(3)]
    assert sets[0] == sets[1] == [] and [c["values"] for c in sets[2]] == [{"lr": 0.003}]
    for k in range(3):
        actions = [c["action"] for c in seen(events, "control", k)]
        assert "pause" in actions and "stop" in actions
    assert client.post(f"/api/races/{race_id}/pause").status_code == 409


def test_a_surface_on_demand_and_its_state(client):
    race = client.post("/api/races", json={**RACE, "surface": {"kind": "random", "every": 0}}).json()
    events = watch(client, race["id"])
    assert of(events, "surface")[-1]["explained"] is None
    r = client.post(f"/api/races/{race['id']}/surface", json={"kind": "pca", "resolution": 7})
    assert r.status_code == 202
    deadline = time.monotonic() + 20
    while (state := client.get(f"/api/races/{race['id']}/surface").json())["state"] == "computing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert state["result"]["kind"] == "pca" and len(state["result"]["a"]) == 7


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"racers": RACE["racers"][:1]}, ["body", "racers"]),
        ({"racers": RACE["racers"] * 3}, ["body", "racers"]),
        ({"racers": [{"optimizer": "nope"}, {"optimizer": "sgd"}]}, ["body", "racers", 0, "optimizer"]),
        ({"racers": [{"optimizer": "sgd", "hyper": {"lr": 1000}}] * 2}, ["body", "racers", 0]),
        ({"surface": {"resolution": 10}}, ["body", "surface", "resolution"]),
        ({"surface": {"kind": "hessian"}}, ["body", "surface", "kind"]),
        ({"training": {"optimizer": "sgd"}}, ["body", "training", "optimizer"]),
        ({"training": {"epochs": 0}}, ["body", "training", "epochs"]),
    ],
)
def test_bad_races_get_a_422_naming_the_field(client, change, loc):
    r = client.post("/api/races", json={**RACE, **change})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][: len(loc)] == loc


def test_unknown_races_are_404_and_the_options_name_the_presets(client):
    assert client.get("/api/races/nope").status_code == 404
    assert client.get("/api/races/nope/events").status_code == 404
    options = client.get("/api/races/options").json()
    assert options["min_racers"] == 2 and options["max_racers"] == 6
    assert set(options["presets"]) == {"moons", "edge_of_stability"}
    r = client.post("/api/races", json=options["presets"]["moons"]["request"])
    assert r.status_code == 201, r.text
    client.post(f"/api/races/{r.json()['id']}/stop")


def test_the_edge_of_stability_preset_is_a_race_of_full_batch_gradient_descent(
    client, mnist_dir, monkeypatch
):
    monkeypatch.setenv("DESCENT_DATA_DIR", str(mnist_dir))
    preset = client.get("/api/races/options").json()["presets"]["edge_of_stability"]["request"]
    training = preset["training"]
    assert training["batch_size"] == training["data"]["train_size"] and training["loss"] == "mse"
    assert [r["optimizer"] for r in preset["racers"]] == ["sgd"] * 3
    r = client.post("/api/races", json=preset)
    assert r.status_code == 201, r.text
    race = r.json()
    events = []
    with client.stream("GET", f"/api/races/{race['id']}/events") as stream:
        for name, data in sse(stream.iter_lines(), until="sharpness"):
            events.append((name, data))
    client.post(f"/api/races/{race['id']}/stop")
    k = events[-1][1]["racer"]
    probe = seen(events, "sharpness", k)[0]  # the first probe, at step 0, against the racer's 2/η
    lr = preset["racers"][k]["hyper"]["lr"]
    assert probe["step"] == 0 and probe["threshold"] == pytest.approx(2 / lr)
    assert 0 < probe["sharpness"] < probe["threshold"]  # it starts below the edge and sharpens toward it


def test_a_race_that_does_not_fit_under_the_cap_is_429_and_starts_nothing(tmp_path):
    app = create_app(Limits(max_active=2))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        r = c.post("/api/races", json=RACE)
        assert r.status_code == 429 and "3 more do not fit" in r.json()["detail"]
        assert c.app.state.runs.active() == 0


def embedded(html: str) -> dict:
    return json.loads(
        re.search(r'<script type="application/json" id="page">(.*?)</script>', html, re.S).group(1)
    )


def test_the_lab_page_says_whether_its_linked_race_is_still_there(client):
    long = {**RACE, "training": {**RACE["training"], "epochs": 400}}
    race = client.post("/api/races", json=long).json()
    assert embedded(client.get(f"/lab?race={race['id']}").text)["race"] == {race["id"]: "running"}
    client.post(f"/api/races/{race['id']}/stop")
    assert embedded(client.get("/lab?race=gone").text)["race"] == {"gone": None}
    assert embedded(client.get("/lab").text)["race"] == {}
