"""The network lab on users' own tables in a real Chromium: a table uploaded in the lab races to the end
(curves, loss surface and sharpness drawn from the race's own data), a regression target shows R² in
place of accuracy, a link with the table's id restores it (and keeps its batch size), a link to a table
the server no longer holds says so where the table would be and leaves the page usable."""

import httpx
import numpy as np
import pytest
from playwright.sync_api import expect

# uploads go to a folder of each test's own (an autouse fixture), and the upload helper
from tests.browser.test_own_data import data_dir, upload, upload_table  # noqa: F401

GONE_ID = "0" * 64
NAMES = ["#1 SGD", "#2 Momentum", "#3 Adam"]
# the moons preset's racers and network on a table, a few epochs, a surface every 2 epochs
FAST = "/lab?epochs=4&replane=2"


@pytest.fixture
def page(context):
    """A tab that may evaluate strings (wait_for_function) under the app's CSP."""
    page = context.browser.new_page(bypass_csp=True, viewport={"width": 1366, "height": 768})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Chromium's own log lines for the refusals a test provokes (a gone table's 404, a bad file's 422)
    refused = ("status of 404", "status of 422")
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and not any(r in m.text for r in refused) else None
        ),
    )
    page.errors = errors
    yield page
    page.close()


def table_csv(rows=80, features=4, seed=0, regression=False):
    """A table with a `species` label (three classes) or a `y` target (a linear function)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).round(3)
    if regression:
        labels = (x[:, 0] - 0.5 * x[:, 1]).round(4).astype(str)
        name = "y"
    else:
        labels = np.array(["a", "b", "c"])[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)]
        name = "species"
    header = ",".join([*(f"f{j}" for j in range(features)), name])
    return (
        header
        + "\n"
        + "".join(",".join([*map(str, row), c]) + "\n" for row, c in zip(x, labels, strict=True))
    )


def store(live_server, text, label="species", filename="iris.csv"):
    """The table stored through the API, as another page (or the run log) left it: its DataOut."""
    response = httpx.post(
        f"{live_server}/api/data",
        params={"kind": "table", "filename": filename, "label_column": label},
        content=text.encode(),
        headers={"content-type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def figure(page, plot):
    """A plot's traces as Plotly holds them (name, x, y), the faint raw copies left out."""
    return page.evaluate(
        f"""document.getElementById('{plot}').data.filter((t) => t.meta !== 'raw').map((t) =>
        ({{name: t.name, x: Array.from(t.x ?? []), y: Array.from(t.y ?? [])}}))"""
    )


def race_to_the_end(page):
    page.click("#play")
    page.wait_for_function("() => descent.session.finished && descent.drawn()", timeout=90_000)
    expect(page.locator("#app")).to_have_attribute("data-status", "ended")


def test_a_table_uploaded_in_the_lab_races_to_the_end(page, live_server):
    page.goto(live_server + FAST)
    expect(page.locator("#own-table")).to_be_hidden()
    assert page.locator("#dataset option[value=upload]").inner_text() == "Your data"
    page.select_option("#dataset", "upload")
    expect(page.locator("#own-table")).to_be_visible()
    expect(page.locator("#play")).to_be_disabled()
    expect(page.locator("#no-data")).to_have_text("Upload a table first (see Data on the left).")
    assert page.locator("#play").get_attribute("title") == "Upload a table first (see Data on the left)."

    upload_table(page, table_csv(), rows=80, features=4)
    expect(page.locator("#dataset-note")).to_contain_text("A table of your own")
    expect(page.locator("#standardize")).to_be_checked()
    expect(page.locator("#no-data")).to_be_hidden()
    expect(page.locator("#play")).to_be_enabled()
    data_id = page.evaluate("descent.own.info.id")
    assert f"did={data_id}" in page.url and "ds=upload" in page.url

    race_to_the_end(page)
    starts = page.evaluate("descent.session.racers.map((r) => r.data.start)")
    assert [s["config"]["data_id"] for s in starts] == [data_id] * 3
    assert all(s["classes"] == ["a", "b", "c"] and not s["regression"] for s in starts)
    # 80 rows, a fifth held out of each class: the batch size is within the training rows
    assert page.evaluate("descent.state.batch_size") <= starts[0]["train_size"] == 64

    racers = page.evaluate("descent.session.racers.map((r) => ({evals: r.data.evals, probes: r.probes}))")
    traces = {t["name"]: t for t in figure(page, "accuracy-plot")}
    assert set(traces) == {f"{n} {what}" for n in NAMES for what in ("train", "test")}
    for name, racer in zip(NAMES, racers, strict=True):
        evals = racer["evals"]
        assert len(evals) >= 2
        assert traces[f"{name} test"]["x"] == [e["epoch"] for e in evals]
        assert traces[f"{name} test"]["y"] == pytest.approx([100 * e["test_accuracy"] for e in evals])
        assert racer["probes"], f"{name}: no sharpness probe"
    expect(page.locator("#accuracy-card h2")).to_have_text("Accuracy")

    # the loss surface: the server's own grid, a path per racer
    race_id = page.evaluate("descent.session.id")
    result = httpx.get(f"{live_server}/api/races/{race_id}/surface").json()["result"]
    contour = page.evaluate(
        "(() => { const t = document.getElementById('contour-plot').data[0];"
        " return {type: t.type, x: Array.from(t.x)}; })()"
    )
    assert contour["type"] == "contour" and contour["x"] == pytest.approx(result["a"])
    paths = [t["name"] for t in figure(page, "contour-plot") if t["name"].endswith(" path")]
    assert sorted(paths) == sorted(f"{n} path" for n in NAMES)
    sharp = [t for t in figure(page, "sharpness-plot") if "λmax" in t["name"]]
    assert len(sharp) == 3 and all(t["y"] for t in sharp)
    assert page.errors == []


