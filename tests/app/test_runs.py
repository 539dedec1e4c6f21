import io
import json
import os
import signal
import threading
import time

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.runs import Limits
from tests.conftest import serve

SMALL = {"dataset": "moons", "hidden": [{"width": 8}], "epochs": 3, "surface": 8, "throttle": 0}
ENDLESS = {  # far more steps than any test waits for (500 epochs of 400 moons take under a second)
    "dataset": "moons",
    "data": {"samples": 20_000},
    "hidden": [{"width": 8}],
    "epochs": 500,
    "optimizer": "sgd",
    "hyper": {"lr": 0.05},
}
NPZ = {"content-type": "application/octet-stream"}  # what the page sends with a saved model


@pytest.fixture
def client():
    app = create_app(Limits(max_active=2, idle_seconds=0.5, keep_seconds=60))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
        c.app.state.runs.stop_all()


def sse(lines, until=None):
    """(event, data) pairs; stop after an event named `until`."""
    events, name = [], None
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
            if name == until:
                break
    return events


def watch(client, run_id, until="summary"):
    with client.stream("GET", f"/api/runs/{run_id}/events") as r:
        assert r.status_code == 200
        return sse(r.iter_lines(), until)


def epochs_of(events):
    """Epoch summaries a subscriber saw: the ones it missed (in `history`) and the live ones."""
    history = next(d for n, d in events if n == "history")
    return history["epochs"] + [d for n, d in events if n == "epoch"]


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


def test_a_run_emits_the_documented_events_in_order(client):
    r = client.post("/api/runs", json=SMALL)
    assert r.status_code == 201
    run = r.json()
    assert run["status"] == "running" and len(run["id"]) >= 20
    events = watch(client, run["id"])
    names = [n for n, _ in events]
    assert names[:2] == ["start", "history"] and names[-1] == "summary"
    assert set(names) <= {"start", "history", "steps", "eval", "epoch", "summary"}
    epochs = epochs_of(events)
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert events[-1][1]["status"] == "done"
    assert client.get(f"/api/runs/{run['id']}").json()["status"] == "done"
    # a late subscriber gets the whole story at once
    late = watch(client, run["id"])
    assert [n for n, _ in late] == ["start", "history", "eval", "summary"]
    history = late[1][1]
    assert history["step"] == list(range(1, 76)) and len(history["loss"]) == 75
    assert [e["epoch"] for e in history["epochs"]] == [1, 2, 3] and len(history["evals"]) == 4
    assert "surface" in late[2][1] and "surface" not in history["evals"][-1]


def test_pause_resume_step_stop(client):
    run_id = client.post("/api/runs", json=ENDLESS | {"eval_every": 1000}).json()["id"]
    with client.stream("GET", f"/api/runs/{run_id}/events") as r:
        lines = r.iter_lines()
        sse(lines, until="steps")
        assert client.post(f"/api/runs/{run_id}/pause").status_code == 200
        events = sse(lines, until="control")
        paused_at = events[-1][1]["step"]
        wait_for(lambda: client.get(f"/api/runs/{run_id}").json()["status"] == "paused")
        client.post(f"/api/runs/{run_id}/step")
        stepped = sse(lines, until="eval")
        taken = [s for n, d in stepped if n == "steps" for s in d["step"]]
        assert taken == [paused_at]
        client.post(f"/api/runs/{run_id}/hyper", json={"values": {"lr": 0.2}})
        client.post(f"/api/runs/{run_id}/resume")
        resumed = sse(lines, until="steps")
        controls = [d for n, d in resumed if n == "control"]
        assert [c["action"] for c in controls] == ["set", "resume"]
        steps = resumed[-1][1]
        assert steps["step"][0] == paused_at + 1 and set(steps["lr"]) == {0.2}
        assert client.post(f"/api/runs/{run_id}/stop").json()["id"] == run_id
        end = sse(lines, until="summary")
        assert end[-1][1]["status"] == "stopped"
    assert client.post(f"/api/runs/{run_id}/resume").status_code == 409


