"""Uploaded models are checked before anything in them is inflated: caps on members and bytes, numeric
dtypes only, finite weights; each refusal is one 422 naming the problem, and the server goes on."""

import io
import json
import time
import zipfile

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.runs import Limits
from app.uploads import MAX_ARRAY_BYTES, MAX_MEMBERS

NPZ = {"content-type": "application/octet-stream"}
SMALL = {"dataset": "moons", "hidden": [{"width": 4}], "epochs": 1, "throttle": 0}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Limits(max_active=2)), base_url="http://127.0.0.1") as c:
        yield c
        c.app.state.runs.stop_all()


@pytest.fixture(scope="module")
def saved(client) -> dict[str, np.ndarray]:
    """The arrays of a model saved by a finished run."""
    run_id = client.post("/api/runs", json=SMALL).json()["id"]
    deadline = time.monotonic() + 30
    while client.get(f"/api/runs/{run_id}").json()["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with np.load(io.BytesIO(client.get(f"/api/runs/{run_id}/model").content)) as npz:
        return {name: npz[name] for name in npz.files}


def npz(arrays: dict, compress: bool = False) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def refused(client, body: bytes) -> str:
    r = client.post("/api/runs/upload", content=body, headers=NPZ)
    assert r.status_code == 422, r.text
    return r.json()["detail"][0]["msg"]


def finish(client, run_id):
    client.post(f"/api/runs/{run_id}/stop")
    deadline = time.monotonic() + 30
    while client.get(f"/api/runs/{run_id}").json()["status"] in ("running", "paused"):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_saved_model_loads(client, saved):
    r = client.post("/api/runs/upload", content=npz(saved), headers=NPZ)
    assert r.status_code == 201 and r.json()["status"] == "paused"
    finish(client, r.json()["id"])


@pytest.mark.parametrize("poison", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused_and_use_no_slot(client, saved, poison):
    arrays = dict(saved)
    arrays["dense0.W"] = arrays["dense0.W"].copy()
    arrays["dense0.W"][0, 0] = poison
    for _ in range(3):  # more than the cap on runs: none of them holds a slot
        assert "'dense0.W' holds NaN or infinite values" in refused(client, npz(arrays))
    assert client.app.state.runs.active() == 0


def test_an_array_that_inflates_past_the_cap_is_refused_before_it_is_read(client, saved):
    bomb = npz(saved | {"bomb": np.zeros(MAX_ARRAY_BYTES // 8 + 1)}, compress=True)
    assert len(bomb) < 2**20  # a small upload...
    assert "inflates to" in refused(client, bomb)  # ...refused by its declared size


def test_too_many_members_are_refused(client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(MAX_MEMBERS + 1):
            archive.writestr(f"a{i}.npy", b"")
    assert f"at most {MAX_MEMBERS} are accepted" in refused(client, buffer.getvalue())


@pytest.mark.parametrize(
    "array, says",
    [
        (np.zeros(3, dtype=complex), "holds complex128 values"),
        (np.array(["text"]), "holds <U4 values"),
        (np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]), "only plain numbers"),
        (np.array([{"a": 1}], dtype=object), "only plain numbers"),
    ],
)
def test_arrays_of_what_no_model_holds_are_422(client, saved, array, says):
    assert says in refused(client, npz(saved | {"odd": array}))


def test_an_array_that_declares_more_than_it_stores_is_refused(client, saved):
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, {"descr": "<f8", "fortran_order": False, "shape": (10**7,)})
    npy.write(np.zeros(1).tobytes())
    buffer = io.BytesIO(npz(saved))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("big.npy", npy.getvalue())
    assert "'big' declares (10000000,) but holds only" in refused(client, buffer.getvalue())


def test_a_text_member_only_where_text_belongs(client, saved):
    arrays = saved | {"config": np.array(json.dumps(SMALL) + " " * 70_000)}
    assert "must be one string" in refused(client, npz(arrays))


def test_a_model_whose_output_overflows_answers_predictions_with_422(client, saved):
    arrays = dict(saved)
    arrays["dense0.W"] = np.full_like(saved["dense0.W"], 3e38)  # finite, but any input overflows it
    run_id = client.post("/api/runs/upload", content=npz(arrays), headers=NPZ).json()["id"]
    r = client.post(f"/api/runs/{run_id}/predict", json={"inputs": [[1e6, 1e6]]})
    assert r.status_code == 422 and "overflows" in r.json()["detail"][0]["msg"]
    finish(client, run_id)
