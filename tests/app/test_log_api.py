"""The run log over HTTP: a race and a training run made through the API show up with the right headline
numbers; sorting, paging, one run with its curves, delete, export; bad parameters get 422."""

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

from app import runlog
from app.main import create_app
from app.runs import Limits
from tests.app.test_runs import sse, watch

RACE = {
    "landscape": "booth",
    "steps": 400,
    "racers": [
        {"optimizer": "adam", "hyper": {"lr": 0.5}},  # converges
        {"optimizer": "sgd", "hyper": {"lr": 0.5}},  # diverges
    ],
    "seed": 3,
}
RUN = {"dataset": "moons", "hidden": [{"width": 8}], "epochs": 3, "throttle": 0, "seed": 5}


@pytest.fixture
def client(monkeypatch, tmp_path):
    """The app, logging into a log of its own."""
    monkeypatch.setenv("DESCENT_HOME", str(tmp_path))
    with TestClient(create_app(Limits(max_active=2)), base_url="http://127.0.0.1") as c:
        yield c
        c.app.state.runs.stop_all()


def race(client, body=RACE):
    with client.stream("POST", "/api/paths", json=body) as r:
        assert r.status_code == 200
        return sse(r.iter_lines())


def test_a_race_shows_up_with_each_racers_outcome(client):
    events = race(client)
    outcomes = {d["racer"]: d["outcome"] for n, d in events if n == "outcome"}
    last = {d["racer"]: d["steps"]["loss"][-1] for n, d in events if n == "steps"}
    assert outcomes[0]["status"] == "converged" and outcomes[1]["status"] == "diverged"
    page = client.get("/api/log", params={"kind": "path", "sort": "optimizer", "order": "asc"}).json()
    assert page["total"] == 2
    adam, sgd = page["items"]
    assert (adam["optimizer"], adam["problem"], adam["lr"], adam["seed"]) == ("adam", "booth", 0.5, 3)
    assert adam["steps_to_target"] == adam["steps"] == outcomes[0]["step"]
    assert adam["final_loss"] == pytest.approx(last[0], rel=1e-6) and adam["diverged"] is False
    assert sgd["status"] == "diverged" and sgd["diverged"] is True and sgd["steps_to_target"] is None
    assert sgd["steps"] == outcomes[1]["step"] and sgd["final_loss"] == pytest.approx(last[1], rel=1e-6)
    assert adam["race"] == sgd["race"] and adam["wall_seconds"] > 0
    full = client.get(f"/api/log/{adam['id']}").json()
    assert full["config"]["racers"] == [
        {"optimizer": "adam", "hyper": {"lr": 0.5, "b1": 0.9, "b2": 0.999, "eps": 1e-8}}
    ]
    assert full["config"]["landscape"] == "booth" and len(full["config"]["race_racers"]) == 2
    assert full["curves"]["loss"]["step"][-1] == adam["steps"] and len(full["path"]["x"]) > 1


def test_a_training_run_shows_up_with_its_headline(client):
    run_id = client.post("/api/runs", json=RUN).json()["id"]
    events = watch(client, run_id)
    summary = events[-1][1]
    history = next(d for n, d in events if n == "history")
    evals = history["evals"] + [d for n, d in events if n == "eval"]
    page = client.get("/api/log", params={"kind": "training"}).json()
    assert page["total"] == 1
    (head,) = page["items"]
    assert (head["problem"], head["optimizer"], head["lr"], head["seed"]) == ("moons", "sgd", 0.01, 5)
    assert head["status"] == "done" and head["steps"] == summary["steps"] == 75
    assert head["final_accuracy"] == summary["test_accuracy"]
    assert head["final_loss"] == summary["train_loss"]
    assert head["best_accuracy"] == max(e["test_accuracy"] for e in evals)
    assert head["wall_seconds"] == summary["seconds"]
    full = client.get(f"/api/log/{head['id']}").json()
    assert full["curves"]["loss"]["step"] == list(range(1, 76)) and full["path"] is None
    assert full["config"]["hidden"] == [[8, "relu"]] and full["config"]["epochs"] == 3