def test_hyperparameter_changes_are_validated(client):
    run_id = client.post("/api/runs", json=ENDLESS | {"optimizer": "adam", "hyper": {"lr": 0.01}}).json()[
        "id"
    ]
    ok = client.post(f"/api/runs/{run_id}/hyper", json={"values": {"b1": 0.5, "l2": 1e-3}})
    assert ok.status_code == 200
    for values, message in (
        ({"lr": -1}, "lr must be in [1e-07, 10], got -1"),
        ({"gamma": 0.9}, "has no parameter 'gamma'; valid: lr, b1, b2, eps, l1, l2, max_norm"),
        ({"lr": True}, "valid number"),
    ):
        r = client.post(f"/api/runs/{run_id}/hyper", json={"values": values})
        assert r.status_code == 422 and message in r.json()["detail"][0]["msg"]


def test_the_cap_on_concurrent_runs(client):
    first = client.post("/api/runs", json=ENDLESS)
    second = client.post("/api/runs", json=ENDLESS)
    third = client.post("/api/runs", json=ENDLESS)
    assert (first.status_code, second.status_code, third.status_code) == (201, 201, 429)
    assert "2 runs are already training" in third.json()["detail"]
    client.post(f"/api/runs/{first.json()['id']}/stop")
    wait_for(lambda: client.app.state.runs.active() < 2)
    assert client.post("/api/runs", json=ENDLESS).status_code == 201


def test_an_unwatched_run_is_stopped_after_the_idle_timeout(client):
    run_id = client.post("/api/runs", json=ENDLESS).json()["id"]
    wait_for(lambda: client.get(f"/api/runs/{run_id}").json()["status"] == "stopped", timeout=5)


def test_closing_the_last_stream_stops_the_runs_cpu_use():
    with serve(create_app(Limits(idle_seconds=0.5))) as url, httpx.Client(base_url=url, timeout=10) as http:
        run_id = http.post("/api/runs", json=ENDLESS).json()["id"]
        (worker,) = [t for t in threading.enumerate() if t.name == f"descent-run-{run_id[:6]}"]
        with http.stream("GET", f"/api/runs/{run_id}/events") as r:
            next(r.iter_lines())
        worker.join(timeout=10)  # within the idle timeout (plus one sweep)
        assert not worker.is_alive(), "the run kept computing with nobody watching"
        assert http.get(f"/api/runs/{run_id}").json()["status"] == "stopped"


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        (SMALL | {"hidden": [{"width": 0}]}, ["body", "hidden", 0, "width"], "greater than or equal to 1"),
        (
            SMALL | {"hidden": [{"width": 4, "activation": "swish"}]},
            ["body", "hidden", 0, "activation"],
            "Input should be",
        ),
        (
            SMALL | {"batch_size": 401},
            ["body", "batch_size"],
            "batch_size must be in [1, 400] (the training set), got 401",
        ),
        (SMALL | {"dataset": "cifar"}, ["body", "dataset"], "Input should be 'moons'"),
        (SMALL | {"hidden": [{"width": 4}] * 9}, ["body", "hidden"], "at most 8 items"),
        (SMALL | {"data": {"samples": 5}}, ["body", "data"], "samples must be in [20, 100000], got 5"),
        (
            SMALL | {"dataset": "mnist", "data": {"": 0}},
            ["body", "data"],
            "dataset 'mnist' has no parameter ''",
        ),
        (SMALL | {"optimizer": "adam", "hyper": {"gamma": 1}}, ["body"], "has no parameter 'gamma'"),
        (SMALL | {"epochs": 0}, ["body", "epochs"], "greater than or equal to 1"),
    ],
)
def test_bad_configurations_get_a_422_naming_the_field(client, body, loc, message):
    r = client.post("/api/runs", json=body)
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"] == loc and message in error["msg"]


def test_unknown_runs_are_404(client):
    assert client.get("/api/runs/nope").status_code == 404
    assert client.post("/api/runs/nope/pause").status_code == 404
    assert client.get("/api/runs/nope/events").status_code == 404


