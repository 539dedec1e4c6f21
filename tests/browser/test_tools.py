"""The tuning tools in a real Chromium: every tool draws offline, what it finds opens its replay on the
landscape page with the tool's target and a link back, and nothing on the page overflows."""

import math
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from core.landscape.landscapes import get_landscape
from core.landscape.tuning import DIVERGED, global_value

NOISE = "noise=1&sigma_x=16&sigma_y=4&dataset_size=2000&batch_size=32"

# What each tool drew: the traces of its figures (type and how many points or cells).
DRAWN = """(ids) => ids.map((id) => document.getElementById(id).data.map((t) => ({
  type: t.type,
  n: t.type === 'heatmap' ? t.z.flat().filter((v) => v !== null).length : (t.x || []).length,
})))"""


def foreign(watch, live_server):
    return watch.hosts - {urlsplit(live_server).netloc, "data", "blob"}


def open_tool(page, live_server, query):
    page.goto(f"{live_server}/tools?{query}")
    tool = parse_qs(query)["tool"][0]
    page.wait_for_selector(f"#tool-{tool}[data-status=ready]")
    page.wait_for_selector("#app[data-status=ready]")


def link_fields(href):
    """The query fields of a link to the landscape page (each field once)."""
    parts = urlsplit(href)
    assert parts.path == "/", href
    fields = parse_qs(parts.query, keep_blank_values=True)
    assert all(len(v) == 1 for v in fields.values()), fields
    return {k: v[0] for k, v in fields.items()}


def landscape_page_state(page):
    """The landscape page's state once it has opened (its racers and noise as parsed from the link)."""
    page.wait_for_function("() => window.descent && window.descent.state && window.descent.racers.length > 0")
    return page.evaluate("descent.state")


@pytest.mark.parametrize(
    ("query", "figures"),
    [
        ("tool=range", ["range-plot"]),
        ("tool=map&m_nx=30&m_ny=20", ["map-plot"]),
        ("tool=starts&s_n=20&landscape=himmelblau", ["starts-plot"]),
        (f"tool=seeds&b_n=20&t_n=4&{NOISE}", ["fan-plot", "band-plot", "tradeoff-plot"]),
    ],
    ids=["range", "map", "starts", "seeds"],
)
def test_each_tool_draws_offline_without_errors(page, watch, live_server, query, figures):
    open_tool(page, live_server, query)
    if "seeds" in query:  # its second figure (the trade-off grid) has its own request
        page.wait_for_function("() => window.tools.results.tradeoff && window.tools.results.seeds")
    drawn = page.evaluate(DRAWN, figures)
    for traces in drawn:
        assert sum(t["n"] for t in traces) > 20, traces
    assert page.locator(".tool:not([hidden]) .field-error:not(:empty)").count() == 0
    assert watch.errors == []
    assert foreign(watch, live_server) == set(), "requests to other hosts"


def test_the_range_test_suggests_a_rate_and_opens_the_landscape_page_with_it(page, watch, live_server):
    open_tool(page, live_server, "tool=range&landscape=quadratic&racers=sgd&steps=200")
    result = page.evaluate("tools.results.range.data")
    lr = result["suggested_lr"]
    assert 0.01 < lr < 0.2 and lr < result["lr"][result["divergence"]]  # GD's limit here is 2/κ = 0.2
    verdict = page.locator("#range-verdict").inner_text()
    assert verdict.count("η = ") == 2  # the rate, and the next one, which diverges
    assert page.locator("#use-rate").inner_text() == "Use this rate on the Landscapes page →"
    page.click("#use-rate")
    page.wait_for_url(f"{live_server}/?*")
    state = landscape_page_state(page)
    assert state["landscape"] == "quadratic"
    assert [(r["optimizer"], r["hyper"]["lr"]) for r in state["racers"]] == [("sgd", lr)]
    assert watch.errors == []


def click_cell(page, figure, x, y):
    """Click the point (x, y), in the figure's data coordinates, with the mouse."""
    box = page.evaluate(
        """([id, x, y]) => {
          const gd = document.getElementById(id), L = gd._fullLayout, r = gd.getBoundingClientRect();
          return [r.left + L.xaxis._offset + L.xaxis.l2p(x), r.top + L.yaxis._offset + L.yaxis.l2p(y)];
        }""",
        [figure, x, y],
    )
    page.mouse.click(*box)


