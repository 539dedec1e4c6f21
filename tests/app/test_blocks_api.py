"""/api/blocks: each answer is the core's, every bad input a 422 that names its field, never a NaN."""

import math

import numpy as np
import pytest

from core.nn import blocks
from core.nn.inits import INITS
from core.nn.losses import LOSSES

SEED_Z = [0.2, 0.57, 0.6, 0.12]


def errors(response):
    assert response.status_code == 422, response.text
    return [(d["loc"], d["msg"]) for d in response.json()["detail"]]


def test_the_registry_is_the_cores(client):
    doc = client.get("/api/blocks").json()
    assert [a["name"] for a in doc["activations"]] == list(blocks.ELEMENTWISE)
    assert "softmax" not in [a["name"] for a in doc["activations"]]
    assert [x["name"] for x in doc["losses"]] == list(LOSSES)
    assert [x["name"] for x in doc["inits"]] == list(INITS)
    assert [n["name"] for n in doc["norms"]] == ["batch", "layer", "instance", "group"]
    group = doc["norms"][-1]
    assert group["layout"] == "N, H, W, C" and [p["name"] for p in group["params"]] == ["groups"]
    assert np.array_equal(group["example"], blocks.IMAGES) and np.array_equal(
        doc["norms"][0]["example"], blocks.FEATURES
    )
    assert [s["name"] for s in doc["sweeps"]] == list(blocks.SWEEPS)
    assert doc["threshold"]["default"] == 0.1 and doc["eps"]["default"] == 1e-8


# --- activations -------------------------------------------------------------------------------------


def test_activation_curves_are_the_cores(client):
    doc = client.post(
        "/api/blocks/activations", json={"low": -4, "high": 3, "points": 71, "threshold": 0.2}
    ).json()
    assert doc["threshold"] == 0.2 and [a["name"] for a in doc["activations"]] == list(blocks.ELEMENTWISE)
    for a in doc["activations"]:
        c = blocks.activation_curves(a["name"], -4, 3, 71, 0.2)
        assert a["z"] == c.z.tolist() and a["f"] == c.f.tolist() and a["df"] == c.df.tolist()
        assert [tuple(v) for v in a["vanishing"]] == c.vanishing
        assert a["formula"] == blocks.ELEMENTWISE[a["name"]].formula
    tanh = client.post("/api/blocks/activations", json={"activations": ["tanh"]}).json()["activations"]
    assert (
        [a["name"] for a in tanh] == ["tanh"] and len(tanh[0]["z"]) == 401 and len(tanh[0]["vanishing"]) == 2
    )


@pytest.mark.parametrize(
    "body, loc, msg",
    [
        ({"low": 2, "high": 1}, ["body", "high"], "high must be more than low: got low = 2, high = 1"),
        ({"low": 60}, ["body", "high"], "high must be more than low: got low = 60, high = 6"),
        ({"low": -1000}, ["body", "low"], "greater than or equal to -100"),
        ({"threshold": 0}, ["body", "threshold"], "greater than or equal to 0.001"),
        ({"points": 10**6}, ["body", "points"], "less than or equal to 2001"),
        ({"activations": ["softmax"]}, ["body", "activations", 0], "'sigmoid', 'tanh', 'relu'"),
        ({"low": False}, ["body", "low"], "valid number"),
    ],
)
def test_bad_activation_requests_name_the_field(client, body, loc, msg):
    [(where, text)] = errors(client.post("/api/blocks/activations", json=body))
    assert where == loc and msg in text


# --- softmax -----------------------------------------------------------------------------------------


def test_softmax_gives_the_seeds_values_and_its_sum(client):
    doc = client.post("/api/blocks/softmax", json={"z": SEED_Z}).json()
    np.testing.assert_allclose(doc["probs"], [0.2056481, 0.29772387, 0.30679091, 0.18983712], atol=5e-9)
    assert doc["total"] == pytest.approx(1.0, abs=1e-15) and not doc["overflow"]
    np.testing.assert_allclose(doc["naive"], doc["probs"], rtol=1e-15)


def test_large_entries_overflow_the_naive_formula_only_and_no_nan_is_sent(client):
    response = client.post("/api/blocks/softmax", json={"z": [v + 1000 for v in SEED_Z]})
    doc = response.json()
    np.testing.assert_allclose(doc["probs"], [0.2056481, 0.29772387, 0.30679091, 0.18983712], atol=5e-9)
    assert doc["overflow"] and doc["naive"] == [None] * 4 and doc["naive_exp"] == [None] * 4
    assert "NaN" not in response.text and "Infinity" not in response.text
    assert doc["shifted"] == pytest.approx([-0.4, -0.03, 0, -0.48])


