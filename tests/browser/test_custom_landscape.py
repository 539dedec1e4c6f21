"""Your own function in a real Chromium: typed in on the landscape page it races, marks its numerically
found minima and travels in the link; a refused formula is shown next to its box; the tools measure it
and the run log opens its races again."""

from urllib.parse import parse_qs, quote, urlsplit

import numpy as np
import pytest

from core.landscape.custom import custom_landscape

TEXT = "x**2 + 3*y**2 + sin(3*x)"
DOMAIN = "-2,2,-1.5,1.5"
LINK = f"landscape=custom&expr={quote(TEXT, safe='')}&domain={DOMAIN}"

AT_END = """() => {
  const marks = descent.marks;
  const whole = (r, s) => r.data.x.length > 0 && marks[s]?.path.x.length === r.data.x.length;
  return document.getElementById('app').dataset.status === 'ready' && descent.racers.every(whole);
}"""

# The minima the map marks: the foreground figure's stars (global) and diamonds (local).
MARKED = """() => document.getElementById('paths').data
  .filter((t) => t.marker && /star|diamond/.test(t.marker.symbol))
  .flatMap((t) => t.x.map((x, i) => [x, t.y[i]]))"""


def ready(page):
    page.wait_for_selector("#app[data-status=ready]")
    page.click("#to-end")
    page.wait_for_function(AT_END)


def link(page):
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


@pytest.fixture
def no_dialogs(page):
    """An alert, confirm or prompt fails the test: errors belong next to the box."""
    seen = []

    def handler(dialog):
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", handler)
    yield seen
    page.remove_listener("dialog", handler)
    assert seen == []


def test_a_typed_formula_races_marks_its_minima_and_travels_in_the_link(page, watch, live_server, no_dialogs):
    page.goto(live_server)
    ready(page)
    assert page.locator("#custom-editor").is_hidden()
    page.select_option("#landscape", "custom")
    assert page.locator("#custom-editor").is_visible()
    assert page.get_attribute("#custom-expr", "placeholder") == "(1 - x)**2 + 100*(y - x**2)**2"
    page.fill("#custom-expr", TEXT)
    page.fill("#custom-domain", DOMAIN)
    page.press("#custom-expr", "Enter")
    page.wait_for_function("() => descent.state.landscape === 'custom'")
    ready(page)

    ls = custom_landscape(TEXT, ((-2, 2), (-1.5, 1.5)))
    state = page.evaluate("descent.state")
    assert state["expr"] == TEXT and state["domain"] == [-2, 2, -1.5, 1.5]
    assert state["start"] == list(ls.start)
    assert page.inner_text("#formula") == f"f(x, y) = {ls.formula}"
    note = page.inner_text("#landscape-note")
    assert "2 local minima found numerically" in note
    # the map is of the formula on its domain, and marks the minima the server found
    surface = page.evaluate("({x: descent.surface.x, y: descent.surface.y, z: descent.surface.z})")
    assert surface["x"][0] == -2 and surface["x"][-1] == 2 and surface["y"][0] == -1.5
    z = ls.f(*np.meshgrid(surface["x"], surface["y"]))
    np.testing.assert_allclose(surface["z"], z, rtol=1e-5, atol=1e-5)
    assert sorted(map(tuple, page.evaluate(MARKED))) == sorted((m.x, m.y) for m in ls.minima)
    # every racer has a verdict against those minima, and GD's stability readout is of this formula
    assert page.locator(".racer-status").all_inner_texts() and "λmax" in page.inner_text("#stability")
    in_link = link(page)
    assert in_link["landscape"] == "custom" and in_link["expr"] == TEXT and in_link["domain"] == DOMAIN
    assert "expr=x**2%20%2B%203*y**2%20%2B%20sin(3*x)" in page.url  # URL-encoded: + is not a space

    # the link, opened afresh, restores the formula, its domain, the map and the race
    racers = page.evaluate("descent.racers.map((r) => [r.optimizer, r.data.x.at(-1), r.data.y.at(-1)])")
    page.goto(page.url)
    ready(page)
    assert page.evaluate("descent.state.expr") == TEXT
    assert page.input_value("#landscape") == "custom" and page.input_value("#custom-expr") == TEXT
    assert page.input_value("#custom-domain") == DOMAIN
    again = page.evaluate("descent.racers.map((r) => [r.optimizer, r.data.x.at(-1), r.data.y.at(-1)])")
    assert again == racers
    assert watch.errors == []


def test_a_refused_formula_is_shown_next_to_its_box_verbatim(page, watch, live_server, no_dialogs):
    page.goto(f"{live_server}/?landscape=booth")
    ready(page)
    page.select_option("#landscape", "custom")
    page.fill("#custom-expr", "x.real + y")
    page.click("#custom-apply")
    error = page.locator("#custom-error")
    error.wait_for(state="visible")
    assert error.inner_text().startswith("position 2: attribute access ('.real') is not allowed")
    assert page.evaluate("descent.state.landscape") == "booth"  # nothing changed
    page.fill("#custom-expr", "x**2 + y**2")
    page.fill("#custom-domain", "1,2,3")
    page.press("#custom-domain", "Enter")
    page.wait_for_function(
        "() => document.getElementById('custom-error').textContent.includes('four numbers')"
    )
    page.fill("#custom-domain", "2,1,0,1")
    page.press("#custom-domain", "Enter")
    page.wait_for_function("() => document.getElementById('custom-error').textContent.includes('x range')")
    # a link to a refused formula opens on the default landscape, the formula in its box with the reason
    page.goto(f"{live_server}/?landscape=custom&expr={quote('x + foo(y)', safe='')}")
    ready(page)
    assert page.evaluate("descent.state.landscape") == "mccormick"
    assert page.input_value("#custom-expr") == "x + foo(y)"
    assert page.inner_text("#custom-error").startswith("position 5: 'foo' is not a known function")
    # Chromium's own network log line for each refused request is the only console error
    assert [e for e in watch.errors if "status of 422" not in e] == []
    assert len(watch.errors) == 3  # '.real', the x range, 'foo' (four numbers: the page's own check)


