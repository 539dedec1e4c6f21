"""The tuning tools in a real Chromium: every tool draws offline, and what it finds opens the playground."""

import math
from urllib.parse import parse_qs, urlsplit

import pytest

from core.tuning import DIVERGED

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


def playground_state(page):
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


def test_the_range_test_suggests_a_rate_and_opens_the_playground_with_it(page, watch, live_server):
    open_tool(page, live_server, "tool=range&landscape=quadratic&racers=sgd&steps=200")
    result = page.evaluate("tools.results.range.data")
    lr = result["suggested_lr"]
    assert 0.01 < lr < 0.2 and lr < result["lr"][result["divergence"]]  # GD's limit here is 2/κ = 0.2
    assert page.locator("#range-verdict").inner_text().count("η = ") == 1
    page.click("#use-rate")
    page.wait_for_url(f"{live_server}/?*")
    state = playground_state(page)
    assert state["landscape"] == "quadratic"
    assert [(r["optimizer"], r["hyper"]["lr"]) for r in state["racers"]] == [("sgd", lr)]
    assert watch.errors == []


def click_cell(page, figure, x, y):
    """Click the point (x, y), in the figure's data coordinates, with the mouse."""
    box = page.evaluate(
        """([id, x, y]) => {
          const gd = document.getElementById(id), L = gd._fullLayout, r = gd.getBoundingClientRect();
          return [r.left + L._size.l + L.xaxis.l2p(x), r.top + L._size.t + L.yaxis.l2p(y)];
        }""",
        [figure, x, y],
    )
    page.mouse.click(*box)


def test_clicking_a_map_cell_replays_that_run_in_the_playground(page, watch, live_server):
    open_tool(page, live_server, "tool=map&racers=momentum&m_nx=12&m_ny=8&steps=300")
    r = page.evaluate("tools.results.map")
    d = r["data"]
    assert d["y_name"] == "gamma"
    i, j = 5, 7  # a cell inside the map, picked by its indices and clicked by its coordinates
    y = -math.log10(1 - d["y"][i])  # the γ axis is laid out as −log10(1 − γ)
    click_cell(page, "map-plot", math.log10(d["lr"][j]), y)
    page.wait_for_url(f"{live_server}/?*")
    state = playground_state(page)
    (racer,) = state["racers"]
    assert racer["optimizer"] == "momentum"
    assert racer["hyper"]["lr"] == d["lr"][j] and racer["hyper"]["gamma"] == d["y"][i]
    assert state["steps"] == r["body"]["steps"] == 300 and state["start"] == [-1, 2.75]
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
