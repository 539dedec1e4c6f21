"""Users' own data through the API: uploads refused with one clear message and nothing kept, the
store's hash and eviction, and runs, races and jobs trained on what was uploaded."""

import io
import os
import zipfile

import numpy as np
import pytest

from app.routers import data as data_router
from core.data import own
from core.data.datasets import moons
from core.data.uploads import LIMITS
from core.nn.sweeps import run_job
from tests.app.test_jobs_api import core_fields
from tests.app.test_jobs_api import wait as wait_job
from tests.app.test_races import watch as watch_race
from tests.app.test_runs import watch

OCTET = {"content-type": "application/octet-stream"}
GOOD = b"x1,x2,label\n0,0,a\n1,1,b\n2,0,a\n3,1,b\n0,1,a\n1,0,b\n"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Every test its own data folder: an empty store."""
    monkeypatch.setenv("DESCENT_DATA_DIR", str(tmp_path))
    return tmp_path


def stored(data_dir) -> list[str]:
    folder = data_dir / own.FOLDER
    return sorted(os.listdir(folder)) if folder.exists() else []


def upload(client, body: bytes, kind="points", filename="points.csv", **query):
    params = {"kind": kind, "filename": filename, **query}
    return client.post("/api/data", params=params, content=body, headers=OCTET)


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def points_csv(x: np.ndarray, y) -> bytes:
    rows = "\n".join(f"{a!r},{b!r},{label}" for (a, b), label in zip(x.tolist(), y, strict=True))
    return f"x1,x2,label\n{rows}\n".encode()


MOONS = moons(samples=120, seed=3)
MOONS_CSV = points_csv(MOONS.x_train, MOONS.y_train)
WIDE = "a,b,c,label\n" + "\n".join(f"{i},{i % 3},{i * 0.5},{'yes' if i % 2 else 'no'}" for i in range(40))

BAD = [  # (name, kind, filename, body, query, what the message must say)
    (
        "nan",
        "points",
        "p.csv",
        b"x1,x2,label\n0,NaN,a\n1,1,b\n",
        {},
        "line 2, column 'x2': 'NaN' is not finite",
    ),
    (
        "inf",
        "points",
        "p.csv",
        b"x1,x2,label\n0,0,a\n1,-inf,b\n",
        {},
        "line 3, column 'x2': '-inf' is not finite",
    ),
    ("one class", "points", "p.csv", b"x1,x2,label\n0,0,a\n1,1,a\n", {}, "at least two classes"),
    ("no header", "points", "p.csv", b"0,0,1\n1,1,0\n", {}, "a header row is required"),
    ("bad utf-8", "points", "p.csv", b"x1,x2,label\n0,0,\xff\n1,1,b\n", {}, "line 2, column 3: byte 0xFF"),
    (
        "text",
        "points",
        "p.csv",
        b"x1,x2,label\n0,abc,a\n1,1,b\n",
        {},
        "line 2, column 'x2': 'abc' is not a number",
    ),
    ("missing label", "table", "t.csv", b"a,b\n1,2\n3,4\n", {"label_column": "y"}, "no column 'y'"),
    ("malformed npz", "table", "t.npz", b"PK\x03\x04 not really a zip", {}, "not a readable .npz file"),
    (
        "npz nan",
        "table",
        "t.npz",
        npz(a=np.array([1.0, np.nan]), label=np.array([0, 1])),
        {},
        "row 2, column 'a'",
    ),
    (
        "suffix",
        "table",
        "t.txt",
        b"a,label\n1,0\n2,1\n",
        {},
        "'t.txt': a .txt file; .csv and .npz files are read",
    ),
    (
        "regression text",
        "points",
        "p.csv",
        b"x1,x2,label\n0,0,a\n1,1,b\n",
        {"regression": "true"},
        "'a' is not a number",
    ),
    (
        "rows",
        "points",
        "p.csv",
        b"x1,x2,label\n" + b"0,0,a\n1,1,b\n" * (LIMITS.max_rows // 2 + 1),
        {},
        "more than 100,000 data rows",
    ),
    (
        "columns",
        "table",
        "t.csv",
        (
            ",".join(f"c{i}" for i in range(LIMITS.max_columns))
            + ",label\n"
            + "0," * LIMITS.max_columns
            + "a\n"
        ).encode(),
        {},
        "1,001 columns; at most 1,000",
    ),
    (
        "classes",
        "points",
        "p.csv",
        ("x1,x2,label\n" + "".join(f"0,0,c{i}\n" for i in range(LIMITS.max_classes + 1))).encode(),
        {},
        "at most 100 classes",
    ),
]


@pytest.mark.parametrize("name, kind, filename, body, query, says", BAD, ids=[b[0] for b in BAD])
def test_a_bad_file_is_one_422_naming_where_and_nothing_is_kept(
    client, data_dir, name, kind, filename, body, query, says
):
    r = upload(client, body, kind, filename, **query)
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "file"] and says in error["msg"]
    assert not [f for f in stored(data_dir) if f.endswith(".npz")]


def test_a_body_over_the_byte_cap_is_413_and_nothing_is_kept(client, data_dir):
    r = upload(client, b"x" * (LIMITS.max_bytes + 1))
    assert r.status_code == 413
    assert stored(data_dir) == []


@pytest.mark.parametrize(
    "body",
    [
        GOOD,
        b"\xef\xbb\xbf" + GOOD,  # a byte-order mark
        GOOD.replace(b",", b";"),  # semicolons
        GOOD.replace(b"\n", b"\r\n"),  # Windows line ends
    ],
    ids=["plain", "bom", "semicolons", "crlf"],
)
def test_the_same_points_however_spelled_are_one_entry(client, data_dir, body):
    r = upload(client, body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["id"] == upload(client, GOOD).json()["id"] and len(out["id"]) == 64
    assert out | {"id": None} == {
        "id": None,
        "kind": "points",
        "filename": "points.csv",
        "rows": 6,
        "features": 2,
        "feature_names": ["x1", "x2"],
        "label": "label",
        "regression": False,
        "classes": 2,
        "class_names": ["a", "b"],
    }
    assert stored(data_dir) == [f"{out['id']}.npz"]
    assert client.get(f"/api/data/{out['id']}").json() == out


def test_points_read_back_are_the_rows_uploaded(client):
    data_id = upload(client, MOONS_CSV).json()["id"]
    points = client.get(f"/api/data/{data_id}/points").json()
    assert points["class_names"] == ["0", "1"] and not points["regression"]
    np.testing.assert_array_equal(np.array(points["x"]), MOONS.x_train.astype(np.float64))
    np.testing.assert_array_equal(points["y"], MOONS.y_train)
    table = upload(client, WIDE.encode(), "table", "wide.csv").json()
    assert (table["kind"], table["features"], table["class_names"]) == ("table", 3, ["no", "yes"])
    r = client.get(f"/api/data/{table['id']}/points")
    assert r.status_code == 409 and "3 features" in r.json()["detail"]


def test_an_npz_table_with_a_regression_target(client):
    x = np.arange(20.0)
    r = upload(
        client, npz(u=x, v=x**2, target=3 * x - 1), "table", "t.npz", label_column="target", regression="true"
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["features"], out["label"], out["regression"], out["classes"], out["class_names"]) == (
        2,
        "target",
        True,
        0,
        [],
    )
    points = client.get(f"/api/data/{out['id']}/points").json()
    assert points["regression"] and points["y"] == (3 * x - 1).tolist()


def test_a_gone_id_is_404_with_the_plain_message_and_a_malformed_one_422(client):
    gone = "ab" * 32
    r = client.get(f"/api/data/{gone}")
    assert r.status_code == 404
    assert r.json()["detail"] == (
        "the data abababababab… is no longer on this server (uploaded data is evicted when the store is "
        "full); upload the file again"
    )
    assert client.get(f"/api/data/{gone}/points").status_code == 404
    assert client.get("/api/data/ABC").status_code == 422
    assert client.get(f"/api/data/{'A' * 64}").status_code == 422


def test_runs_races_and_jobs_on_gone_data_are_409_with_the_message(client):
    gone = {"dataset": "upload", "data_id": "cd" * 32}
    r = client.post("/api/runs", json=gone)
    assert r.status_code == 409 and "is no longer on this server" in r.json()["detail"]
    race = {"training": gone, "racers": [{"optimizer": "sgd"}, {"optimizer": "adam"}]}
    r = client.post("/api/races", json=race)
    assert r.status_code == 409 and "is no longer on this server" in r.json()["detail"]
    r = client.post("/api/jobs", json={"specs": [{"kind": "train", "config": gone}]})
    assert r.status_code == 409 and "is no longer on this server" in r.json()["detail"]


def test_upload_without_a_data_id_or_with_a_bad_one_is_422(client):
    assert client.post("/api/runs", json={"dataset": "upload"}).status_code == 422
    assert client.post("/api/runs", json={"dataset": "upload", "data_id": "xyz"}).status_code == 422


def test_a_run_on_uploaded_points_trains_on_exactly_that_split(client):
    data_id = upload(client, MOONS_CSV).json()["id"]
    config = {
        "dataset": "upload",
        "data_id": data_id,
        "data": {"test_fraction": 0.25, "standardize": 0, "seed": 5},
        "hidden": [{"width": 8}],
        "epochs": 4,
        "throttle": 0,
    }
    run = client.post("/api/runs", json=config).json()
    events = watch(client, run["id"])
    start = next(d for n, d in events if n == "start")
    expected = own.split_of(own.read_table(data_id), config["data"])
    assert start["regression"] is False and start["classes"] == ["0", "1"] and start["features"] == 2
    assert (
        (start["train_size"], start["test_size"]) == (len(expected.y_train), len(expected.y_test)) == (72, 24)
    )
    assert start["config"]["data_id"] == data_id
    summary = events[-1][1]
    assert summary["status"] == "done" and summary["test_accuracy"] is not None
    images = client.get(f"/api/runs/{run['id']}/images", params={"indices": "0"})
    assert images.status_code == 409  # points, not images


def test_a_regression_run_reports_r2_and_needs_mse(client):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 2))
    body = points_csv(x, (x[:, 0] - 2 * x[:, 1]).tolist())
    data_id = upload(client, body, regression="true").json()["id"]
    config = {"dataset": "upload", "data_id": data_id, "hidden": [{"width": 8}], "epochs": 3, "throttle": 0}
    r = client.post("/api/runs", json=config)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "loss"] and "regression target needs loss mse" in r.text
    run = client.post("/api/runs", json={**config, "loss": "mse", "surface": 6}).json()
    events = watch(client, run["id"])
    assert next(d for n, d in events if n == "start")["regression"] is True
    last = next(d for n, d in events if n == "eval")
    assert last["test_accuracy"] is None and isinstance(last["test_r2"], float)
    assert "confusion" not in last and np.array(last["surface"]["values"]).shape == (6, 6)
    summary = events[-1][1]
    assert summary["status"] == "done" and summary["test_accuracy"] is None and "test_r2" in summary


def test_a_race_on_uploaded_data(client):
    data_id = upload(client, MOONS_CSV).json()["id"]
    training = {"dataset": "upload", "data_id": data_id, "hidden": [{"width": 6}], "epochs": 2, "throttle": 0}
    race = {
        "training": training,
        "racers": [{"optimizer": "sgd", "hyper": {"lr": 0.1}}, {"optimizer": "adam"}],
    }
    r = client.post("/api/races", json=race)
    assert r.status_code == 201, r.text
    events = watch_race(client, r.json()["id"])
    starts = [d for n, d in events if n == "start"]
    assert len(starts) == 2 and all(s["config"]["data_id"] == data_id for s in starts)
    assert [d["status"] for n, d in events if n == "summary"] == ["done", "done"]
    assert events[-2][0] == "surface" and events[-1][0] == "race_end"


def test_the_store_evicts_the_least_recently_used_and_its_runs_then_say_so(client, data_dir, monkeypatch):
    first = upload(client, MOONS_CSV).json()["id"]
    size = os.path.getsize(data_dir / own.FOLDER / f"{first}.npz")
    monkeypatch.setenv("DESCENT_UPLOAD_STORE_BYTES", str(size + size // 2))  # room for one entry
    second = upload(client, WIDE.encode(), "table", "wide.csv").json()["id"]
    assert stored(data_dir) == [f"{second}.npz"]
    assert client.get(f"/api/data/{first}").status_code == 404
    r = client.post("/api/runs", json={"dataset": "upload", "data_id": first})
    assert r.status_code == 409 and first[:12] in r.json()["detail"]
    assert client.get(f"/api/data/{second}").status_code == 200


def test_a_file_that_is_a_zip_of_something_else_is_refused(client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    r = upload(client, buffer.getvalue(), "table", "t.npz")
    assert r.status_code == 422 and "not an .npy array" in r.json()["detail"][0]["msg"]


def test_names_are_remembered_for_a_bounded_number_of_uploads(client, monkeypatch):
    monkeypatch.setattr(data_router, "NAMES_KEPT", 1)
    first = upload(client, GOOD, filename="first.csv").json()["id"]
    upload(client, MOONS_CSV, filename="second.csv")
    assert client.get(f"/api/data/{first}").json()["filename"] == ""


def test_a_job_on_uploaded_data_trains_on_the_pool_as_core_does(client, data_dir):
    data_id = upload(client, MOONS_CSV).json()["id"]
    config = {"dataset": "upload", "data_id": data_id, "hidden": [{"width": 6}], "epochs": 2}
    specs = [{"kind": "train", "config": config | {"hyper": {"lr": lr}}, "target": 0.8} for lr in (0.05, 0.5)]
    r = client.post("/api/jobs", json={"specs": specs})
    assert r.status_code == 201, r.text
    job, results = wait_job(client, r.json()["id"])
    assert job["status"] == "done" and job["failed"] == 0
    by_index = {x["index"]: x["result"] for x in results}
    for i, spec in enumerate(specs):
        local = run_job(core_fields(spec) | {"points": 200, "data_root": str(data_dir)})
        assert by_index[i]["steps"] == local["steps"] == 2 * 5  # 2 epochs of 77 rows in batches of 16
        assert by_index[i]["accuracy"] == local["accuracy"]
        assert by_index[i]["test_loss"] == pytest.approx(local["test_loss"], rel=1e-6)


def test_the_run_log_keeps_the_data_id_and_its_link_trains_the_same_run(client):
    data_id = upload(client, MOONS_CSV).json()["id"]
    config = {"dataset": "upload", "data_id": data_id, "hidden": [{"width": 6}], "epochs": 2, "throttle": 0}
    first = watch(client, client.post("/api/runs", json=config).json()["id"])[-1][1]
    logged = next(
        item
        for item in client.get("/api/log", params={"kind": "training"}).json()["items"]
        if item["final_loss"] == first["train_loss"]
    )
    full = client.get(f"/api/log/{logged['id']}").json()
    assert logged["problem"] == "upload" and full["config"]["data_id"] == data_id
    assert full["config"]["data_features"] == 2  # points: the log reopens them on the playground
    again = {k: v for k, v in full["config"].items() if k in config}  # what a replay link carries
    assert again == config | {"hidden": [[6, "relu"]]}
    second = watch(client, client.post("/api/runs", json=config).json()["id"])[-1][1]
    assert second["train_loss"] == first["train_loss"] and second["test_accuracy"] == first["test_accuracy"]


def test_a_data_folder_that_cannot_be_written_is_507_for_uploads_and_gone_for_reads(
    client, tmp_path, monkeypatch
):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("DESCENT_DATA_DIR", str(blocker / "data"))
    r = upload(client, GOOD)
    assert r.status_code == 507 and "cannot keep the data in" in r.json()["detail"]
    assert "DESCENT_DATA_DIR" in r.json()["detail"]
    data_id = "ab" * 32
    assert client.get(f"/api/data/{data_id}").status_code == 404
    r = client.post("/api/runs", json={"dataset": "upload", "data_id": data_id})
    assert r.status_code == 409 and "is no longer on this server" in r.json()["detail"]
