"""The network lab in a real Chromium: a race of three optimizers on moons draws every racer in every
figure (checked against the race's own data and the server's surface), pause, step and resume reach
every racer, a live η change reaches its racer and moves its threshold, a preset's link replays the very
same race, the server's refusals show where they belong, and nothing overflows at laptop sizes."""

import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import expect

# The moons preset (SGD η 0.1, momentum η 0.05 γ 0.9, Adam η 0.01; sharpness every 25 steps) cut to a
# few epochs: 25 steps an epoch, a second or two in all.
FAST = "/lab?epochs=6&replane=2"
# A race that lasts far longer than any test (one example per step): tests stop it.
LONG = "/lab?bs=1&epochs=500"
NAMES = ["#1 SGD", "#2 Momentum", "#3 Adam"]

SIZES = [(1280, 720), (1440, 900)]
CONTROLS = "button, input:not([type=hidden]):not([type=file]), select, a, output, label, [role=status], .hint"
SCRIPT = (Path(__file__).parent / "overflow.js").read_text()
FIND_OVERFLOW = "\n".join(line for line in SCRIPT.splitlines() if not line.startswith("//"))
REFUSED = "status of 422"  # Chromium's own network log line for a refused request (not the page's)


@pytest.fixture(autouse=True)
def stop_races(app):
    """Races outlive their pages (another tab may watch them): stop every racer after each test."""
    yield
    app.state.runs.stop_all()


def foreign(watch, live_server):
    return watch.hosts - {urlsplit(live_server).netloc, "data", "blob"}


def wait_status(page, status):
    page.wait_for_function(f"() => document.getElementById('app').dataset.status === '{status}'")


def every_racer(page, condition):
    """Wait until `condition` (a JS expression of a racer `r`) holds for every racer of the race."""
    page.wait_for_function(
        f"() => descent.session.racers.length > 0 && descent.session.racers.every((r) => {condition})"
    )


def race_to_the_end(page):
    """Press Race and wait for `race_end` and the figures drawn from the last surface."""
    page.click("#play")
    page.wait_for_function("() => descent.session.finished && descent.drawn()", timeout=60_000)
    wait_status(page, "ended")


def figure(page, plot):
    """A plot's traces as Plotly holds them (name, x, y, line), the faint raw copies left out."""
    return page.evaluate(
        f"""document.getElementById('{plot}').data.filter((t) => t.meta !== 'raw').map((t) =>
        ({{name: t.name, type: t.type, x: Array.from(t.x ?? []), y: Array.from(t.y ?? []),
           color: t.line?.color ?? null, dash: t.line?.dash ?? null}}))"""
    )