def test_a_regression_table_shows_r2_in_place_of_accuracy(page, live_server):
    page.goto(f"{live_server}/lab?ds=upload&epochs=3&replane=0&sharp=0")
    page.select_option("#loss", "mse")
    page.fill("#label-column", "y")
    page.check("#table-regression")
    upload(page, "#table-file", "line.csv", table_csv(regression=True))
    expect(page.locator("#table-info")).to_contain_text(
        "line.csv: 80 rows · 4 features · a regression target (y)"
    )
    expect(page.locator("#accuracy-card h2")).to_have_text("R²")
    # back to cross-entropy: the race is refused here, with the reason
    page.select_option("#loss", "cross_entropy")
    expect(page.locator("#play")).to_be_disabled()
    expect(page.locator("#no-data")).to_have_text(
        "A regression target needs loss MSE: choose it under Network."
    )
    expect(page.locator("#table-regression")).to_be_disabled()
    page.select_option("#loss", "mse")

    race_to_the_end(page)
    racers = page.evaluate("descent.session.racers.map((r) => ({evals: r.data.evals, start: r.data.start}))")
    assert all(r["start"]["regression"] for r in racers)
    traces = {t["name"]: t for t in figure(page, "accuracy-plot")}
    for name, racer in zip(NAMES, racers, strict=True):
        evals = racer["evals"]
        assert all(e["test_accuracy"] is None and e["test_r2"] is not None for e in evals)
        assert traces[f"{name} test"]["y"] == pytest.approx([e["test_r2"] for e in evals])
        assert traces[f"{name} train"]["y"] == pytest.approx([e["train_r2"] for e in evals])
    title = page.evaluate("document.getElementById('accuracy-plot').layout.yaxis.title.text")
    assert title == "R²"
    expect(page.locator("#accuracy-card .cc-log")).to_be_disabled()
    expect(page.locator("#racers .racer-status").first).to_contain_text("test R² ")
    assert page.errors == []


def test_a_link_with_a_did_restores_the_table(page, live_server):
    info = store(live_server, table_csv(rows=60, features=5))
    page.goto(f"{live_server}/lab?ds=upload&did={info['id']}&bs=16&epochs=2")
    expect(page.locator("#table-info")).to_contain_text(
        "iris.csv: 60 rows · 5 features · 3 classes (label: species)"
    )
    assert page.locator("#dataset").input_value() == "upload"
    expect(page.locator("#own-table")).to_be_visible()
    expect(page.locator("#input-width")).to_have_text("input5 features (iris.csv)")
    expect(page.locator("#label-column")).to_have_value("species")
    expect(page.locator("#play")).to_be_enabled()
    assert page.evaluate("descent.state.batch_size") == 16  # the link's, not 1
    assert page.evaluate("descent.body().training.data_id") == info["id"]
    assert f"did={info['id']}" in page.url
    assert page.errors == []


def test_a_link_to_a_gone_table_says_so_and_the_page_stays_usable(page, live_server):
    page.goto(f"{live_server}/lab?ds=upload&did={GONE_ID}&epochs=2")
    expect(page.locator("#table-info")).to_contain_text(
        f"the data {GONE_ID[:12]}… is no longer on this server"
    )
    expect(page.locator("#own-table")).to_be_visible()
    expect(page.locator("#play")).to_be_disabled()
    expect(page.locator("#no-data")).to_have_text("The table is gone (see Data on the left).")
    assert page.locator("#no-data").get_attribute("title") == page.locator("#play").get_attribute("title")
    assert "is no longer on this server" in page.locator("#play").get_attribute("title")
    expect(page.locator("#banner")).to_be_hidden()
    # the page stays usable: another dataset races, and so does a new upload
    page.select_option("#dataset", "moons")
    expect(page.locator("#own-table")).to_be_hidden()
    expect(page.locator("#play")).to_be_enabled()
    expect(page.locator("#no-data")).to_be_hidden()
    page.select_option("#dataset", "upload")
    page.fill("#label-column", "species")
    upload(page, "#table-file", "iris.csv", table_csv())
    expect(page.locator("#play")).to_be_enabled()


def test_the_table_panel_fits_a_laptop_window(page, live_server):
    from tests.browser.test_lab import CONTROLS, FIND_OVERFLOW

    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{live_server}/lab?ds=upload&did={GONE_ID}")
    expect(page.locator("#no-data")).to_be_visible()
    problems = page.evaluate(FIND_OVERFLOW, CONTROLS)
    bar, message = (page.locator(s).bounding_box() for s in (".run-bar", "#no-data"))
    if message["x"] + message["width"] > bar["x"] + bar["width"]:
        problems.append("the gone table's message runs out of the run bar")
    page.fill("#label-column", "species")
    upload(page, "#table-file", "iris.csv", table_csv())
    expect(page.locator("#play")).to_be_enabled()
    problems += page.evaluate(FIND_OVERFLOW, CONTROLS)
    height = page.evaluate("document.documentElement.scrollHeight")
    if height > 720:
        problems.append(f"the page is {height} px tall in a 720 px window")
    assert problems == []