def test_clicking_a_map_cell_replays_that_run_on_the_landscape_page(page, watch, live_server):
    open_tool(page, live_server, "tool=map&racers=momentum&m_nx=12&m_ny=8&steps=300")
    r = page.evaluate("tools.results.map")
    d = r["data"]
    assert d["y_name"] == "gamma"
    i, j = 5, 7  # a cell inside the map, picked by its indices and clicked by its coordinates
    y = -math.log10(1 - d["y"][i])  # the γ axis is laid out as −log10(1 − γ)
    with page.expect_request(lambda req: req.resource_type == "document") as opened:
        click_cell(page, "map-plot", math.log10(d["lr"][j]), y)
    page.wait_for_url(f"{live_server}/?*")
    state = landscape_page_state(page)
    (racer,) = state["racers"]
    assert racer["optimizer"] == "momentum"
    assert racer["hyper"]["lr"] == d["lr"][j] and racer["hyper"]["gamma"] == d["y"][i]
    assert state["steps"] == r["body"]["steps"] == 300 and state["start"] == [-1, 2.75]
    fields = link_fields(opened.value.url)  # as it was opened: the landscape page may rewrite its link
    assert float(fields["target"]) == d["target"] and fields["back"].startswith("/tools?")
    assert watch.errors == []


def test_a_map_replay_link_carries_the_maps_target_and_a_link_back_to_the_same_map(page, watch, live_server):
    query = "tool=map&landscape=mccormick&racers=momentum&m_nx=14&m_ny=9&m_lo=0.001&m_hi=0.5&steps=250"
    query += "&m_color=loss"
    open_tool(page, live_server, query)
    first = page.evaluate("tools.results.map")
    d = first["data"]
    href = page.get_attribute("#fastest", "href")
    fields = link_fields(href)
    # the target: exact, and the map's own criterion (f* + the tolerance, first step at or below it)
    assert float(fields["target"]) == d["target"]
    assert d["target"] > global_value(get_landscape("mccormick"))
    cells = [(i, j) for i in range(len(d["y"])) for j in range(len(d["lr"]))]
    at = lambda name, i, j: d[name][i][j]  # noqa: E731
    left = [c for c in cells if at("escaped_at", *c) >= 0]
    kept = [c for c in cells if at("escaped_at", *c) < 0 and at("diverged_at", *c) == 0]
    # cells that reach the target on their way out of the domain are no success: the fastest is another
    fastest = min(at("steps_to_target", *c) for c in kept if at("steps_to_target", *c) >= 0)
    assert min(at("steps_to_target", *c) for c in left if at("steps_to_target", *c) >= 0) < fastest
    assert f"in {fastest} steps" in page.locator("#map-verdict").inner_text()
    share = round(100 * len(left) / len(cells))
    assert f"left the domain (f fell below f*): {share}%" in page.locator("#map-legend").inner_text()
    # back: this page as it was, which asks for the very same map again
    back = fields["back"]
    assert back.startswith("/tools?") and parse_qs(urlsplit(back).query)["tool"] == ["map"]
    page.goto("about:blank")
    page.goto(f"{live_server}{back}")
    page.wait_for_selector("#tool-map[data-status=ready]")
    again = page.evaluate("tools.results.map")
    assert again["body"] == first["body"] and again["data"] == d
    assert page.locator("#map-color").input_value() == "loss"
    assert watch.errors == []


def test_using_the_rate_keeps_the_whole_race_and_changes_only_the_tuned_racers_rate(page, watch, live_server):
    racers = "sgd:lr:0.01;adam:lr:0.05;momentum:lr:0.02,gamma:0.8;rmsprop"
    open_tool(page, live_server, f"tool=range&landscape=quadratic&racers={racers}&steps=200")
    # the tools page's own link keeps every racer (a reload keeps the race)
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('racers')?.split(';').length === 4"
    )
    kept = [racer.split(":", 1) for racer in parse_qs(urlsplit(page.url).query)["racers"][0].split(";")]
    settings = [dict(pair.split(":") for pair in (rest[0].split(",") if rest else [])) for _, *rest in kept]
    assert [name for name, *_ in kept] == ["sgd", "adam", "momentum", "rmsprop"]
    assert settings[1]["lr"] == "0.05" and (settings[2]["lr"], settings[2]["gamma"]) == ("0.02", "0.8")
    lr = page.evaluate("tools.results.range.data.suggested_lr")
    target = page.evaluate("tools.results.range.data.target")
    href = page.get_attribute("#use-rate", "href")
    assert float(link_fields(href)["target"]) == target
    page.click("#use-rate")
    page.wait_for_url(f"{live_server}/?*")
    state = landscape_page_state(page)
    got = [(r["optimizer"], r["hyper"]["lr"]) for r in state["racers"]]
    assert got == [("sgd", lr), ("adam", 0.05), ("momentum", 0.02), ("rmsprop", got[3][1])]
    assert state["racers"][2]["hyper"]["gamma"] == 0.8
    assert watch.errors == []