def test_a_race_draws_every_racer_in_every_figure(page, watch, live_server):
    page.goto(live_server + FAST)
    nav = page.locator('header nav a[href="/lab"]')
    assert nav.inner_text() == "Network lab" and nav.get_attribute("aria-current") == "page"
    race_to_the_end(page)
    race_id = page.evaluate("descent.session.id")
    assert f"race={race_id}" in page.url
    racers = page.evaluate(
        "descent.session.racers.map((r) => ({evals: r.data.evals, probes: r.probes, hyper: r.hyper}))"
    )
    assert len(racers) == 3

    # loss and accuracy: train (solid) and test (dashed) of each racer, a point per evaluation
    for plot, key, scale in (("loss-plot", "loss", 1), ("accuracy-plot", "accuracy", 100)):
        traces = {t["name"]: t for t in figure(page, plot)}
        assert set(traces) == {f"{n} {what}" for n in NAMES for what in ("train", "test")}
        for name, racer in zip(NAMES, racers, strict=True):
            evals = racer["evals"]
            assert len(evals) >= 6  # every epoch is evaluated
            train, test = traces[f"{name} train"], traces[f"{name} test"]
            assert train["x"] == [e["epoch"] for e in evals] and train["dash"] is None
            assert test["dash"] == "dash" and train["color"] == test["color"]
            if key == "accuracy":  # unsmoothed: the values themselves
                assert train["y"] == pytest.approx([scale * e["train_accuracy"] for e in evals])
                assert test["y"] == pytest.approx([scale * e["test_accuracy"] for e in evals])
    colors = [t["color"] for t in figure(page, "loss-plot") if t["name"].endswith("train")]
    assert len(set(colors)) == 3

    # the loss surface: the server's grid and each racer's path, axes titled with explained variance
    surface = httpx.get(f"{live_server}/api/races/{race_id}/surface").json()
    result = surface["result"]
    assert surface["state"] == "idle" and result["kind"] == "pca"
    contour = page.evaluate(
        "(() => { const t = document.getElementById('contour-plot').data[0]; return {type: t.type,"
        " x: Array.from(t.x), y: Array.from(t.y), rows: t.z.length, cols: t.z[0].length}; })()"
    )
    assert contour["type"] == "contour"
    assert contour["x"] == pytest.approx(result["a"]) and contour["y"] == pytest.approx(result["b"])
    assert (contour["rows"], contour["cols"]) == (len(result["b"]), len(result["a"]))
    paths = {t["name"]: t for t in figure(page, "contour-plot") if t["name"].endswith(" path")}
    assert set(paths) == {f"{n} path" for n in NAMES}
    for path in result["paths"]:
        drawn = paths[f"{NAMES[path['racer']]} path"]
        assert len(path["a"]) >= 2
        assert drawn["x"] == pytest.approx(path["a"]) and drawn["y"] == pytest.approx(path["b"])
    titles = page.evaluate(
        "(() => { const l = document.getElementById('contour-plot').layout;"
        " return [l.xaxis.title.text, l.yaxis.title.text]; })()"
    )
    assert titles == [f"PC{i + 1}, {100 * r:.1f} % of variance" for i, r in enumerate(result["explained"])]
    latest = [t for t in figure(page, "contour-plot") if t["name"].endswith(" latest")]
    assert [(t["x"], t["y"]) for t in latest] == [([p["a"][-1]], [p["b"][-1]]) for p in result["paths"]]

    # the interpolation: a line per racer over the server's α
    lines = figure(page, "interpolation-plot")
    assert [t["name"] for t in lines] == NAMES
    assert [t["y"] for t in lines] == [pytest.approx(row) for row in result["interpolation"]["loss"]]

    # sharpness: each racer's λmax (Adam's of P⁻¹H) and its threshold, dashed, in the racer's colour
    traces = {t["name"]: t for t in figure(page, "sharpness-plot")}
    assert set(traces) == {"#1 SGD λmax", "#2 Momentum λmax", "#3 Adam λmax(P⁻¹H)"} | {
        f"{n} threshold" for n in NAMES
    }
    expected = [2 / 0.1, (2 + 2 * 0.9) / 0.05, (2 + 2 * 0.9) / ((1 - 0.9) * 0.01)]
    for name, racer, threshold in zip(NAMES, racers, expected, strict=True):
        line = traces[f"{name} threshold"]
        value = next(t for n, t in traces.items() if n.startswith(f"{name} λmax"))
        assert line["dash"] == "dash" and line["color"] == value["color"]
        steps = [p["step"] for p in racer["probes"]]
        assert steps == list(range(0, 6 * 25 + 1, 25))  # every 25 steps of 6 epochs of 25 steps, from 0
        assert line["x"] == steps == value["x"]
        assert {round(v, 6) for v in line["y"]} == {round(threshold, 6)}
        assert any(v is not None and v > 0 for v in value["y"])
    assert watch.errors == [] and foreign(watch, live_server) == set()


def server_race(app, race_id, status):
    """The server's race once it has reached `status` (its racers' processes get there on their own)."""
    race = app.state.races.get(race_id)
    deadline = time.monotonic() + 10
    while race.status != status and time.monotonic() < deadline:
        time.sleep(0.01)
    return race


def test_pause_step_and_resume_reach_every_racer(page, watch, live_server, app):
    page.goto(live_server + LONG)
    page.click("#play")
    every_racer(page, "r.data.evals.length >= 2")
    wait_status(page, "running")
    race_id = page.evaluate("descent.session.id")

    page.click("#pause")
    wait_status(page, "paused")
    race = server_race(app, race_id, "paused")
    assert [run.status for run in race.runs] == ["paused"] * 3
    assert page.locator("#step").is_enabled() and page.locator("#pause").is_disabled()
    assert page.locator("#play").inner_text().strip() == "Resume"
    # every racer takes one step, then evaluates
    before = page.evaluate("descent.session.racers.map((r) => [r.data.stepsDone, r.data.evals.length])")
    page.click("#step")
    page.wait_for_function(
        f"() => descent.session.racers.every((r, k) => r.data.evals.length > {json.dumps(before)}[k][1])"
    )
    after = page.evaluate("descent.session.racers.map((r) => r.data.stepsDone)")
    assert after == [steps + 1 for steps, _ in before]

    page.click("#play")
    wait_status(page, "running")
    assert [run.status for run in server_race(app, race_id, "running").runs] == ["running"] * 3
    page.click("#stop")
    wait_status(page, "ended")
    assert page.locator("#run-status").inner_text() == "stopped"
    assert page.locator("#pause").is_disabled() and page.locator("#stop").is_disabled()
    assert watch.errors == []


