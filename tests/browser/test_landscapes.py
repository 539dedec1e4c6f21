"""The landscape page in a real Chromium: it draws, reacts, shares and stays offline."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Every racer's path as the map's canvas last drew it (descent.marks: what drawTrails was given).
DRAWN = """() => descent.marks.map((m) => ({x: m.path.x, y: m.path.y}))"""

# Idle, and every path drawn whole.
AT_END = """() => {
  const marks = descent.marks;
  const whole = (r, s) => r.data.x.length > 0 && marks[s]?.path.x.length === r.data.x.length;
  return document.getElementById('app').dataset.status === 'ready' && descent.racers.every(whole);
}"""

# How many pixels of the map's canvas are not transparent.
INKED = """() => {
  const c = document.getElementById('trails');
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < px.length; i += 4) n += px[i] > 0;
  return n;
}"""

TRACE = """([id, i]) => {
  const t = document.getElementById(id).data.at(i);
  return {type: t.type, x: t.x, y: t.y, z: t.z, marker: t.marker};
}"""


def ready(page):
    """Wait until no stream is running and everything is drawn, then show every path whole."""
    page.wait_for_selector("#app[data-status=ready]")
    page.click("#to-end")
    page.wait_for_function(AT_END)


def drawn(page):
    return page.evaluate(DRAWN)


def trace(page, figure, i):
    return page.evaluate(TRACE, [figure, i])


def in_link(page, text):
    """The page's link (updated at most every 200 ms) comes to hold `text`."""
    page.wait_for_function("(text) => location.search.includes(text)", arg=text)


def foreign(watch, live_server):
    return watch.hosts - {urlsplit(live_server).netloc, "data", "blob"}


def test_the_page_draws_the_race_offline_without_errors(page, watch, live_server):
    page.goto(live_server)
    ready(page)
    assert watch.errors == []
    assert foreign(watch, live_server) == set(), "requests to other hosts"
    # McCormick from (-1, 2.75) with four racers, each drawn from the start
    assert page.evaluate("descent.state.landscape") == "mccormick"
    surface = trace(page, "surface", 0)
    assert surface["type"] == "contour" and len(surface["z"]) == 120
    assert page.locator("#surface .contourlayer path").count() > 10
    paths = drawn(page)
    assert len(paths) == 4 and all(len(p["x"]) > 50 for p in paths)
    assert all((p["x"][0], p["y"][0]) == (-1, 2.75) for p in paths)
    assert page.evaluate(INKED) > 2000  # the paths are on the canvas
    side = page.evaluate("document.getElementById('side').data.filter(t => t.y.length > 50).length")
    assert side == 3 * 4  # loss, distance and learning rate of each racer
    assert page.locator("#racers .racer").count() == 4


def test_a_learning_rate_slider_changes_the_drawn_path(page, watch, live_server):
    page.goto(live_server)
    ready(page)
    before = drawn(page)
    slider = page.locator("#racers .racer").first.locator("input[type=range]").first
    slider.focus()
    for _ in range(8):
        slider.press("ArrowRight")
    lr = float(page.locator("#racers .racer").first.locator("input.num").first.input_value())
    assert lr > 0.01
    page.wait_for_function(f"() => descent.racers[0].hyper.lr === {lr}")
    ready(page)
    after = drawn(page)
    assert after[0] != before[0], "the changed racer's path is redrawn"
    assert after[1:] == before[1:], "the other racers are untouched"
    in_link(page, f"sgd:lr:{lr!r}")
    assert watch.errors == []


