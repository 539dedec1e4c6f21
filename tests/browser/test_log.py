"""The run log in a real Chromium: a race and a training run made in the test show up, two of them
overlay their curves (and paths on the contour map), reopen links restore the run in its page."""

import json
import random
from dataclasses import asdict
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import pytest

from app import log_entries
from core.nn.training import TrainConfig


def foreign(watch, live_server):
    return watch.hosts - {urlsplit(live_server).netloc, "data", "blob"}


@pytest.fixture
def log(app):
    """The served app's run log."""
    return app.state.log.get()


def race(live_server, log, racers, seed):
    """Race on Booth through the API (its stream ends: the racers are logged); their log ids."""
    body = {"landscape": "booth", "steps": 300, "seed": seed, "racers": racers}
    with httpx.stream("POST", f"{live_server}/api/paths", json=body, timeout=30) as r:
        assert r.status_code == 200
        for _ in r.iter_lines():
            pass
    _, rows = log.list(kind="path", limit=len(racers))
    assert {r["seed"] for r in rows} == {seed}
    return {r["optimizer"]: r["id"] for r in rows}


@pytest.fixture
def raced(live_server, log):
    seed = random.randrange(1, 2**31)  # a race no other test has made
    racers = [{"optimizer": "adam", "hyper": {"lr": 0.5}}, {"optimizer": "momentum", "hyper": {"lr": 0.02}}]
    return seed, race(live_server, log, racers, seed)


def row(page, run_id):
    return page.locator(f'#rows tr[data-id="{run_id}"]')


def test_the_log_lists_a_run_made_in_the_test(page, watch, live_server, raced):
    seed, ids = raced
    page.goto(f"{live_server}/log")
    page.wait_for_function("() => document.getElementById('app').dataset.status === 'ready'")
    adam = row(page, ids["adam"])
    assert adam.count() == 1
    cells = adam.locator("td").all_inner_texts()
    assert "booth" in cells[2] and "adam" in cells and "0.5" in cells and str(seed) in cells
    assert "converged" in " ".join(cells)
    assert watch.errors == [] and foreign(watch, live_server) == set()


def test_two_runs_overlay_their_loss_curves_and_paths(page, watch, live_server, raced):
    _, ids = raced
    page.goto(f"{live_server}/log?kind=path")
    page.wait_for_function("() => document.getElementById('app').dataset.status === 'ready'")
    row(page, ids["adam"]).locator("input[type=checkbox]").check()
    row(page, ids["momentum"]).locator("input[type=checkbox]").check()
    expected = f"{ids['adam']},{ids['momentum']}"
    page.wait_for_function(f"() => document.getElementById('app').dataset.compared === '{expected}'")
    curves = page.evaluate(
        "document.getElementById('loss-plot').data.filter((t) => t.meta !== 'raw').map((t) => t.name)"
    )
    assert len(curves) == 2 and curves[0].startswith(f"#{ids['adam']} adam")
    assert page.locator("#loss-plot .scatterlayer .trace").count() == 4, "each raw (faint) and smoothed"
    traces = page.evaluate("document.getElementById('second-plot').data.map((t) => [t.type, t.mode, t.name])")
    assert traces[0][0] == "contour"
    paths = [t for t in traces if t[1] == "lines"]
    assert [name.split(" ")[0] for _, _, name in paths] == [f"#{ids['adam']}", f"#{ids['momentum']}"]
    assert f"sel={ids['adam']},{ids['momentum']}" in page.url
    assert "momentum" in page.locator("#diff").inner_text()  # the settings that differ
    assert watch.errors == [] and foreign(watch, live_server) == set()


