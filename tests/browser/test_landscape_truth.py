"""Every curve, marker and verdict on the landscape page is the run's own.

Random sequences of changes (η, landscape, start, noise, schedule, racers added and removed, the 3D
view), each followed by a check of everything drawn against the core's own race for the settings the
page holds: the map's paths, the side plots' points, the 3D paths, the readout and the cards.
"""

import math
import random
import time

import numpy as np
import pytest

from app.schemas.paths import RaceIn
from core.landscape.landscapes import LANDSCAPES
from core.landscape.paths import Outcome, Steps, race

SIDE_ROWS = 3  # f − f*, distance, η

# What the page holds and what it drew, in one read.
SCREEN = """() => {
  const s = descent.state;
  const fig = (id) => document.getElementById(id);
  const plain = (t) => t && ({
    name: t.name, type: t.type, x: t.x && [...t.x], y: t.y && [...t.y], marker: t.marker,
  });
  const all = (selector) => [...document.querySelectorAll(selector)];
  const texts = (selector, from = 0) => all(selector).slice(from).map((e) => e.textContent);
  return {
    status: document.getElementById('app').dataset.status,
    body: {
      landscape: s.landscape, landscape_params: {...s.lparams}, start: [...s.start], steps: s.steps,
      racers: descent.racers.map((r) => ({optimizer: r.optimizer, hyper: {...r.hyper}})),
      noise: s.noise
        ? {sigma_x: s.sigma_x, sigma_y: s.sigma_y, dataset_size: s.dataset_size, batch_size: s.batch_size}
        : null,
      schedule: s.schedule, schedule_params: {...s.sparams}, seed: s.seed,
    },
    view: s.view,
    follow: descent.cursor.follow,
    colors: descent.racers.map((r) => r.color),
    select: document.getElementById('landscape').value,
    lrBoxes: all('#racers .racer .param[data-name=lr] input.num').map((i) => i.value),
    cards: texts('#racers .racer .racer-status'),
    head: texts('#readout thead th', 1),
    cells: [...document.querySelectorAll('#readout tbody tr')]
      .map((tr) => [...tr.cells].slice(1).map((td) => td.textContent)),
    map: s.view === '3d' ? null : descent.marks.map((m) => ({name: m.label, x: m.path.x, y: m.path.y})),
    side: (fig('side').data ?? []).filter((t) => t.meta !== 'smoothed').map(plain),
    shapes: (fig('side').layout?.shapes ?? [])
      .filter((sh) => sh.type === 'rect').map((sh) => [sh.x0, sh.x1, sh.fillcolor]),
    d3: s.view === '3d'
      ? (fig('surface3d').data ?? []).filter((t) => t.type === 'scatter3d' && t.mode === 'lines').map(plain)
      : null,
  };
}"""


def expected_race(body):
    """The core's race for the page's settings: per racer its path and outcome."""
    parts: dict[int, list[Steps]] = {}
    outcomes: dict[int, Outcome] = {}
    for i, part in race(**RaceIn.model_validate(body).core_args()):
        if isinstance(part, Steps):
            parts.setdefault(i, []).append(part)
        else:
            outcomes[i] = part
    return [(Steps.join(parts[i]), outcomes[i]) for i in range(len(body["racers"]))]


MARK = {"diverged": "✕", "converged": "✓", "left": "⚠"}


