import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from app import streaming
from app.streaming import FLUSH, WORKERS, Workers, in_thread
from core.landscape.landscapes import LANDSCAPES, get_landscape
from core.landscape.paths import Outcome, Steps, race
from core.landscape.surfaces import stability, surface
from core.optimizers import OPTIMIZERS, get_optimizer
from core.schedules import SCHEDULES, get_schedule

RACE = {
    "landscape": "mccormick",
    "racers": [{"optimizer": "sgd", "hyper": {"lr": 0.001}}, {"optimizer": "adam", "hyper": {"lr": 0.01}}],
    "steps": 150,
    "noise": {"sigma_x": 16, "sigma_y": 4, "dataset_size": 2000, "batch_size": 4},
    "schedule": "cosine",
    "seed": 11,
}


def sse(lines):
    """(event, data) pairs of a text/event-stream."""
    events, name = [], None
    for line in lines:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


def stream(client, body):
    with client.stream("POST", "/api/paths", json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        return sse(r.iter_lines())


def test_registries_list_every_entry_with_its_ranges(client):
    doc = client.get("/api/registry").json()
    assert [ls["name"] for ls in doc["landscapes"]] == list(LANDSCAPES)
    assert [o["name"] for o in doc["optimizers"]] == list(OPTIMIZERS)
    assert [s["name"] for s in doc["schedules"]] == list(SCHEDULES)
    assert [p["name"] for p in doc["noise"]] == ["sigma_x", "sigma_y", "dataset_size", "batch_size"]
    mc = doc["landscapes"][0]
    assert mc["domain"] == [[-1.5, 4.0], [-3.0, 4.0]] and mc["start"] == [-1.0, 2.75]
    assert mc["minima"][0]["value"] == pytest.approx(0.08678, abs=1e-5) and mc["formula"]
    adam = next(o for o in doc["optimizers"] if o["name"] == "adam")
    assert adam["params"][0] == {
        "name": "lr",
        "label": "learning rate η",
        "default": 0.001,
        "low": 1e-7,
        "high": 10.0,
        "log": True,
        "integer": False,
        "help": "",
    }
    assert client.get("/api/landscapes").json() == doc["landscapes"]
    assert client.get("/api/optimizers").json() == doc["optimizers"]
    assert client.get("/api/schedules").json() == doc["schedules"]


def test_surface_is_the_core_surface(client):
    r = client.post(
        "/api/surface",
        json={"landscape": "quadratic", "landscape_params": {"kappa": 30}, "resolution": 25, "arrows": 6},
    )
    doc = r.json()
    s = surface(get_landscape("quadratic", kappa=30), 25, 6)
    np.testing.assert_allclose(doc["z"], s.z, rtol=1e-6)
    np.testing.assert_allclose(doc["arrows"]["u"], s.arrow_u, rtol=1e-6, atol=1e-7)
    assert doc["log_scale"] == s.log_scale and len(doc["x"]) == 25


def test_stability_is_the_core_readout(client):
    doc = client.post("/api/stability", json={"landscape": "rosenbrock", "x": -1.5, "y": 2.5}).json()
    s = stability(get_landscape("rosenbrock"), -1.5, 2.5)
    assert doc == {"curvature": pytest.approx(s.curvature), "lr_limit": pytest.approx(s.lr_limit)}


def test_streamed_race_equals_the_core_race(client):
    events = stream(client, RACE)
    assert events[-1] == ("end", {})
    ls = get_landscape("mccormick")
    core = race(
        ls,
        [
            (get_optimizer("sgd"), get_optimizer("sgd").hyperparameters(lr=0.001)),
            (get_optimizer("adam"), get_optimizer("adam").hyperparameters(lr=0.01)),
        ],
        ls.start,
        150,
        noise=__import__("core.landscape.noise", fromlist=["GradientNoise"]).GradientNoise(16, 4, 2000, 4),
        schedule=get_schedule("cosine", 150),
        seed=11,
    )
    expected = list(core)
    assert len(events) == len(expected) + 1
    for (name, data), (i, part) in zip(events, expected, strict=False):
        assert data["racer"] == i
        if isinstance(part, Steps):
            assert name == "steps"
            for column in ("step", "x", "y", "loss"):
                assert data["steps"][column] == getattr(part, column).tolist()
            sent = {c: data["steps"][c] for c in ("lr", "gx", "gy", "grad_norm")} | data["steps"]["state"]
            kept = {c: getattr(part, c) for c in ("lr", "gx", "gy", "grad_norm")} | part.state
            for column, values in kept.items():  # float32 on the wire
                np.testing.assert_array_equal(np.float32(sent[column]), values.astype(np.float32))
        else:
            assert name == "outcome" and isinstance(part, Outcome)
            assert data["outcome"] == {
                "status": part.status,
                "step": part.step,
                "message": part.message,
                "distance": part.distance,
                "minimum": part.minimum,
                "heading": part.heading,
                "escape": part.escape,
            }


def test_a_diverging_learning_rate_ends_with_a_diverged_status_and_no_nan(client):
    body = {"landscape": "rosenbrock", "racers": [{"optimizer": "sgd", "hyper": {"lr": 0.1}}], "steps": 500}
    with client.stream("POST", "/api/paths", json=body) as r:
        text = r.read().decode()
    assert "NaN" not in text and "Infinity" not in text and "null" not in text
    events = sse(text.splitlines())
    (outcome,) = [d["outcome"] for name, d in events if name == "outcome"]
    assert outcome["status"] == "diverged" and outcome["message"].startswith(
        f"diverged at step {outcome['step']}"
    )
    last = [d["steps"] for name, d in events if name == "steps"][-1]
    assert last["step"][-1] == outcome["step"] - 1


def test_the_same_request_streams_the_same_paths(client):
    assert stream(client, RACE) == stream(client, RACE)
    assert stream(client, RACE) != stream(client, RACE | {"seed": 12})


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export(client, fmt):
    r = client.post("/api/paths/export", json=RACE | {"format": fmt, "steps": 20})
    assert r.status_code == 200
    assert r.headers["content-disposition"] == f'attachment; filename="descent-mccormick.{fmt}"'
    if fmt == "csv":
        lines = r.text.splitlines()
        assert lines[0] == "racer,optimizer,step,x,y,loss,lr,grad_norm,gx,gy,m_x,m_y,v_x,v_y"
        assert lines[1].startswith("0,sgd,0,-1.0,2.75,") and lines[1].endswith(",,,,")
        assert len(lines) == 1 + 2 * 21
    else:
        doc = r.json()
        assert [rc["optimizer"] for rc in doc["racers"]] == ["sgd", "adam"]
        assert doc["racers"][1]["hyper"] == {"lr": 0.01, "b1": 0.9, "b2": 0.999, "eps": 1e-8}
        assert doc["config"]["seed"] == 11 and len(doc["racers"][0]["steps"]["x"]) == 21
        streamed = [
            d["steps"]["x"]
            for n, d in stream(client, RACE | {"steps": 20})
            if n == "steps" and d["racer"] == 1
        ]
        assert doc["racers"][1]["steps"]["x"] == [x for chunk in streamed for x in chunk]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (RACE | {"landscape": "moon"}, ["body", "landscape"], "Input should be 'mccormick'"),
        (
            RACE | {"racers": [{"optimizer": "adamx"}]},
            ["body", "racers", 0, "optimizer"],
            "Input should be 'sgd'",
        ),
        (
            RACE | {"racers": [{"optimizer": "adam", "hyper": {"lr": -1}}]},
            ["body", "racers", 0],
            "lr must be in [1e-07, 10], got -1",
        ),
        (
            RACE | {"racers": [{"optimizer": "sgd", "hyper": {"gamma": 0.9}}]},
            ["body", "racers", 0],
            "has no parameter 'gamma'",
        ),
        (
            RACE | {"racers": [{"optimizer": "sgd", "hyper": {"lr": False}}]},
            ["body", "racers", 0, "hyper", "lr"],
            "valid number",
        ),
        (RACE | {"racers": []}, ["body", "racers"], "at least 1 item"),
        (RACE | {"racers": RACE["racers"] * 5}, ["body", "racers"], "at most 8 items"),
        (RACE | {"steps": 0}, ["body", "steps"], "greater than or equal to 1"),
        (RACE | {"steps": 10_001}, ["body", "steps"], "less than or equal to 10000"),
        (RACE | {"steps": 10.5}, ["body", "steps"], "valid integer"),
        (RACE | {"seed": -1}, ["body", "seed"], "greater than or equal to 0"),
        (
            RACE | {"noise": {"batch_size": 5000}},
            ["body", "noise"],
            "batch_size must be in [1, dataset_size = 2000]",
        ),
        (RACE | {"noise": {"sigma_x": -1}}, ["body", "noise", "sigma_x"], "greater than or equal to 0"),
        (RACE | {"schedule": "linear"}, ["body", "schedule"], "Input should be 'constant'"),
        (RACE | {"schedule_params": {"every": 0}}, ["body"], "has no parameter 'every'"),
        (
            RACE | {"landscape": "quadratic", "landscape_params": {"kappa": 0}},
            ["body"],
            "kappa must be in [1, 10000]",
        ),
        (RACE | {"start": [1e9, 0]}, ["body"], "lies ten domain widths outside"),
        (RACE | {"start": [1]}, ["body", "start"], "at least 2 items"),
        (RACE | {"start": [1, 2, 3]}, ["body", "start"], "at most 2 items"),
        (RACE | {"colour": "red"}, ["body", "colour"], "Extra inputs are not permitted"),
    ],
)
def test_bad_requests_get_a_422_naming_the_field(client, body, field, message):
    r = client.post("/api/paths", json=body)
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"] == field
    assert message in error["msg"]