def test_a_reopen_link_restores_the_race_on_the_landscape_page(page, watch, live_server, raced):
    seed, ids = raced
    page.goto(f"{live_server}/log?kind=path")
    page.wait_for_function("() => document.getElementById('app').dataset.status === 'ready'")
    row(page, ids["momentum"]).locator("a.reopen").first.click()
    page.wait_for_url("**/?*")
    query = parse_qs(urlsplit(page.url).query)
    assert query["landscape"] == ["booth"] and query["seed"] == [str(seed)] and query["steps"] == ["300"]
    page.wait_for_function("() => window.descent && descent.racers.length === 1")
    racer = page.evaluate("[descent.racers[0].optimizer, descent.racers[0].hyper.lr]")
    state = [*page.evaluate("[descent.state.landscape, descent.state.seed]"), *racer]
    assert state == ["booth", seed, "momentum", 0.02]
    assert watch.errors == [] and foreign(watch, live_server) == set()


def test_a_reopen_link_restores_a_training_run_in_the_network_playground(page, watch, live_server, log):
    body = {
        "dataset": "circles",
        "hidden": [{"width": 6, "activation": "tanh"}],
        "epochs": 2,
        "optimizer": "adam",
    }
    body |= {"hyper": {"lr": 0.0123}, "batch_size": 8, "seed": random.randrange(1, 10**6), "throttle": 0}
    run_id = httpx.post(f"{live_server}/api/runs", json=body).json()["id"]
    with httpx.stream("GET", f"{live_server}/api/runs/{run_id}/events", timeout=30) as r:
        assert any(line == "event: summary" for line in r.iter_lines())
    logged = log.list(kind="training", limit=1)[1][0]
    assert logged["seed"] == body["seed"] and logged["lr"] == 0.0123
    page.goto(f"{live_server}/log?kind=training")
    page.wait_for_function("() => document.getElementById('app').dataset.status === 'ready'")
    link = row(page, logged["id"]).locator("a.reopen")
    assert link.get_attribute("href").startswith("/playground?")
    link.click()
    page.wait_for_url("**/playground?*")
    page.wait_for_function("() => window.descent && descent.state")
    state = page.evaluate("JSON.stringify(descent.state)")
    s = json.loads(state)
    assert (s["dataset"], s["optimizer"], s["hyper"]["lr"], s["batch_size"], s["seed"]) == (
        "circles",
        "adam",
        0.0123,
        8,
        body["seed"],
    )
    assert s["hidden"] == [{"width": 6, "activation": "tanh"}] and s["epochs"] == 2
    # the logged run's curves, as the log has them
    entry = log.get(logged["id"])
    page.wait_for_function(f"() => descent.main.logged === {logged['id']}")
    batch = "document.getElementById('loss-plot').data.find((t) => t.name === 'batch (raw)')"
    page.wait_for_function(f"() => {batch}?.y.length > 0")
    assert page.evaluate(f"{batch}.y") == entry["curves"]["loss"]["value"]
    accuracy = "document.getElementById('accuracy-plot').data.find((t) => t.name === 'test')"
    shown = page.evaluate(f"{accuracy}.y")
    assert shown == pytest.approx([100 * v for v in entry["curves"]["accuracy"]["value"]])
    assert f"log={logged['id']}" in page.url
    assert page.locator("#epoch").inner_text().startswith(f"logged run #{logged['id']}")
    assert watch.errors == [] and foreign(watch, live_server) == set()


def spiky_runs(log):
    """Two logged training runs: one with a single 3×10⁵ spike among its 400 losses."""
    seed = random.randrange(1, 10**6)
    config = asdict(TrainConfig(dataset="moons", hidden=((4, "relu"),), epochs=1, seed=seed))
    steps = list(range(1, 401))
    ids = []
    for spike in (True, False):
        loss = [0.5 + 0.5 / s for s in steps]
        if spike:
            loss[200] = 3e5
        ending = {"type": "summary", "status": "done", "steps": 400, "epochs": 1, "train_loss": loss[-1]}
        ids.append(
            log_entries.record_training({**config, "seed": seed + spike}, steps, loss, [], ending, log)
        )
    return ids