def mismatches(screen):
    """Every way the screen differs from the core's race (empty: it is the run)."""
    if screen["status"] != "ready":
        return ["not settled"]
    body = screen["body"]
    ls = LANDSCAPES[body["landscape"]]
    fstar = min(m.value for m in ls.minima)
    runs = expected_race(body)
    n = len(runs)
    found = []
    if screen["select"] != body["landscape"]:
        found.append(f"landscape select shows {screen['select']}, the page ran {body['landscape']}")
    drawn = screen["map"] if screen["map"] is not None else screen["d3"]
    if len(drawn) != n:
        return [*found, f"{len(drawn)} racers drawn, {n} raced"]
    for s, ((steps, outcome), racer) in enumerate(zip(runs, body["racers"], strict=True)):
        label = drawn[s]["name"]
        who = f"racer {s} ({racer['optimizer']}, η={racer['hyper']['lr']})"
        if float(screen["lrBoxes"][s]) != racer["hyper"]["lr"]:
            found.append(f"{who}: η box says {screen['lrBoxes'][s]}")
        xs, ys = steps.x.tolist(), steps.y.tolist()
        if screen["map"] is not None:
            path = screen["map"][s]
            if path["x"] != xs or path["y"] != ys:
                found.append(f"{who}: map path has {len(path['x'])} points, the run {len(xs)}")
        else:
            line = screen["d3"][s]
            if line["x"] != xs or line["y"] != ys:
                found.append(f"{who}: 3D path has {len(line['x'])} points, the run {len(xs)}")
        # side plots: every point drawn is the run's value at that step, up to its last step
        gap = steps.loss - fstar
        mins = np.array([[m.x, m.y] for m in ls.minima])
        dist = np.hypot(steps.x[:, None] - mins[:, 0], steps.y[:, None] - mins[:, 1]).min(axis=1)
        for row, (name, values, rtol) in enumerate(
            (("f − f*", gap, 1e-12), ("distance", dist, 1e-12), ("η", steps.lr, 1e-6))
        ):
            trace = screen["side"][row * n + s]
            if not trace["x"] or trace["x"][-1] != steps.step[-1]:
                found.append(
                    f"{who}: {name} curve ends at step {trace['x'][-1] if trace['x'] else None},"
                    f" the run at {steps.step[-1]}"
                )
                continue
            for k, v in zip(trace["x"], trace["y"], strict=True):
                truth = values[k]
                if v is None:
                    if truth > 0:
                        found.append(f"{who}: {name} at step {k} left out, the run has {truth}")
                        break
                elif truth <= 0 or not math.isclose(v, truth, rel_tol=rtol):
                    found.append(f"{who}: {name} at step {k} drawn as {v}, the run has {truth}")
                    break
        below = {k for k in steps.step[gap <= 0].tolist()}
        shaded = {
            k
            for x0, x1, color in screen["shapes"]
            if color == screen["colors"][s]
            for k in range(math.ceil(x0), math.floor(x1) + 1)
        }
        if below != shaded:
            found.append(f"{who}: steps with f < f* {sorted(below)[:5]}… shaded {sorted(shaded)[:5]}…")
        # the readout at the last step, and the card
        mark = MARK.get(outcome.status)
        head = f"{label}\n{mark} step {outcome.step}" if mark else f"{label}\n "
        if screen["head"][s] != head:
            found.append(f"{who}: readout head {screen['head'][s]!r}, expected {head!r}")
        f_cell = float(screen["cells"][1][s])
        if not math.isclose(f_cell, steps.loss[-1], rel_tol=1e-3, abs_tol=1e-12):
            found.append(f"{who}: readout f {f_cell}, the run ends at {steps.loss[-1]}")
        if outcome.message not in screen["cards"][s]:
            found.append(f"{who}: card says {screen['cards'][s]!r}, the run {outcome.message!r}")
    return found


def settle(page, timeout=20.0):
    """Wait for the page to be idle and everything drawn to agree with the core (or time out)."""
    page.wait_for_selector("#app[data-status=ready]", timeout=timeout * 1000)
    end = time.monotonic() + timeout
    while True:
        screen = page.evaluate(SCREEN)
        found = mismatches(screen)
        if not found or time.monotonic() > end:
            return screen, found
        time.sleep(0.15)


def type_into(page, locator, value):
    locator.fill(str(value))
    locator.press("Enter")


def choose(page, selector, value):
    page.focus(selector)  # as a click on it would: the box typed in last lets go of the focus
    page.select_option(selector, value)