@pytest.mark.parametrize(
    "body, loc, msg",
    [
        ({"z": list(range(65))}, ["body", "z"], "at most 64 items"),
        ({"z": []}, ["body", "z"], "at least 1 item"),
        ({"z": [1, 2e6]}, ["body", "z", 1], "less than or equal to 1000000"),
        ({"z": [1, "2"]}, ["body", "z", 1], "valid number"),
        ({"z": [[1, 2]]}, ["body", "z", 0], "valid number"),
    ],
)
def test_bad_vectors_name_the_field(client, body, loc, msg):
    [(where, text)] = errors(client.post("/api/blocks/softmax", json=body))
    assert where == loc and msg in text


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_entries_are_refused(client, literal):
    body = b'{"z": [1, ' + literal + b"]}"
    response = client.post("/api/blocks/softmax", content=body, headers={"content-type": "application/json"})
    [(where, text)] = errors(response)
    assert where == ["body", "z", 1] and "finite number" in text


# --- losses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sweep", list(blocks.SWEEPS))
def test_loss_curves_are_the_cores(client, sweep):
    doc = client.post("/api/blocks/losses", json={"target": 0.7, "sweep": sweep, "points": 50}).json()
    c = blocks.loss_curves(0.7, sweep, 50)
    assert doc["pred"] == c.pred.tolist() and doc["clip"] == 1e-15 and doc["target"] == 0.7
    assert [x["name"] for x in doc["losses"]] == list(LOSSES)
    for x in doc["losses"]:
        assert x["value"] == c.value[x["name"]].tolist() and x["grad"] == c.grad[x["name"]].tolist()


def test_the_log_sweep_shows_the_cross_entropy_clip(client):
    doc = client.post("/api/blocks/losses", json={"sweep": "log", "points": 201}).json()
    ce = next(x for x in doc["losses"] if x["name"] == "cross_entropy")
    held = [i for i, p in enumerate(doc["pred"]) if p < doc["clip"]]
    assert len(held) == 50 and [ce["value"][i] for i in held] == pytest.approx([-math.log(2e-15)] * 50)
    assert {ce["grad"][i] for i in held} == {0}


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"target": 1.5}, ["body", "target"]),
        ({"sweep": "cubic"}, ["body", "sweep"]),
        ({"points": 5}, ["body", "points"]),
    ],
)
def test_bad_loss_requests_name_the_field(client, body, loc):
    [(where, _)] = errors(client.post("/api/blocks/losses", json=body))
    assert where == loc


# --- initializations ---------------------------------------------------------------------------------


def test_init_samples_are_the_cores_and_seeded(client):
    body = {"inputs": 512, "neurons": 256, "seed": 3, "bins": 40}
    doc = client.post("/api/blocks/inits", json=body).json()
    assert doc["xavier_limit"] == pytest.approx(np.sqrt(6 / 768)) and round(doc["xavier_limit"], 4) == 0.0884
    for got, want in zip(doc["inits"], blocks.init_report(512, 256, 3, 40), strict=True):
        assert got["name"] == want.name and got["label"] == INITS[want.name].label
        assert [got[k] for k in ("min", "max", "mean", "std")] == [want.min, want.max, want.mean, want.std]
        assert got["counts"] == want.counts.tolist() and got["edges"] == want.edges.tolist()
        assert sum(got["counts"]) == 512 * 256
    xavier = doc["inits"][1]
    assert (round(xavier["min"], 4), round(xavier["max"], 4), round(xavier["std"], 4)) == (
        -0.0884,
        0.0884,
        0.0511,
    )
    assert client.post("/api/blocks/inits", json=body).json() == doc


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"inputs": 0}, ["body", "inputs"]),
        ({"neurons": 4097}, ["body", "neurons"]),
        ({"seed": -1}, ["body", "seed"]),
    ],
)
def test_bad_init_requests_name_the_field(client, body, loc):
    [(where, _)] = errors(client.post("/api/blocks/inits", json=body))
    assert where == loc


def test_xavier_range_is_the_cores(client):
    doc = client.post("/api/blocks/xavier-range", json={"max_size": 1000, "points": 30}).json()
    sizes, limits = blocks.xavier_range(1000, 30)
    assert doc == {"sizes": sizes.tolist(), "limits": limits.tolist()}


# --- normalization -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(blocks.NORM_DEMOS))
def test_each_normalization_of_the_seeds_batch_is_the_cores(client, name):
    doc = client.post("/api/blocks/norm", json={"norm": name}).json()  # x defaults to the seed's batch
    demo = blocks.NORM_DEMOS[name]
    r = blocks.normalize(name, demo.example, **{p.name: p.default for p in demo.params})
    assert doc["shape"] == list(demo.example.shape) and doc["y"] == r.y.ravel().tolist()
    assert (
        doc["kept"] == list(demo.kept)
        and doc["stat_shape"] == list(r.stat_shape)
        and doc["labels"] == r.labels
    )
    assert doc["before"] == r.before.tolist() and doc["after"] == r.after.tolist()
    for key in ("mean_before", "var_before", "mean_after", "var_after"):
        assert doc[key] == getattr(r, key).ravel().tolist()