def test_non_finite_numbers_are_refused(client):
    body = json.dumps(RACE | {"start": [1.0, 2.0]}).replace("2.0]", "NaN]")
    r = client.post("/api/paths", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "start"]


def test_surface_and_stability_validate_too(client):
    assert client.post("/api/surface", json={"resolution": 5000}).status_code == 422
    assert client.post("/api/stability", json={"x": 1}).json()["detail"][0]["loc"] == ["body", "y"]


def test_the_worker_stops_when_the_client_goes_away(live_server):
    big = RACE | {"racers": RACE["racers"] * 4, "steps": 10_000, "noise": None}
    threads = threading.active_count()
    with (
        httpx.Client(base_url=live_server, timeout=10) as http,
        http.stream("POST", "/api/paths", json=big) as r,
    ):
        next(r.iter_lines())
        # the event loop is free while the workers compute: another request is answered
        assert http.get("/api/schedules").status_code == 200
        assert WORKERS.jobs + 2 >= 1  # the race is in the pool (waiting for a turn or being advanced)
    deadline = time.monotonic() + 5
    while WORKERS.jobs and time.monotonic() < deadline:
        time.sleep(0.02)
    assert WORKERS.jobs == 0, "the race was still being computed after its client left"
    assert threading.active_count() <= threads + len(WORKERS._threads), "no thread per stream"