def test_a_live_lr_change_reaches_its_racer_and_moves_its_threshold(page, watch, live_server, app):
    page.goto(live_server + LONG)
    page.click("#play")
    page.wait_for_function("() => descent.session.racers[0]?.probes.length >= 2")
    card = page.locator('#racers article[data-racer="0"]')
    assert card.locator("select").is_disabled()  # a racing optimizer stays what it is
    box = card.locator('input.num[data-param="lr"]')
    box.fill("0.05")
    box.press("Enter")
    set_lr = "(c) => c.action === 'set' && c.values.lr === 0.05"
    page.wait_for_function(f"() => descent.session.racers[0].data.controls.some({set_lr})")
    race_id = page.evaluate("descent.session.id")
    assert app.state.races.get(race_id).runs[0].controls is not None
    # the change is marked on the loss curves in the racer's colour; the others are left alone
    marks = "document.getElementById('loss-plot').layout.annotations"
    page.wait_for_function(f"() => {marks}.some((a) => a.text === 'η → 0.05 here')")
    assert page.evaluate("descent.session.racers.slice(1).every((r) => r.data.controls.length === 0)")
    assert "lr:0.05;" in page.url.split("racers=")[1]
    # its next probe's threshold is 2/η at the new η, and η* = η·threshold/λmax is marked on its slider
    page.wait_for_function("() => descent.session.racers[0].probes.at(-1).threshold === 40")
    assert card.locator(".slider .marker").is_visible()
    # the mark and the probe it comes from, read at once (probes keep coming)
    probe, title = page.evaluate(
        "[descent.session.racers[0].probe,"
        " document.querySelector('#racers article[data-racer=\"0\"] .slider .marker').title]"
    )
    assert probe["lr"] == 0.05 and probe["threshold"] == 40 and probe["value"] > 0
    shown = float(re.match(r"η\* = ([0-9.e+-]+)", title).group(1))
    assert shown == pytest.approx(0.05 * 40 / probe["value"], rel=5e-3)  # shown to 3 digits
    line = "document.getElementById('sharpness-plot').data.find((t) => t.name === '#1 SGD threshold')"
    page.wait_for_function(f"() => {line}.y.at(-1) === 40")  # the plot redraws at most every 250 ms
    threshold = next(t for t in figure(page, "sharpness-plot") if t["name"] == "#1 SGD threshold")
    assert threshold["y"][0] == 20 and set(threshold["y"]) == {20, 40}
    assert watch.errors == []


def config_of(url):
    """The race's settings a link holds (its race id and view left out)."""
    query = parse_qs(urlsplit(url).query)
    return {k: v for k, v in query.items() if k not in ("race", "smooth", "logy")}


def test_a_preset_link_replays_the_same_race(page, watch, live_server, app):
    page.goto(live_server + "/lab?epochs=3&seed=7")
    preset = page.evaluate("JSON.parse(document.getElementById('page').textContent).races.presets.moons")
    button = page.locator('#presets button[data-preset="moons"]')
    assert button.get_attribute("aria-pressed") == "false"
    button.click()  # loads the preset and races it
    page.wait_for_function("() => descent.session.finished", timeout=60_000)
    wait_status(page, "ended")
    assert button.get_attribute("aria-pressed") == "true"
    body = page.evaluate("descent.body()")
    for key, value in preset["request"]["training"].items():
        assert body["training"][key] == value, key
    assert [(r["optimizer"], r["hyper"]["lr"]) for r in body["racers"]] == [
        (r["optimizer"], r["hyper"]["lr"]) for r in preset["request"]["racers"]
    ]
    assert body["surface"] == preset["request"]["surface"]
    first = page.evaluate("descent.session.racers.map((r) => r.data.evals.map((e) => e.train_loss))")
    link = page.url
    config = config_of(link)

    # the link without its race: the same settings, and racing them again gives the same curves
    page.goto(live_server + "/lab?" + "&".join(f"{k}={v[0]}" for k, v in config.items()))
    assert page.evaluate("descent.body()") == body
    assert page.locator('#presets button[data-preset="moons"]').get_attribute("aria-pressed") == "true"
    race_to_the_end(page)
    assert page.evaluate("descent.session.racers.map((r) => r.data.evals.map((e) => e.train_loss))") == first
    assert config_of(page.url) == config
    assert watch.errors == []