def test_the_himmelblau_start_map_shows_four_basins(page, watch, live_server):
    open_tool(page, live_server, "tool=starts&landscape=himmelblau&racers=sgd&s_n=24")
    minimum = page.evaluate("tools.results.starts.data.minimum")
    cells = [v for row in minimum for v in row]
    for k in range(4):
        assert cells.count(k) > 0.15 * len(cells), f"basin {k}"
    assert DIVERGED not in cells
    # drawn: one heatmap per minimum, each with its basin's cells
    traces = page.evaluate(DRAWN, ["starts-plot"])[0]
    basins = [t["n"] for t in traces if t["type"] == "heatmap"][2:6]
    assert basins == [cells.count(k) for k in range(4)]
    # the table fills in for every optimizer; SGD's row says all starts end in a global minimum
    page.wait_for_selector("#tool-starts[data-table=done]")
    row = page.locator("#starts-table tr[data-optimizer=sgd]")
    assert row.locator("td.global").inner_text() == "100%"
    assert "…" not in page.locator("#starts-table").inner_text()
    assert watch.errors == []


def test_a_start_replays_with_the_target_of_the_minimum_it_reached(page, watch, live_server):
    open_tool(page, live_server, "tool=starts&landscape=mccormick&racers=momentum&s_n=16&steps=400")
    d = page.evaluate("tools.results.starts.data")
    ls = get_landscape("mccormick")
    local = next(k for k, m in enumerate(ls.minima) if not m.is_global)
    inside = range(1, 15)  # a start inside the grid, where a click cannot miss the map
    i, j = next((i, j) for i in inside for j in inside if d["minimum"][i][j] == local)
    assert d["targets"][local] == ls.minima[local].value + d["tolerance"] > min(d["targets"])
    with page.expect_request(lambda req: req.resource_type == "document") as opened:
        click_cell(page, "starts-plot", d["x"][j], d["y"][i])
    fields = link_fields(opened.value.url)
    assert float(fields["target"]) == d["targets"][local]
    assert fields["start"] == f"{d['x'][j]!r},{d['y'][i]!r}".replace(".0,", ",").removesuffix(".0")
    assert parse_qs(urlsplit(fields["back"]).query)["tool"] == ["starts"]
    page.wait_for_url(f"{live_server}/?*")  # the replay opens before the next test's page
    page.wait_for_selector("#app[data-status=ready]")
    assert watch.errors == []


def test_the_landscape_page_opens_the_tools_with_its_first_racer(page, watch, live_server):
    page.goto(f"{live_server}/?landscape=booth&racers=adam:lr:0.05;sgd&start=-5,4&steps=300")
    page.wait_for_selector("#app[data-status=ready]")
    page.click("#tune")
    page.wait_for_url(f"{live_server}/tools?*")
    page.wait_for_selector("#app[data-status=ready]")
    state = page.evaluate("tools.state")
    assert (state["landscape"], state["optimizer"], state["hyper"]["lr"]) == ("booth", "adam", 0.05)
    assert state["start"] == [-5, 4] and state["steps"] == 300
    assert page.locator("#optimizer").input_value() == "adam"
    assert watch.errors == []


MOMENTUM_NOISE = "racers=momentum:lr:0.01,gamma:0.9&" + NOISE
LEFT_COLOR = "#8c564b"