def random_change(page, rng: random.Random, state) -> str:
    """Make one change a user could make, return what it was."""
    kind = rng.choice(["lr", "lr", "landscape", "start", "noise", "schedule", "racers", "3d"])
    cards = page.locator("#racers .racer")
    if kind == "lr":
        s = rng.randrange(cards.count())
        lr = float(f"{state['racers'][s]['hyper']['lr'] * rng.choice([0.3, 0.8, 1.25, 3, 30]):.3g}")
        type_into(page, cards.nth(s).locator(".param[data-name=lr] input.num"), lr)
        return f"racer {s} η → {lr}"
    if kind == "landscape":
        name = rng.choice(sorted(LANDSCAPES))
        choose(page, "#landscape", name)
        return f"landscape → {name}"
    if kind == "start":
        (x0, x1), (y0, y1) = LANDSCAPES[state["landscape"]].domain
        x, y = round(rng.uniform(x0, x1), 2), round(rng.uniform(y0, y1), 2)
        page.fill("#start-x", str(x))
        page.fill("#start-y", str(y))
        page.locator("#start-y").dispatch_event("change")
        return f"start → ({x}, {y})"
    if kind == "noise":
        on = state["noise"] is None
        page.click(f"label:has(#noise-{'on' if on else 'off'})")
        return f"noise {'on' if on else 'off'}"
    if kind == "schedule":
        options = page.eval_on_selector_all("#schedule option", "(os) => os.map((o) => o.value)")
        name = rng.choice(options)
        choose(page, "#schedule", name)
        return f"schedule → {name}"
    if kind == "racers":
        if cards.count() < 6 and (cards.count() == 1 or rng.random() < 0.6):
            page.click("#add-racer")
            return "racer added"
        s = rng.randrange(cards.count())
        cards.nth(s).locator("button[aria-label='Remove racer']").click()
        return f"racer {s} removed"
    view = "contour" if page.evaluate("descent.state.view") == "3d" else "3d"
    page.click(f"label:has(input[name=view][value='{view}'])")
    return f"view → {view}"


@pytest.fixture
def calm_page(browser, live_server):
    """A tab that never plays on its own (reduced motion): the cursor stays at the end of the race."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, reduced_motion="reduce")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.errors = errors
    yield page
    context.close()


def test_a_new_rate_replaces_every_curve_of_the_old_run(calm_page, live_server):
    # A new path that arrives in as many chunks as the old one used to keep the old side curves.
    page = calm_page
    page.goto(f"{live_server}/")
    _, found = settle(page)
    assert found == []
    for lr in ("0.008", "0.009", "0.011"):
        type_into(page, page.locator("#racers .racer").first.locator(".param[data-name=lr] input.num"), lr)
        _, found = settle(page, timeout=5)
        assert found == [], f"after SGD η → {lr}"
    choose(page, "#landscape", "goldstein_price")
    assert settle(page, timeout=5)[1] == []
    choose(page, "#landscape", "saddle")
    assert settle(page, timeout=5)[1] == []
    assert page.errors == []


@pytest.mark.parametrize("seed", [1, 2])
def test_random_changes_never_leave_a_view_that_is_not_the_run(calm_page, live_server, seed):
    page = calm_page
    rng = random.Random(seed)
    page.goto(f"{live_server}/?steps=400")
    screen, found = settle(page)
    assert found == []
    done = []
    for _ in range(14):
        done.append(random_change(page, rng, screen["body"]))
        screen, found = settle(page, timeout=8)
        assert found == [], f"after {done}"
    assert page.errors == []


def test_a_rejected_rate_clears_the_verdict_it_no_longer_describes(calm_page, live_server):
    page = calm_page
    page.goto(f"{live_server}/?landscape=rosenbrock&racers=sgd:lr:0.003")
    settle(page)
    card = page.locator("#racers .racer").first
    assert "diverged at step 4" in card.locator(".racer-status").inner_text()
    type_into(page, card.locator(".param[data-name=lr] input.num"), 1000)
    assert "a number in [" in card.locator(".field-error").first.inner_text()
    assert card.locator(".racer-status").inner_text() == ""
    head = "document.querySelector('#readout thead th:nth-child(2)').textContent"
    end = time.monotonic() + 2
    while not page.evaluate(head).endswith("\n ") and time.monotonic() < end:  # the next frame redraws it
        time.sleep(0.02)
    assert page.evaluate(head) == "SGD\n "


def link_says(page, holds, timeout=2.0):
    """The page's link (saved at most every 200 ms) comes to satisfy `holds`."""
    end = time.monotonic() + timeout
    while not holds(page.evaluate("location.search")):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def first_step_at_or_below(steps, target):
    hit = np.flatnonzero(steps.loss <= target)
    return int(steps.step[hit[0]]) if len(hit) else None


