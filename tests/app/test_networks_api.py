import numpy as np
import pytest

from core.data.datasets import DATASETS, make_dataset
from core.data.mnist import IMAGE_SETS
from core.nn.activations import ACTIVATIONS
from tests.app.test_runs import watch


def test_the_network_registry_lists_every_choice_and_range(client):
    doc = client.get("/api/networks").json()
    assert [d["name"] for d in doc["datasets"]] == [*DATASETS, *IMAGE_SETS, "upload"]
    upload = doc["datasets"][-1]
    assert upload["kind"] == "upload" and [p["name"] for p in upload["params"]] == [
        "test_fraction",
        "standardize",
        "seed",
    ]
    assert (upload["params"][0]["low"], upload["params"][0]["high"], upload["params"][0]["default"]) == (
        0.05,
        0.5,
        0.2,
    )
    assert [a["name"] for a in doc["activations"]] == list(ACTIVATIONS)
    assert {"name": "softmax", "output_only": True}.items() <= doc["activations"][-1].items()
    assert [x["name"] for x in doc["losses"]] == ["mse", "cross_entropy"]
    assert [x["name"] for x in doc["inits"]] == ["gaussian", "xavier", "he"]
    assert [x["name"] for x in doc["norms"]] == ["batch", "layer"]
    assert [p["name"] for p in doc["regularization"]] == ["l1", "l2", "max_norm", "dropout"]
    assert "batch_size" in [p["name"] for p in doc["training"]]
    moons = doc["datasets"][0]
    assert (
        moons["kind"] == "points" and moons["available"] and moons["classes"] == ["upper moon", "lower moon"]
    )
    fashion = next(d for d in doc["datasets"] if d["name"] == "fashion-mnist")
    assert fashion["kind"] == "images" and "descent data fashion-mnist" in fashion["remedy"]


def test_missing_image_data_says_what_to_do(client, tmp_path, monkeypatch):
    monkeypatch.setenv("DESCENT_DATA_DIR", str(tmp_path))
    mnist = next(d for d in client.get("/api/networks").json()["datasets"] if d["name"] == "mnist")
    assert not mnist["available"]
    assert str(tmp_path / "mnist") in mnist["remedy"] and "DESCENT_DATA_DIR" in mnist["remedy"]


def test_points_are_the_datasets_own(client):
    doc = client.post(
        "/api/datasets/points", json={"dataset": "spiral", "data": {"samples": 90, "seed": 4}}
    ).json()
    split = make_dataset("spiral", samples=90, seed=4)
    np.testing.assert_allclose(doc["x_train"], split.x_train, rtol=1e-6)
    assert doc["y_test"] == split.y_test.tolist() and doc["classes"] == list(split.class_names)
    bad = client.post("/api/datasets/points", json={"dataset": "spiral", "data": {"noise": 5}})
    assert bad.status_code == 422 and "noise must be in [0, 1], got 5" in bad.json()["detail"][0]["msg"]


def test_images_and_filters_of_an_image_run(client, mnist_dir, monkeypatch):
    monkeypatch.setenv("DESCENT_DATA_DIR", str(mnist_dir))
    body = {
        "dataset": "mnist",
        "data": {"train_size": 500, "test_size": 100},
        "hidden": [{"width": 16}],
        "epochs": 1,
    }
    run_id = client.post("/api/runs", json=body).json()["id"]
    watch(client, run_id)
    doc = client.get(f"/api/runs/{run_id}/images", params={"indices": "0,3"}).json()
    assert doc["shape"] == [28, 28] and len(doc["images"]) == 2 and len(doc["images"][0]) == 784
    assert all(0 <= v <= 1 for v in doc["images"][1])
    filters = client.get(f"/api/runs/{run_id}/filters", params={"count": 20}).json()
    assert filters["units"] == list(range(16)) and len(filters["images"][0]) == 784
    r = client.get(f"/api/runs/{run_id}/images", params={"indices": "100"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "indices"]


@pytest.mark.parametrize("path", ["images?indices=0", "filters"])
def test_point_runs_have_no_images(client, path):
    run_id = client.post("/api/runs", json={"dataset": "moons", "epochs": 1}).json()["id"]
    r = client.get(f"/api/runs/{run_id}/{path}")
    assert r.status_code == 409 and "trains on 2D points, not images" in r.json()["detail"]


def test_the_training_schema_is_trainins_fields_with_their_bounds(client):
    from app.schemas.runs import TrainIn
    from core.nn.config import OPTIONS
    from core.nn.recipes import RECIPES

    doc = client.get("/api/networks").json()
    config = {f["name"]: f for f in doc["config"]}
    assert list(config) == list(TrainIn.model_fields)
    schema = TrainIn.model_json_schema()["properties"]
    for name, field in config.items():
        assert field["kind"] == OPTIONS[name].kind and field["live"] == OPTIONS[name].live
        if field["kind"] == "number":
            assert (field["low"], field["high"]) == (schema[name]["minimum"], schema[name]["maximum"])
        assert field["default"] == TrainIn().model_dump(mode="json")[name]
    assert (config["batch_size"]["high"], config["eval_train_size"]["high"]) == (4096, 60_000)
    assert config["throttle"]["default"] == 0.1 and config["epochs"]["high"] == doc["max_epochs"]
    assert [n for n, f in config.items() if f["live"]] == ["l1", "l2", "max_norm", "clip_norm"]
    assert set(doc["recipes"]) == set(RECIPES)
    seed = doc["recipes"]["seed_mnist"]["config"]
    assert seed["hidden"] == [{"width": 600, "activation": "relu"}] and seed["hyper"] == {"lr": 0.02}
    for recipe in doc["recipes"].values():
        TrainIn.model_validate(recipe["config"])  # each is a valid request