def test_a_link_with_a_race_re_attaches_to_it(page, watch, live_server):
    page.goto(live_server + FAST)
    race_to_the_end(page)
    race_id = page.evaluate("descent.session.id")
    evals = page.evaluate("descent.session.racers.map((r) => r.data.evals.length)")
    page.goto(page.url)
    page.wait_for_function("() => descent.session.finished")
    assert page.evaluate("descent.session.id") == race_id
    assert page.evaluate("descent.session.racers.map((r) => r.data.evals.length)") == evals
    assert watch.errors == []


def test_a_link_to_a_forgotten_race_keeps_its_settings_and_says_so(page, watch, live_server):
    page.goto(live_server + "/lab?epochs=7&seed=3&race=forgotten")
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert "no longer on the server" in banner.inner_text()
    assert page.evaluate("[descent.state.epochs, descent.state.seed, descent.session.id]") == [7, 3, None]
    page.wait_for_function("() => !location.search.includes('race=')")
    assert page.locator("#play").is_enabled()
    # the one error: Chromium's own line for the 404 that answered the question
    assert [e for e in watch.errors if "status of 404" not in e] == []


def test_the_servers_refusal_shows_by_the_form_and_on_the_racer_it_names(page, watch, live_server):
    where = ["body", "racers", 1, "hyper", "lr"]
    detail = [{"loc": where, "msg": "lr must be at most 10", "type": "value_error"}]

    def refuse(route):
        if route.request.method == "POST":
            route.fulfill(status=422, content_type="application/json", body=json.dumps({"detail": detail}))
        else:
            route.continue_()

    page.goto(live_server + FAST)
    page.route("**/api/races", refuse)
    try:
        page.click("#play")
        banner = page.locator("#banner")
        banner.wait_for(state="visible")
        assert banner.inner_text() == "Could not start the race: racers.1.hyper.lr: lr must be at most 10"
        card = page.locator('#racers article[data-racer="1"]')
        assert card.locator('.param[data-name="lr"] .field-error').inner_text() == "lr must be at most 10"
        wait_status(page, "idle")
        assert page.locator("#play").is_enabled() and page.locator("#stop").is_disabled()
    finally:
        page.unroute("**/api/races", refuse)
    assert [e for e in watch.errors if REFUSED not in e] == []


def test_nothing_is_locked_that_can_act_and_nothing_acts_that_is_locked(page, watch, live_server):
    page.goto(live_server + LONG)
    # before a race: no control acts on a race, the settings are open
    for control in ("#pause", "#step", "#stop", "#recompute"):
        assert page.locator(control).is_disabled(), control
    assert page.locator("#race-settings").is_enabled() and page.locator("#add-racer").is_enabled()
    page.click("#play")
    every_racer(page, "r.data.evals.length >= 3")
    # racing: the shared settings and the racers' optimizers are the race's own; η stays live
    assert page.evaluate("document.getElementById('race-settings').disabled")
    assert page.locator("#locked-note").is_visible()
    assert page.locator("#add-racer").is_disabled()
    assert page.locator('#racers article[data-racer="0"] input.num[data-param="lr"]').is_enabled()
    expect(page.locator("#recompute")).to_be_enabled()  # (not while a background surface computes)
    assert page.locator("#play").is_disabled()
    page.click("#recompute")  # (or a background surface already computing: it shows that one's progress)
    page.wait_for_function("() => descent.session.surface !== null", timeout=30_000)
    assert page.locator("#banner").is_hidden(), page.locator("#banner").inner_text()
    page.click("#stop")
    wait_status(page, "ended")
    assert not page.evaluate("document.getElementById('race-settings').disabled")
    assert page.locator("#play").inner_text().strip() == "Race again"
    assert [e for e in watch.errors if "status of 409" not in e] == []


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_nothing_is_cut_off_or_leaves_its_panel(page, watch, live_server, size, tmp_path):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    try:
        page.goto(live_server + FAST)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=tmp_path / f"lab-idle-{size[0]}x{size[1]}.png")
        problems = page.evaluate(FIND_OVERFLOW, CONTROLS)
        race_to_the_end(page)
        page.screenshot(path=tmp_path / f"lab-raced-{size[0]}x{size[1]}.png")
        problems += page.evaluate(FIND_OVERFLOW, CONTROLS)
        # the page fits the window: its panels scroll, the page never does (into blank space)
        height = page.evaluate("document.documentElement.scrollHeight")
        if height > size[1]:
            problems.append(f"the page is {height} px tall in a {size[1]} px window")
    finally:
        page.set_viewport_size({"width": 1366, "height": 768})
    assert problems == [], f"/lab at {size[0]}×{size[1]}:\n" + "\n".join(problems)
    assert watch.errors == []