def run_async(coroutine):
    """asyncio.run on a thread of its own: the browser tests' session keeps a loop on the main thread."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def test_a_flush_hands_over_what_came_before_slow_work():
    """Items before FLUSH reach the consumer while the generator is still busy after it."""
    release = threading.Event()

    def items():
        yield "end"
        yield FLUSH
        release.wait(5)  # the slow part (for a race: writing the run log)

    async def first_item():
        stream = in_thread(items(), Workers(name="flush-test"))
        try:
            return await asyncio.wait_for(anext(stream), 1)
        finally:
            release.set()
            await stream.aclose()

    assert run_async(first_item()) == ["end"]


def test_event_streams_batch_their_events_and_ping_when_idle(monkeypatch):
    monkeypatch.setattr(streaming, "PING_SECONDS", 0.01)

    async def batches():
        yield [("steps", '{"a":1}'), ("end", "{}")]
        yield []

    async def body():
        return [chunk async for chunk in streaming.EventStream(batches()).body_iterator]

    async def quiet():
        return await streaming.next_or_ping(asyncio.Queue())

    assert run_async(body()) == [b'event: steps\ndata: {"a":1}\n\nevent: end\ndata: {}\n\n', b": ping\n\n"]
    assert run_async(quiet()) == []


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        (
            "/api/stability",
            {"x": 0.0, "y": 0.0, "landscape": "beale", "landscape_params": {"name": 0.0}},
            "'name'",
        ),
        ("/api/paths", {"racers": [{"optimizer": "sgd", "hyper": {"self": 1.0}}]}, "'self'"),
        ("/api/paths", {"racers": [{"optimizer": "sgd"}], "schedule_params": {"steps": 1.0}}, "'steps'"),
    ],
)
def test_a_parameter_named_like_an_argument_is_a_422_not_a_500(client, path, body, says):
    """Parameter names are the user's: one that is also a function's own argument name is refused as
    unknown, like any other."""
    r = client.post(path, json=body)
    assert r.status_code == 422 and says in r.text and "has no parameter" in r.text