def test_one_spike_does_not_flatten_the_other_curves(page, watch, live_server, log):
    ids = spiky_runs(log)
    page.goto(f"{live_server}/log?sel={ids[0]},{ids[1]}&smooth=0&logy=0")
    page.wait_for_function(f"() => document.getElementById('app').dataset.compared === '{ids[0]},{ids[1]}'")
    shown = [v for i in ids for v in log.get(i)["curves"]["loss"]["value"]]
    low, high = np.percentile(shown, [1, 99])
    pad = 0.05 * (high - low)
    y = page.evaluate("document.getElementById('loss-plot').layout.yaxis.range")
    assert y == pytest.approx([low - pad, high + pad]), "the 1st–99th percentile of the values, padded"
    page.locator("[aria-label='Loss all values']").check()
    page.wait_for_function("() => document.getElementById('loss-plot').layout.yaxis.range[1] > 3e5")
    assert "all=1" in page.url
    page.locator("[aria-label='Loss log scale']").check()
    page.wait_for_function("() => document.getElementById('loss-plot').layout.yaxis.type === 'log'")
    axis = page.evaluate("document.getElementById('loss-plot').layout.yaxis")
    assert axis["ticktext"] and all(
        t in ("1", "10", "100", "1000", "10⁴", "10⁵", "10⁶") for t in axis["ticktext"]
    )
    assert len(axis["ticktext"]) <= 5, "decades only, never crowded"
    assert watch.errors == []


# Cells of the "settings that differ" table whose one word is set on more than one line.
BROKEN_WORDS = """() => [...document.querySelectorAll('#diff td, #diff th')].filter((cell) => {
  const text = cell.textContent.trim();
  if (!text || /\\s/.test(text)) return false;
  const range = document.createRange();
  range.selectNodeContents(cell);
  return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
}).map((cell) => cell.textContent)"""


def test_settings_that_differ_never_break_a_word_at_1280_pixels(page, watch, live_server, log):
    names = ["nesterov", "rmsprop", "momentum", "adam"]  # four columns: the most the log compares
    ids = race(
        live_server, log, [{"optimizer": o, "hyper": {"lr": 0.05}} for o in names], random.randrange(1, 2**31)
    )
    page.set_viewport_size({"width": 1280, "height": 720})
    try:
        page.goto(f"{live_server}/log?kind=path&sel={','.join(str(ids[o]) for o in names)}")
        page.wait_for_function("() => document.getElementById('diff').querySelector('table') !== null")
        assert "momentum" in page.locator("#diff").inner_text()
        assert page.evaluate(BROKEN_WORDS) == []
        # a long-used log's ids (#8977) take more room: the table then scrolls, no word is split
        page.evaluate("document.getElementById('diff').style.maxWidth = '240px'")
        assert page.evaluate(BROKEN_WORDS) == []
        assert page.evaluate("(d => d.scrollWidth > d.clientWidth)(document.getElementById('diff'))")
    finally:
        page.set_viewport_size({"width": 1366, "height": 768})
    assert watch.errors == []