def test_noise_and_the_3d_view_work_on_a_typed_formula(page, watch, live_server):
    page.goto(f"{live_server}/?{LINK}&noise=1&sigma_x=4&sigma_y=2&dataset_size=500&batch_size=8&seed=7")
    ready(page)
    state = page.evaluate("descent.state")
    assert state["noise"] and state["landscape"] == "custom"
    page.click("label:has(input[name=view][value='3d'])")
    page.wait_for_function(
        """() => {
          const data = document.getElementById('surface3d').data;
          const paths = data?.filter((t) => t.type === 'scatter3d' && t.x.length > 20) ?? [];
          return data?.[0].type === 'surface' && paths.length === descent.racers.length;
        }"""
    )
    # the 3D surface is of the formula: its heights at the grid's corners
    corner = page.evaluate(
        "(() => { const t = document.getElementById('surface3d').data[0];"
        " return [t.x[0], t.y[0], t.z[0][0]]; })()"
    )
    ls = custom_landscape(TEXT, ((-2, 2), (-1.5, 1.5)))
    assert corner[:2] == [-2, -1.5] and corner[2] == pytest.approx(float(ls.f(-2, -1.5)), rel=1e-5)
    assert watch.errors == []


def test_the_tools_measure_a_typed_formula(page, watch, live_server, no_dialogs):
    page.goto(f"{live_server}/tools?tool=starts&s_n=12&{LINK}")
    page.wait_for_selector("#tool-starts[data-status=ready]")
    page.wait_for_selector("#app[data-status=ready]")
    assert page.input_value("#landscape") == "custom" and page.input_value("#custom-expr") == TEXT
    assert "found numerically" in page.inner_text("#landscape-note")
    data = page.evaluate("tools.results.starts.data")
    assert len(data["targets"]) == 2 and data["global_share"] > 0
    body = page.evaluate("tools.results.starts.body")
    assert body["expression"] == TEXT and body["domain"] == [-2, 2, -1.5, 1.5]
    # a start's replay opens the landscape page on the same formula
    replay = page.evaluate("tools.landscapeUrl({start: [1, 1]}, 0.5, tools.results.starts)")
    fields = {k: v[0] for k, v in parse_qs(urlsplit(replay).query).items()}
    assert fields["landscape"] == "custom" and fields["expr"] == TEXT and fields["domain"] == DOMAIN
    # the range test, on a formula typed in here
    page.goto(f"{live_server}/tools?tool=range&landscape=booth")
    page.wait_for_selector("#tool-range[data-status=ready]")
    page.select_option("#landscape", "custom")
    page.fill("#custom-expr", "(x - 1)**2 + 10*(y + 0.5)**2")
    page.press("#custom-expr", "Enter")
    page.wait_for_function(
        "() => tools.results.range && tools.results.range.body.expression === '(x - 1)**2 + 10*(y + 0.5)**2'"
    )
    page.wait_for_selector("#tool-range[data-status=ready]")
    assert page.locator(".tool:not([hidden]) .field-error:not(:empty)").count() == 0
    assert watch.errors == []


def test_a_logged_race_on_a_typed_formula_opens_again_from_the_log(page, watch, live_server):
    text = "(x - 0.5)**2 + 2*(y - 0.25)**2 + 0.125"
    page.goto(
        f"{live_server}/?landscape=custom&expr={quote(text, safe='')}&domain=-1,2,-1,1&racers=adam&steps=300"
    )
    ready(page)
    page.goto(f"{live_server}/log")
    opened = page.locator("a.reopen").first
    opened.wait_for()
    href = opened.get_attribute("href")
    fields = {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}
    assert fields["landscape"] == "custom" and fields["expr"] == text and fields["domain"] == "-1,2,-1,1"
    # selected, it is drawn on its own formula's map, with the minimum the server found marked
    page.locator("tbody input[type=checkbox]").first.check()
    page.wait_for_function("() => document.getElementById('app').dataset.compared")
    page.wait_for_function("() => document.getElementById('second-plot').data?.length > 1")
    marked = page.evaluate(MARKED.replace("'paths'", "'second-plot'"))
    assert marked == [[0.5, 0.25]]
    note = page.locator("#second-note").inner_text()
    assert note.startswith(f"f = {text}: the path") and "1 minimum found numerically" in note
    opened.click()
    page.wait_for_url(f"{live_server}/?*")
    ready(page)
    state = page.evaluate("descent.state")
    assert state["expr"] == text and state["domain"] == [-1, 2, -1, 1]
    assert ",".join(map(str, state["start"])) == fields["start"]
    assert watch.errors == []