def test_a_replay_draws_its_target_says_when_it_was_reached_and_links_back(calm_page, live_server):
    page = calm_page
    back = "/tools?tool=map&lr_min=0.001"
    page.goto(
        f"{live_server}/?racers=sgd:lr:0.01;adam:lr:0.01&steps=600&target=3&back={back.replace('&', '%26')}"
    )
    screen, found = settle(page)
    assert found == []
    runs = expected_race(screen["body"])
    texts = page.locator("#racers .racer .racer-target").all_inner_texts()
    for (steps, _), text in zip(runs, texts, strict=True):
        k = first_step_at_or_below(steps, 3.0)
        assert k is not None and text == f"◎ target f ≤ 3 reached at step {k}"
    region = page.evaluate(
        "document.getElementById('surface').data.find((t) => t.contours?.type === 'constraint').contours"
    )
    assert region["value"] == 3
    fstar = min(m.value for m in LANDSCAPES["mccormick"].minima)
    lines = page.evaluate(
        "document.getElementById('side').layout.shapes.filter((s) => s.type === 'line' && s.yref === 'y')"
    )
    assert [s["y0"] for s in lines] == [pytest.approx(3 - fstar)]
    link = page.locator("#back-link")
    assert link.is_visible() and link.get_attribute("href") == back
    # another landscape: the target was a loss on this one, so it goes
    choose(page, "#landscape", "rosenbrock")
    settle(page)
    assert page.locator(".racer-target:visible").count() == 0
    assert link_says(page, lambda q: "target=" not in q)


def test_a_link_back_leads_only_to_the_tools_page(calm_page, live_server):
    page = calm_page
    page.goto(f"{live_server}/?back=https://example.org/tools&target=1")
    settle(page)
    assert page.locator("#back-link").is_hidden()


def test_the_side_plots_show_negative_gaps_on_a_linear_axis_and_smooth_on_request(calm_page, live_server):
    page = calm_page
    page.goto(f"{live_server}/?noise=1&seed=0&racers=momentum:lr:0.01")
    screen, found = settle(page)
    assert found == []
    ((steps, outcome),) = expected_race(screen["body"])
    assert outcome.status == "left"
    fstar = min(m.value for m in LANDSCAPES["mccormick"].minima)
    gap = steps.loss - fstar
    page.locator("#side-controls input.cc-log").uncheck()
    page.wait_for_function("() => document.getElementById('side').layout.yaxis.type === 'linear'")
    trace = page.evaluate("document.getElementById('side').data[0]")
    assert min(trace["y"]) < 0  # drawn as it is: below f*
    assert all(v == pytest.approx(gap[k], rel=1e-12) for k, v in zip(trace["x"], trace["y"], strict=True))
    page.locator("#side-controls input[type=range]").fill("0.5")
    page.wait_for_function("() => document.getElementById('side').data.some((t) => t.meta === 'smoothed')")
    raw, smoothed = page.evaluate("document.getElementById('side').data.slice(0, 2)")
    assert (raw["meta"], smoothed["meta"]) == ("raw", "smoothed") and raw["x"] == smoothed["x"]
    ema, last = np.empty_like(gap), 0.0
    for i, v in enumerate(gap):  # TensorBoard's debiased moving average, over every step
        last = 0.5 * last + 0.5 * v
        ema[i] = last / (1 - 0.5 ** (i + 1))
    assert smoothed["y"] == pytest.approx([ema[k] for k in smoothed["x"]], rel=1e-9)
    assert link_says(page, lambda q: "smooth=0.5" in q and "logy=0" in q)


def test_a_replay_that_passes_its_target_on_the_way_out_of_the_domain_is_no_success(calm_page, live_server):
    page = calm_page
    fstar = min(m.value for m in LANDSCAPES["mccormick"].minima)
    target = fstar + 0.5
    page.goto(f"{live_server}/?noise=1&seed=0&racers=momentum:lr:0.01&target={target!r}")
    screen, _ = settle(page)
    ((steps, _),) = expected_race(screen["body"])
    k = first_step_at_or_below(steps, target)
    out = int(steps.step[np.flatnonzero(steps.loss < 2 * fstar - target)[0]])
    text = page.locator(".racer-target").inner_text()
    assert text.startswith(f"◎ target f ≤ {target:.4g} reached at step {k}")
    assert f"fell below f* at step {out}" in text and "no success" in text
    assert page.locator(".racer-target").get_attribute("data-reached") == "false"