def test_seeds_that_leave_the_domain_are_counted_out_and_drawn_as_such(page, watch, live_server):
    # momentum on McCormick with noise: 3 of 40 seeds slide out along x = y, where f falls below f*
    open_tool(page, live_server, f"tool=seeds&landscape=mccormick&{MOMENTUM_NOISE}&steps=300&b_n=40&t_n=2")
    page.wait_for_function("() => window.tools.results.tradeoff && window.tools.results.seeds")
    d = page.evaluate("tools.results.seeds.data")
    left = [j for j, k in enumerate(d["escaped_at"]) if k >= 0]
    assert len(left) == 3
    assert "3 of 40 seeds left the domain" in page.locator("#seeds-left").inner_text()
    assert page.locator("#seeds-stats .big").inner_text() == f"{round(100 * d['success'])}%" == "38%"
    # the band drawn is the server's statistics over the seeds still in, as f − f*: none lies below
    # f* − tol, so nothing is lifted from below f* to the floor; the hover gives each exact value
    f_star = global_value(get_landscape("mccormick"))
    floor = (d["target"] - f_star) * 1e-3
    drawn = page.evaluate("document.getElementById('band-plot').data.map((t) => [t.y, t.customdata])")
    for (y, hover), name in zip(drawn, ("low", "high", "median", "mean"), strict=False):
        assert y == [max(v - f_star, floor) for v in d[name]]
        assert min(d[name]) > f_star - (d["target"] - f_star)
        assert len(hover) == len(d[name])
    # each escaped seed's path is drawn in the colour of its own, named in the key
    colours = page.evaluate(
        "document.getElementById('fan-plot').data"
        ".filter((t) => t.meta !== undefined).map((t) => [t.meta, t.line.color])"
    )
    assert sorted(seed for seed, colour in colours if colour == LEFT_COLOR) == [d["seeds"][j] for j in left]
    assert "left the domain" in page.locator("#seeds-stats .note").inner_text()
    assert watch.errors == []


# The tick labels of every axis of a figure, with their boxes on screen.
TICKS = """(id) => [...document.getElementById(id).querySelectorAll('g[class$="tick"] text')]
  .filter((t) => t.textContent && t.getBBox().width > 0)
  .map((t) => {
    const r = t.getBoundingClientRect();
    const box = [r.left, r.top, r.right, r.bottom];
    return { axis: t.parentNode.getAttribute('class'), text: t.textContent, box };
  })"""
POWER = "(1|10|10⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)"
LOG_LABEL = re.compile(rf"^({POWER}|[25]·{POWER})$")


@pytest.mark.parametrize(
    ("query", "figure", "log_axes"),
    [
        ("tool=range&landscape=rosenbrock&racers=sgd", "range-plot", {"ytick", "x2tick"}),
        (f"tool=seeds&landscape=mccormick&{MOMENTUM_NOISE}&steps=300&b_n=40&t_n=2", "band-plot", {"ytick"}),
    ],
    ids=["range", "band"],
)
def test_log_axes_label_decades_only_and_no_labels_collide(page, watch, live_server, query, figure, log_axes):
    open_tool(page, live_server, query)
    ticks = page.evaluate(TICKS, figure)
    for axis in log_axes:
        labels = [t for t in ticks if t["axis"].split()[0] == axis]
        assert len(labels) >= 2, (axis, ticks)
        assert all(LOG_LABEL.match(t["text"]) for t in labels), [t["text"] for t in labels]
    for k, a in enumerate(ticks):  # no two labels overlap, on any axis
        for b in ticks[k + 1 :]:
            (l1, t1, r1, b1), (l2, t2, r2, b2) = a["box"], b["box"]
            assert r1 <= l2 or r2 <= l1 or b1 <= t2 or b2 <= t1, (a, b)
    assert watch.errors == []