def test_predict_save_and_load(client):
    run_id = client.post("/api/runs", json=SMALL).json()["id"]
    watch(client, run_id)
    r = client.post(f"/api/runs/{run_id}/predict", json={"inputs": [[1.0, -0.5], [0.0, 0.8]]})
    doc = r.json()
    assert doc["classes"] == ["upper moon", "lower moon"] and len(doc["probabilities"]) == 2
    assert all(abs(sum(p) - 1) < 1e-5 for p in doc["probabilities"])
    bad = client.post(f"/api/runs/{run_id}/predict", json={"inputs": [[1.0, 2.0, 3.0]]})
    assert bad.status_code == 422 and "each input must have 2 values" in bad.json()["detail"][0]["msg"]

    model = client.get(f"/api/runs/{run_id}/model")
    assert model.headers["content-disposition"].startswith('attachment; filename="descent-moons-')
    loaded = client.post("/api/runs/upload", content=model.content, headers=NPZ)
    assert loaded.status_code == 201 and loaded.json()["status"] == "paused"
    loaded_id = loaded.json()["id"]
    again = client.post(f"/api/runs/{loaded_id}/predict", json={"inputs": [[1.0, -0.5], [0.0, 0.8]]}).json()
    np.testing.assert_allclose(again["probabilities"], doc["probabilities"], rtol=1e-6)
    events = watch(client, loaded_id, until="eval")
    assert events[-1][1]["step"] == 0 and events[-1][1]["test_accuracy"] > 0.7
    client.post(f"/api/runs/{loaded_id}/stop")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip file at all", "not a readable .npz file"),
        (b"PK\x03\x04truncated", "not a readable .npz file"),
    ],
)
def test_malformed_uploads_get_a_clear_error(client, content, message):
    r = client.post("/api/runs/upload", content=content, headers=NPZ)
    assert r.status_code == 422 and message in r.json()["detail"][0]["msg"]


def test_uploads_that_do_not_fit_are_refused(client):
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.zeros(3))
    r = client.post("/api/runs/upload", content=buffer.getvalue(), headers=NPZ)
    assert r.status_code == 422 and "no 'config' array" in r.json()["detail"][0]["msg"]
    buffer = io.BytesIO()
    np.savez(buffer, config=np.array(json.dumps(SMALL)), **{"dense0.W": np.zeros((3, 3))})
    r = client.post("/api/runs/upload", content=buffer.getvalue(), headers=NPZ)
    assert r.status_code == 422 and "the weights do not fit the saved network" in r.json()["detail"][0]["msg"]
    buffer = io.BytesIO()
    np.savez(buffer, config=np.array(json.dumps(SMALL | {"epochs": "many"})))
    r = client.post("/api/runs/upload", content=buffer.getvalue(), headers=NPZ)
    assert r.status_code == 422 and "epochs: Input should be a valid integer" in r.json()["detail"][0]["msg"]
    pickled = io.BytesIO()
    np.savez(pickled, config=np.array(json.dumps(SMALL)), obj=np.array([{"a": 1}], dtype=object))
    r = client.post("/api/runs/upload", content=pickled.getvalue(), headers=NPZ)
    assert r.status_code == 422 and "'obj' has a object dtype" in r.json()["detail"][0]["msg"]


def test_a_run_whose_process_dies_reports_it_and_the_server_goes_on(client):
    run_id = client.post("/api/runs", json=ENDLESS).json()["id"]
    run = client.app.state.runs.get(run_id)
    os.kill(run._process.pid, signal.SIGKILL)
    events = watch(client, run_id, until="error")
    assert events[-1][1]["message"] == "the training process ended unexpectedly (exit code -9)"
    assert client.get(f"/api/runs/{run_id}").json() | {"subscribers": 0} == {
        "id": run_id,
        "status": "error",
        "subscribers": 0,
        "error": "the training process ended unexpectedly (exit code -9)",
        "loaded": None,
    }
    r = client.post(f"/api/runs/{run_id}/predict", json={"inputs": [[0.0, 0.0]]})
    assert r.status_code == 409 and "ended without its weights" in r.json()["detail"]
    other = client.post("/api/runs", json=SMALL).json()["id"]
    assert watch(client, other)[-1][1]["status"] == "done"


def test_mnist_on_a_small_subset(client, mnist_dir, monkeypatch):
    monkeypatch.setenv("DESCENT_DATA_DIR", str(mnist_dir))
    body = {
        "dataset": "mnist",
        "data": {"train_size": 2000, "test_size": 500},
        "hidden": [{"width": 32}],
        "epochs": 2,
        "optimizer": "sgd",
        "hyper": {"lr": 0.05},
    }
    run_id = client.post("/api/runs", json=body).json()["id"]
    assert epochs_of(watch(client, run_id))[-1]["test_accuracy"] > 0.75
    digit = [[0.0] * 784]
    r = client.post(f"/api/runs/{run_id}/predict", json={"inputs": digit})
    assert r.json()["classes"] == [str(d) for d in range(10)]