def test_a_click_on_the_map_moves_the_start(page, watch, live_server):
    page.goto(live_server)
    ready(page)
    box = page.locator("#paths .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + 0.25 * box["height"])
    page.wait_for_function("() => descent.state.start[0] !== -1")
    ready(page)
    (x0, x1), (y0, y1) = page.evaluate("descent.surface.domain")
    x, y = page.evaluate("descent.state.start")
    assert x == pytest.approx(x0 + 0.75 * (x1 - x0), abs=0.02 * (x1 - x0))
    assert y == pytest.approx(y1 - 0.25 * (y1 - y0), abs=0.02 * (y1 - y0))
    assert all((p["x"][0], p["y"][0]) == (x, y) for p in drawn(page))
    in_link(page, f"start={x!r},{y!r}")
    assert watch.errors == []


def test_a_copied_link_draws_the_same_paths(page, watch, live_server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page.goto(f"{live_server}/?landscape=himmelblau")
    ready(page)
    page.click("label:has(#noise-on)")
    page.fill("#seed", "7")
    page.press("#seed", "Enter")
    adam = page.locator("#racers .racer[data-optimizer=adam] input.num").first
    adam.fill("0.123")
    adam.press("Enter")
    page.wait_for_function("() => descent.state.seed === 7 && descent.racers[2].hyper.lr === 0.123")
    ready(page)
    page.click("#copy-link")
    expect_copied = "() => document.getElementById('share-status').textContent.startsWith('Link copied')"
    page.wait_for_function(expect_copied)
    link = page.evaluate("navigator.clipboard.readText()")
    assert "noise=1" in link and "seed=7" in link and "adam:lr:0.123" in link
    original = drawn(page)

    other = page.context.new_page()
    other.goto(link)
    ready(other)
    assert drawn(other) == original
    assert other.evaluate("descent.state") == page.evaluate("descent.state")
    other.close()
    assert watch.errors == []


def test_a_diverging_learning_rate_ends_with_a_cross_and_a_message(page, watch, live_server):
    page.goto(f"{live_server}/?landscape=rosenbrock&steps=500&racers=sgd:lr:0.01;adam:lr:0.01")
    ready(page)
    escapes = page.evaluate("descent.marks.map((m) => m.escape && {color: m.color, end: m.escape.end})")
    assert escapes[1] is None and escapes[0]["color"] == page.evaluate("descent.racers[0].color")
    status = page.locator(".racer[data-outcome=diverged] .racer-status")
    assert status.count() == 1
    assert "diverged at step" in status.inner_text()
    # the diverged racer keeps its path up to the last finite point, and Adam its whole path
    assert [len(p["x"]) > 0 for p in drawn(page)] == [True, True]
    assert watch.errors == []


def test_the_3d_toggle_draws_the_surface_with_the_paths(page, watch, live_server):
    page.goto(live_server)
    ready(page)
    page.click("label:has(input[name=view][value='3d'])")
    page.wait_for_function(
        """() => {
          const data = document.getElementById('surface3d').data;
          const paths = data?.filter((t) => t.type === 'scatter3d' && t.x.length > 50) ?? [];
          return data?.[0].type === 'surface' && paths.length === 4;
        }"""
    )
    assert page.locator("#surface3d canvas").count() > 0
    assert page.locator("#paths").is_hidden()
    in_link(page, "view=3d")
    page.click("label:has(input[name=view][value='contour'])")
    page.wait_for_function("() => !document.getElementById('paths').hidden")
    assert watch.errors == []


def test_space_toggles_play_and_arrows_step(page, watch, live_server):
    page.goto(live_server)
    ready(page)
    app = page.locator("#app")
    page.locator("#readout").click()  # focus away from any control
    page.keyboard.press(" ")
    assert app.get_attribute("data-playing") == "true"
    page.keyboard.press(" ")
    assert app.get_attribute("data-playing") == "false"
    k = page.evaluate("descent.cursor.k")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("descent.cursor.k") == k + 2
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("descent.cursor.k") == k + 1
    assert watch.errors == []


def test_the_api_docs_render_offline(page, watch, live_server):
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".opblock")
    operations = page.locator(".opblock .opblock-summary-path").all_inner_texts()
    assert "/api/paths" in operations and "/api/surface" in operations and "/api/stability" in operations
    assert foreign(watch, live_server) == set()
    assert watch.errors == []


START_PX = """() => {
  const gd = document.getElementById('paths');
  const full = gd._fullLayout, box = gd.getBoundingClientRect();
  const [x0, x1] = full.xaxis.range, [y0, y1] = full.yaxis.range;
  const [x, y] = descent.state.start;
  return [box.left + full.xaxis._offset + (x - x0) / (x1 - x0) * full.xaxis._length,
          box.top + full.yaxis._offset + (y1 - y) / (y1 - y0) * full.yaxis._length];
}"""


FIRST_POINT = "(m => m.path.x.length ? [m.path.x[0], m.path.y[0]] : null)(descent.marks[0])"
RANGES = "[document.getElementById('paths')._fullLayout.xaxis.range.slice()]"


def test_dragging_the_start_redraws_the_paths_while_it_moves(page, watch, live_server):
    page.goto(f"{live_server}/?steps=300")
    ready(page)
    ranges = page.evaluate(RANGES)
    sx, sy = page.evaluate(START_PX)
    page.mouse.move(sx, sy)
    page.mouse.down()
    starts = set()
    for i in range(1, 13):
        page.mouse.move(sx + 12 * i, sy + 9 * i)
        page.wait_for_timeout(60)
        starts.add(tuple(page.evaluate(FIRST_POINT) or ()))
    page.mouse.up()
    ready(page)
    x, y = page.evaluate("descent.state.start")
    assert (x, y) != (-1, 2.75) and x > -1 and y < 2.75
    assert len(starts - {()}) >= 4, "the paths were redrawn from new starts during the drag"
    assert all((p["x"][0], p["y"][0]) == (x, y) for p in drawn(page))
    assert page.evaluate(RANGES) == ranges  # no zoom
    in_link(page, f"start={x!r},{y!r}")
    assert watch.errors == []


def test_the_exported_image_and_the_3d_view_carry_a_legend_and_the_settings(page, watch, live_server):
    page.goto(f"{live_server}/?landscape=rosenbrock&racers=sgd:lr:0.001;adam:lr:0.02&noise=1&seed=5")
    ready(page)
    page.evaluate("window.Plotly.downloadImage = async (figure) => { window.exported = figure; }")
    page.click("#download-png")
    page.wait_for_function("() => window.exported !== undefined")
    figure = page.evaluate("""({
      legend: exported.layout.showlegend,
      names: exported.data.filter((t) => t.showlegend).map((t) => t.name),
      caption: exported.layout.annotations.map((a) => a.text).join(' '),
    })""")
    assert figure["legend"] and figure["names"] == ["SGD", "Adam"]
    for text in ("Rosenbrock", "from (-1.5, 2.5)", "seed 5", "SGD lr=0.001", "Adam lr=0.02"):
        assert text in figure["caption"]
    page.click("label:has(input[name=view][value='3d'])")
    page.wait_for_function("() => document.getElementById('surface3d').layout?.annotations?.length > 0")
    view = page.evaluate("""(({layout}) => ({legend: layout.showlegend, caption: layout.annotations[0].text}))
      (document.getElementById('surface3d'))""")
    assert view["legend"] and "Adam lr=0.02" in view["caption"] and "Rosenbrock" in view["caption"]
    assert watch.errors == []


EIGHT = "/?racers=sgd;momentum;adam;rmsprop;amsgrad;nadam;adagrad;adamw"
FIND_OVERFLOW = "\n".join(
    line
    for line in (Path(__file__).parent / "overflow.js").read_text().splitlines()
    if not line.startswith("//")
)
CONTROLS = "button, input:not([type=hidden]), select, a, output, label, [role=status], .key"

# The readout, the racers panel and the map's key, as laid out.
LAYOUT = """() => {
  const box = (el) => el.getBoundingClientRect();
  const readout = document.querySelector('.readout');
  const panel = box(document.querySelector('.racers-panel'));
  const whole = [...document.querySelectorAll('#racers .racer')]
    .filter((c) => box(c).top >= panel.top - 1 && box(c).bottom <= panel.bottom + 1).length;
  const key = box(document.getElementById('map-key')), map = box(document.getElementById('map-stack'));
  return {
    rowsCut: readout.scrollHeight > readout.clientHeight + 1,
    columnsHidden: readout.scrollWidth > readout.clientWidth + 1,
    scrolls: getComputedStyle(readout).overflowX,
    cue: readout.classList.contains('more-right'),
    wholeCards: whole,
    keyShown: key.width > 0 && key.left >= map.left && key.right <= map.right && key.bottom <= map.bottom,
  };
}"""


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_eight_racers_fit_a_laptop_screen(page, watch, live_server, size, tmp_path):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    try:
        page.goto(live_server + EIGHT)
        ready(page)
        page.wait_for_timeout(300)  # a resize observer's redraw
        page.screenshot(path=tmp_path / f"landscapes-{size[0]}x{size[1]}.png")
        problems = page.evaluate(FIND_OVERFLOW, CONTROLS)
        layout = page.evaluate(LAYOUT)
    finally:
        page.set_viewport_size({"width": 1366, "height": 768})
    assert problems == [], "\n".join(problems)
    assert not layout["rowsCut"], "every readout row shows, AMSGrad's v_max included"
    # eight columns do not fit: the readout scrolls sideways and its edge says there is more
    assert not layout["columnsHidden"] or (layout["scrolls"] == "auto" and layout["cue"])
    assert layout["wholeCards"] >= 2 and layout["keyShown"]
    assert watch.errors == []
