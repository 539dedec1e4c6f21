"""The /playground and /mnist pages: navigation, the registries they embed, the runs a link names."""

import json
import re

import pytest

from app.routers.pages import NAV
from core.optimizers import OPTIMIZERS
from tests.app.test_runs import watch


def embedded(html: str) -> dict:
    """The page's data: the one JSON script the template embeds (no inline code: the CSP forbids it)."""
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    inline = [(attrs, body) for attrs, body in scripts if "src=" not in attrs]
    assert [attrs for attrs, _ in inline] == [' type="application/json" id="page"']
    return json.loads(inline[0][1])


def test_the_network_pages_are_in_the_navigation_after_the_landscapes():
    hrefs = [href for href, _ in NAV]
    assert hrefs[0] == "/" and hrefs[-1] == "/docs"
    assert 0 < hrefs.index("/playground") < hrefs.index("/mnist")


@pytest.mark.parametrize(("path", "script"), [("/playground", "playground.js"), ("/mnist", "mnist.js")])
def test_a_network_page_embeds_the_registries_it_builds_its_controls_from(client, path, script):
    r = client.get(path)
    assert r.status_code == 200 and f'src="/static/{script}"' in r.text
    assert f'<a href="{path}" aria-current="page">' in r.text
    page = embedded(r.text)
    assert [o["name"] for o in page["registry"]["optimizers"]] == list(OPTIMIZERS)
    assert set(page["registry"]) == {"optimizers", "schedules"}
    assert page["networks"] == client.get("/api/networks").json()
    assert page["runs"] == {}


def test_a_link_with_runs_embeds_their_status_so_the_page_never_asks_for_a_404(client):
    body = {"hidden": [{"width": 4}], "epochs": 500, "batch_size": 1}
    run_id = client.post("/api/runs", json=body).json()["id"]
    try:
        page = embedded(client.get("/playground", params={"run": run_id, "run2": "forgotten"}).text)
        assert page["runs"] == {run_id: "running", "forgotten": None}
        assert embedded(client.get("/mnist", params={"run": run_id}).text)["runs"] == {run_id: "running"}
    finally:
        client.post(f"/api/runs/{run_id}/stop")


def test_a_late_subscriber_gets_every_evaluations_layer_diagnostics(client):
    """The playground draws gradient norms and dead ReLUs over time, also after a reload."""
    body = {"hidden": [{"width": 4}, {"width": 4}], "epochs": 3, "surface": 5, "throttle": 0.0}
    run_id = client.post("/api/runs", json=body).json()["id"]
    live = watch(client, run_id)
    late = dict(watch(client, run_id))  # the run has ended: all of it comes as catch-up
    seen = {d["step"]: d for name, d in live if name == "eval"}  # the live ones (some came as history)
    kept = late["history"]["evals"]
    assert [e["step"] for e in kept] == [0, 25, 50, 75]
    assert all(
        e["diagnostics"] == {"layers": seen[e["step"]]["diagnostics"]["layers"]}
        for e in kept
        if e["step"] in seen
    )
    assert {layer["layer"] for layer in kept[-1]["diagnostics"]["layers"]} >= {"dense0", "dense1", "dense2"}
    assert "surface" not in kept[-1] and "confusion" not in kept[-1]