def test_missing_mnist_is_a_409_with_the_remedy(client, tmp_path, monkeypatch):
    monkeypatch.setenv("DESCENT_DATA_DIR", str(tmp_path))
    r = client.post("/api/runs", json={"dataset": "mnist"})
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert "train-images-idx3-ubyte.gz" in detail and str(tmp_path) in detail and "DESCENT_DATA_DIR" in detail


def test_inputs_that_overflow_the_network_and_endless_indices_are_422(client):
    run_id = client.post("/api/runs", json=SMALL).json()["id"]
    watch(client, run_id)
    r = client.post(f"/api/runs/{run_id}/predict", json={"inputs": [[1e308, -1e308]]})
    assert r.status_code == 422 and "less than or equal to 1000000" in r.json()["detail"][0]["msg"]
    r = client.get(f"/api/runs/{run_id}/images", params={"indices": "1" * 5000})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "indices"]


def _npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_a_saved_model_carries_its_trained_steps_and_a_loaded_run_reports_them(client):
    run_id = client.post("/api/runs", json=SMALL).json()["id"]
    events = watch(client, run_id)
    trained = events[-1][1]["steps"]  # the summary: 3 epochs of 25 steps
    assert trained == 75 and client.get(f"/api/runs/{run_id}").json()["loaded"] is None
    model = client.get(f"/api/runs/{run_id}/model").content
    with np.load(io.BytesIO(model)) as saved:
        assert int(saved["trained_steps"]) == trained
    loaded = client.post("/api/runs/upload", content=model, headers=NPZ).json()
    assert loaded["loaded"] == {"trained_steps": trained}
    assert client.get(f"/api/runs/{loaded['id']}").json()["loaded"] == {"trained_steps": trained}
    # two more steps on the loaded model: a file saved now has trained both
    client.post(f"/api/runs/{loaded['id']}/step", json={})
    client.post(f"/api/runs/{loaded['id']}/step", json={})
    wait_for(lambda: client.app.state.runs.get(loaded["id"]).steps_done == trained + 2)
    again = client.get(f"/api/runs/{loaded['id']}/model").content
    with np.load(io.BytesIO(again)) as saved:
        assert int(saved["trained_steps"]) == trained + 2
    client.post(f"/api/runs/{loaded['id']}/stop")


def test_a_model_file_without_trained_steps_loads_without_a_count(client):
    run_id = client.post("/api/runs", json=SMALL).json()["id"]
    watch(client, run_id)
    with np.load(io.BytesIO(client.get(f"/api/runs/{run_id}/model").content)) as saved:
        arrays = {k: saved[k] for k in saved.files if k != "trained_steps"}
    loaded = client.post("/api/runs/upload", content=_npz(arrays), headers=NPZ).json()
    assert loaded["loaded"] == {"trained_steps": None}
    client.post(f"/api/runs/{loaded['id']}/stop")
    arrays["trained_steps"] = np.array(-3)
    bad = client.post("/api/runs/upload", content=_npz(arrays), headers=NPZ)
    assert bad.status_code == 422 and "'trained_steps' must be one whole number in [0, " in bad.text


def test_stopping_a_run_that_has_ended_is_no_error(client):
    run_id = client.post("/api/runs", json=SMALL).json()["id"]
    watch(client, run_id)
    r = client.post(f"/api/runs/{run_id}/stop")
    assert r.status_code == 200 and r.json()["status"] == "done", "its final status, unchanged"
    assert client.post(f"/api/runs/{run_id}/pause").status_code == 409


def test_the_run_log_keeps_each_live_change_with_the_step_it_took_effect_at(client):
    run_id = client.post("/api/runs", json=ENDLESS | {"eval_every": 1000}).json()["id"]
    with client.stream("GET", f"/api/runs/{run_id}/events") as r:
        lines = r.iter_lines()
        sse(lines, until="steps")
        client.post(f"/api/runs/{run_id}/hyper", json={"values": {"lr": 0.2}})
        change = sse(lines, until="control")[-1][1]
        client.post(f"/api/runs/{run_id}/stop")
        sse(lines, until="summary")
    assert change["action"] == "set" and change["step"] > 0
    log = client.app.state.log.get()
    wait_for(lambda: log.list(kind="training", limit=1)[1])
    logged = log.get(log.list(kind="training", limit=1)[1][0]["id"])
    assert logged["results"]["changed_while_training"] == [{"step": change["step"], "values": {"lr": 0.2}}]