# Everything that overflows its box on the tools page: a scrolled-off text, a field whose value is cut,
# an element outside its panel (sideways; downwards too unless the panel scrolls), or a figure's titles
# and tick labels outside the figure.
OVERFLOWS = """() => {
  const out = [];
  const name = (el) => {
    const text = (el.textContent || el.value || '').trim().slice(0, 40);
    return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')} "${text}"`;
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const beyond = (r, o, down = true) => r.left < o.left - 1 || r.right > o.right + 1
    || (down && (r.top < o.top - 1 || r.bottom > o.bottom + 1));
  if (document.documentElement.scrollWidth > innerWidth + 1) out.push('the page scrolls sideways');
  const tool = '#app .tool:not([hidden])';
  const boxes = document.querySelectorAll(`#app .controls, #app .tabs, ${tool} .toolbar, ${tool} .panel`);
  for (const box of boxes) {
    if (!shown(box)) continue;
    const outer = box.getBoundingClientRect();
    const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowY);
    if (box.scrollWidth > box.clientWidth + 1) out.push(`${name(box)} scrolls sideways`);
    for (const el of box.querySelectorAll('*')) {
      if (el.closest('.plot') || !shown(el)) continue;
      const cs = getComputedStyle(el);
      const clips = ['hidden', 'auto', 'scroll', 'clip'].includes(cs.overflowX)
        || ['INPUT', 'SELECT'].includes(el.tagName);
      if (clips && el.scrollWidth > el.clientWidth + 1) out.push(`${name(el)} cut: ${el.scrollWidth} px`);
      if (beyond(el.getBoundingClientRect(), outer, !scrolls)) out.push(`${name(el)} outside ${name(box)}`);
    }
  }
  const texts = ['.g-xtitle', '.g-ytitle', '.g-x2title', '.g-y2title', '.g-gtitle', 'g[class$="tick"]']
    .map((c) => `${c} text`).join(', ') + ', .annotation-text';
  for (const plot of document.querySelectorAll(`${tool} .plot`)) {
    const outer = plot.getBoundingClientRect();
    for (const t of plot.querySelectorAll(texts)) {
      const r = t.getBoundingClientRect();
      if (r.width > 0 && beyond(r, outer)) out.push(`${plot.id}: "${t.textContent}" outside the figure`);
    }
  }
  return out;
}"""

LAYOUT = {
    "range": "tool=range&landscape=rosenbrock&racers=sgd",
    "map": "tool=map&landscape=mccormick&racers=momentum&m_nx=30&m_ny=20",
    "starts": "tool=starts&landscape=himmelblau&racers=sgd&s_n=20",
    "seeds": f"tool=seeds&landscape=mccormick&{MOMENTUM_NOISE}&steps=300&b_n=40&t_n=4",
}


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900)], ids=["1280x720", "1440x900"])
@pytest.mark.parametrize("tool", list(LAYOUT))
def test_nothing_overflows_its_box(page, watch, live_server, tool, size, tmp_path):
    before = page.viewport_size
    page.set_viewport_size({"width": size[0], "height": size[1]})
    try:
        open_tool(page, live_server, LAYOUT[tool])
        if tool == "seeds":
            page.wait_for_function("() => window.tools.results.tradeoff && window.tools.results.seeds")
        if tool == "starts":
            page.wait_for_selector("#tool-starts[data-table=done]")
        page.wait_for_timeout(300)  # the figures take their containers' final size
        page.screenshot(path=tmp_path / f"tools-{tool}-{size[0]}x{size[1]}.png")
        assert page.evaluate(OVERFLOWS) == []
    finally:
        page.set_viewport_size(before)
    assert watch.errors == []


def test_the_seed_band_smooths_its_mean_and_switches_to_a_linear_axis(page, watch, live_server):
    open_tool(page, live_server, f"tool=seeds&landscape=mccormick&{MOMENTUM_NOISE}&steps=300&b_n=20&t_n=2")
    page.wait_for_function("() => window.tools.results.seeds")
    d = page.evaluate("tools.results.seeds.data")
    f_star = min(m.value for m in get_landscape("mccormick").minima)
    page.locator("[aria-label='Seed band log scale']").uncheck()
    page.wait_for_function("() => document.getElementById('band-plot').layout.yaxis.type === 'linear'")
    mean = page.evaluate("document.getElementById('band-plot').data[3].y")
    assert mean == pytest.approx([v - f_star for v in d["mean"]], rel=1e-12, abs=1e-12)  # unclipped
    page.locator("[aria-label='Seed band smoothing']").fill("0.5")
    page.wait_for_function(
        "() => document.getElementById('band-plot').data.some((t) => t.meta === 'smoothed')"
    )
    smoothed = page.evaluate("document.getElementById('band-plot').data.find((t) => t.meta === 'smoothed').y")
    last, expected = 0.0, []
    for i, v in enumerate(d["mean"]):
        last = 0.5 * last + 0.5 * v
        expected.append(last / (1 - 0.5 ** (i + 1)) - f_star)
    assert smoothed == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert watch.errors == []