def test_a_network_race_opens_in_the_lab_with_its_racers(page, watch, live_server, log):
    """Each racer's row links to the lab with the whole race: same settings, same racers, same seed."""
    seed = random.randrange(1, 10**6)
    racers = [
        {"optimizer": "nesterov", "hyper": {"lr": 0.0321}},
        {"optimizer": "rmsprop", "hyper": {"lr": 0.00456}},
    ]
    training = {
        "dataset": "circles",
        "hidden": [{"width": 5, "activation": "tanh"}],
        "epochs": 2,
        "seed": seed,
    }
    body = {"training": training | {"batch_size": 20, "throttle": 0}, "racers": racers}
    race_id = httpx.post(f"{live_server}/api/races", json=body).json()["id"]
    with httpx.stream("GET", f"{live_server}/api/races/{race_id}/events", timeout=60) as r:
        assert any(line == "event: race_end" for line in r.iter_lines())
    rows = [row for row in log.list(kind="training", limit=10)[1] if row["seed"] == seed]
    assert sorted(row["optimizer"] for row in rows) == ["nesterov", "rmsprop"]
    page.goto(f"{live_server}/log?kind=training")
    page.wait_for_function("() => document.getElementById('app').dataset.status === 'ready'")
    links = [row(page, r["id"]).locator("a.reopen.race") for r in rows]
    assert [link.inner_text() for link in links] == ["open in lab"] * 2
    assert links[0].get_attribute("href") == links[1].get_attribute("href")
    query = parse_qs(urlsplit(links[0].get_attribute("href")).query)
    linked = [r.split(":", 1) for r in query["racers"][0].split(";")]
    assert [(name, dict(kv.split(":") for kv in hyper.split(","))) for name, hyper in linked] == [
        ("nesterov", {"lr": "0.0321", "gamma": "0.9"}),
        ("rmsprop", {"lr": "0.00456", "gamma": "0.9", "eps": "1e-8"}),
    ]
    links[0].click()
    page.wait_for_url("**/lab?*")
    page.wait_for_function("() => window.descent && descent.state")
    sent = page.evaluate("descent.body()")
    assert [(r["optimizer"], r["hyper"]["lr"]) for r in sent["racers"]] == [
        ("nesterov", 0.0321),
        ("rmsprop", 0.00456),
    ]
    t = sent["training"]
    assert (t["dataset"], t["hidden"], t["epochs"], t["batch_size"], t["seed"]) == (
        "circles",
        [{"width": 5, "activation": "tanh"}],
        2,
        20,
        seed,
    )
    assert watch.errors == [] and foreign(watch, live_server) == set()


def test_runs_on_uploaded_data_reopen_where_their_data_was_made(
    page, watch, live_server, log, tmp_path, monkeypatch
):
    """Data of two features (points drawn or uploaded on the playground) reopens on the playground, a
    wider table on the MNIST page (the log keeps the feature count); both links carry the data's id."""
    monkeypatch.setenv("DESCENT_DATA_DIR", str(tmp_path))
    rng = np.random.default_rng(7)
    x = rng.normal(size=(40, 3)).tolist()
    labels = ["a" if v[0] > 0 else "b" for v in x]
    points = "x1,x2,label\n" + "".join(f"{p!r},{q!r},{c}\n" for (p, q, _), c in zip(x, labels, strict=True))
    table = "u,v,w,label\n" + "".join(
        f"{p!r},{q!r},{r!r},{c}\n" for (p, q, r), c in zip(x, labels, strict=True)
    )
    pages = {}
    for kind, text, page_path in (("points", points, "/playground"), ("table", table, "/mnist")):
        headers = {"content-type": "application/octet-stream"}
        params = {"kind": kind, "filename": f"{kind}.csv"}
        data_id = httpx.post(f"{live_server}/api/data", params=params, content=text, headers=headers).json()[
            "id"
        ]
        body = {"dataset": "upload", "data_id": data_id, "hidden": [{"width": 4}], "epochs": 1, "throttle": 0}
        run_id = httpx.post(f"{live_server}/api/runs", json=body).json()["id"]
        with httpx.stream("GET", f"{live_server}/api/runs/{run_id}/events", timeout=30) as r:
            assert any(line == "event: summary" for line in r.iter_lines())
        pages[log.list(kind="training", limit=1)[1][0]["id"]] = (page_path, data_id)
    page.goto(f"{live_server}/log?kind=training")
    page.wait_for_function("() => document.getElementById('app').dataset.status === 'ready'")
    for log_id, (page_path, data_id) in pages.items():
        link = row(page, log_id).locator("a.reopen")
        page.wait_for_function(
            '([id, path]) => document.querySelector(`#rows tr[data-id="${id}"] a.reopen`)'
            ".getAttribute('href').startsWith(path + '?')",
            arg=[log_id, page_path],
        )
        assert f"did={data_id}" in link.get_attribute("href")
    assert watch.errors == [] and foreign(watch, live_server) == set()