def test_batch_norm_prints_what_the_seed_prints(client):
    doc = client.post("/api/blocks/norm", json={"norm": "batch", "x": blocks.FEATURES.tolist()}).json()
    np.testing.assert_allclose(doc["y"][:3], [1.34058903, -1.34963806, 1.34069849], atol=5e-9)
    np.testing.assert_allclose(doc["mean_before"], [0.07666667, 1.17333333, -1.08], atol=5e-9)
    np.testing.assert_allclose(doc["var_after"], [0.99999999, 0.99999994, 0.99999999], atol=5e-9)
    assert doc["labels"] == ["feature 1", "feature 2", "feature 3"]


def test_group_norm_takes_its_groups_and_eps(client):
    doc = client.post("/api/blocks/norm", json={"norm": "group", "groups": 4, "eps": 0.01}).json()
    r = blocks.normalize("instance", blocks.IMAGES, eps=0.01)  # G = C is instance norm
    np.testing.assert_allclose(doc["y"], r.y.ravel(), rtol=1e-12)
    assert doc["labels"][:2] == ["sample 1 · group 1", "sample 1 · group 2"]


def test_a_constant_batch_sends_zeros_not_nan(client):
    response = client.post("/api/blocks/norm", json={"norm": "layer", "x": [[5, 5, 5], [1, 2, 3]]})
    doc = response.json()
    assert doc["y"][:3] == [0, 0, 0] and doc["var_before"][0] == 0 and "NaN" not in response.text


def images(c=4):
    return np.arange(2 * 2 * 2 * c, dtype=float).reshape(2, 2, 2, c).tolist()


@pytest.mark.parametrize(
    "body, loc, msg",
    [
        (
            {"norm": "batch", "x": [[1, 2, 3], [4, 5]]},
            ["body", "batch", "x"],
            "ragged: x[1] has 2 entries but x[0] has 3 entries",
        ),
        (
            {"norm": "group", "x": [[[[1, 2]], [[3]]]]},
            ["body", "group", "x"],
            "ragged: x[0][1][0] has 1 entry but x[0][0][0] has 2",
        ),
        (
            {"norm": "group", "groups": 3, "x": images()},
            ["body", "group", "groups"],
            "groups must divide 4 channels: one of [1, 2, 4], got 3",
        ),
        ({"norm": "group", "groups": 0}, ["body", "group", "groups"], "greater than or equal to 1"),
        (
            {"norm": "group", "x": images(3)},  # the default G = 2
            ["body", "group", "groups"],
            "groups must divide 3 channels: one of [1, 3], got 2",
        ),
        ({"norm": "layer", "groups": 2}, ["body", "layer", "groups"], "Extra inputs are not permitted"),
        ({"norm": "instance", "x": [[1.0, 2.0]]}, ["body", "instance", "x", 0, 0], "valid list"),
        ({"norm": "batch", "x": [[1, 2e6]]}, ["body", "batch", "x", 0, 1], "less than or equal to 1000000"),
        ({"norm": "batch", "x": [[1, True]]}, ["body", "batch", "x", 0, 1], "valid number"),
        ({"norm": "batch", "x": [[0.0] * 65]}, ["body", "batch", "x", 0], "at most 64 items"),
        ({"norm": "instance", "x": images(17)}, ["body", "instance", "x", 0, 0, 0], "at most 16 items"),
        ({"norm": "batch", "eps": 0}, ["body", "batch", "eps"], "greater than or equal to 0.000000000001"),
        (
            {"norm": "weight"},
            ["body"],
            "does not match any of the expected tags: 'batch', 'layer', 'instance', 'group'",
        ),
    ],
)
def test_bad_batches_name_the_field(client, body, loc, msg):
    found = errors(client.post("/api/blocks/norm", json=body))
    assert any(where == loc and msg in text for where, text in found), found


def test_non_finite_batch_values_are_refused(client):
    body = b'{"norm": "layer", "x": [[1, NaN], [2, 3]]}'
    response = client.post("/api/blocks/norm", content=body, headers={"content-type": "application/json"})
    [(where, text)] = errors(response)
    assert where == ["body", "layer", "x", 0, 1] and "finite number" in text


# --- the page ----------------------------------------------------------------------------------------


def test_the_page_embeds_the_registry_and_links_from_the_navigation(client):
    html = client.get("/blocks").text
    assert 'href="/blocks" aria-current="page"' in html and 'id="blocks-registry"' in html
    for name in blocks.ELEMENTWISE:
        assert f'id="act-{name}"' in html
    for name in blocks.NORM_DEMOS:
        assert f'name="norm" value="{name}"' in html
    assert '<script type="module" src="/static/blocks.js">' in html
    assert 'href="/blocks"' in client.get("/").text


def test_the_openapi_lists_every_blocks_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("activations", "softmax", "losses", "inits", "xavier-range", "norm"):
        assert "post" in paths[f"/api/blocks/{path}"]
    assert "get" in paths["/api/blocks"]