def test_sort_page_delete(client):
    log = client.app.state.log.get()
    for i, lr in enumerate([0.3, 0.1, None, 0.2]):
        log.record(
            {"kind": "path", "problem": "booth", "optimizer": "sgd", "lr": lr, "status": "done", "steps": i}
            | {"config": {"i": i}, "created": 100.0 + i}
        )
    page = client.get("/api/log", params={"sort": "lr", "order": "asc", "limit": 2}).json()
    assert page["total"] == 4 and [r["lr"] for r in page["items"]] == [0.1, 0.2]
    page = client.get("/api/log", params={"sort": "lr", "order": "asc", "limit": 2, "offset": 2}).json()
    assert [r["lr"] for r in page["items"]] == [0.3, None]
    newest = client.get("/api/log").json()["items"][0]
    assert newest["steps"] == 3
    assert client.delete(f"/api/log/{newest['id']}").status_code == 204
    assert client.delete(f"/api/log/{newest['id']}").status_code == 404
    assert client.get(f"/api/log/{newest['id']}").status_code == 404
    assert client.get("/api/log").json()["total"] == 3


def test_export(client):
    race(client)
    run_id = client.post("/api/runs", json=RUN).json()["id"]
    watch(client, run_id)
    items = client.get("/api/log").json()["items"]
    r = client.get("/api/log/export", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="descent-runs.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [int(row["id"]) for row in rows] == [item["id"] for item in items]
    assert [row["status"] for row in rows] == [item["status"] for item in items]
    assert json.loads(rows[0]["config"])["dataset"] == "moons"
    r = client.get("/api/log/export", params={"format": "json", "kind": "path"})
    assert r.headers["content-type"].startswith("application/json")
    runs = r.json()
    assert {run["kind"] for run in runs} == {"path"} and len(runs) == 2
    assert runs[0] == client.get(f"/api/log/{runs[0]['id']}").json()


@pytest.mark.parametrize(
    "url",
    [
        "/api/log?sort=config",
        "/api/log?sort=created;drop",
        "/api/log?limit=0",
        "/api/log?limit=201",
        "/api/log?offset=-1",
        "/api/log?kind=race",
        "/api/log?order=sideways",
        "/api/log/export?format=xml",
        "/api/log/0",
    ],
)
def test_bad_parameters_are_422(client, url):
    r = client.get(url)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["msg"]


def test_ids_are_numbers_and_export_is_read_only(client):
    assert client.get("/api/log/abc").status_code == 404
    assert client.delete("/api/log/export").status_code == 405


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("digits", [20, 4301, 50_000])
def test_ids_past_the_bound_are_422_whatever_their_length(client, method, digits):
    r = client.request(method, "/api/log/" + "9" * digits)  # int() refuses 4,301 digits and more
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["msg"] == f"Input should be less than or equal to {2**62}"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_leading_zeros_do_not_count_against_an_id(client, method):
    assert client.request(method, "/api/log/" + "0" * 5000 + "7").status_code == 404  # run 7
    assert client.request(method, "/api/log/" + "0" * 5000).status_code == 422  # run 0


def test_each_app_keeps_its_own_log(monkeypatch, tmp_path):
    """The run log is the app's (app.state.log), found in DESCENT_HOME when the app is made."""
    apps = []
    for name in ("a", "b"):
        monkeypatch.setenv("DESCENT_HOME", str(tmp_path / name))
        apps.append(create_app(Limits(max_active=1)))
    with TestClient(apps[0], base_url="http://127.0.0.1") as first:
        race(first)
    assert apps[0].state.log.path == tmp_path / "a" / runlog.FILENAME
    assert apps[0].state.log.get().list()[0] == len(RACE["racers"])
    assert apps[1].state.log.get().list()[0] == 0
