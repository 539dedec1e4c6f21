"""The building blocks page in a real Chromium: every section draws, every control redraws, offline.

One page serves the whole module (loading Plotly and drawing nine figures is most of the time a test
takes); each test sets the controls it reads and waits for its section to draw again.
"""

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import Watch

# Chromium logs every non-2xx fetch as a console error of its own ("Failed to load resource: the server
# responded with a status of 422"). That line is the browser's network log, not the page's: a test that
# sends a bad batch on purpose expects exactly one such line per refused request and nothing else.
REFUSED = "console.error: Failed to load resource: the server responded with a status of 422"

SECTIONS = ["activations", "softmax", "losses", "inits", "norms"]


@pytest.fixture(scope="module")
def blocks(browser, browser_context_args, live_server):
    """(page, watch) on /blocks, loaded once and drawn."""
    context = browser.new_context(**browser_context_args)
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{live_server}/blocks")
    page.wait_for_selector("#app[data-status=ready]")
    yield page, watch
    context.close()


def version(page, section):
    return int(page.get_attribute(f"#{section}", "data-version"))


def redrawn(page, section, before):
    """Wait until `section` has drawn again since version `before`, and is idle."""
    page.wait_for_function(
        "([id, v]) => { const el = document.getElementById(id);"
        " return Number(el.dataset.version) > v && el.dataset.status === 'ready'; }",
        arg=[section, before],
    )


def enter(page, selector, text):
    """Type `text` into a parameter's number field and commit it."""
    field = page.locator(selector)
    field.fill(text)
    field.press("Enter")


def in_link(page, part):
    page.wait_for_function("(part) => location.search.includes(part)", arg=part)


def data(page, plot):
    return page.evaluate("(id) => document.getElementById(id).data.map((t) => ({x: t.x, y: t.y}))", plot)


def foreign(watch, live_server):
    return watch.hosts - {urlsplit(live_server).netloc, "data", "blob"}


def test_every_section_draws_offline_without_errors(blocks, live_server):
    page, watch = blocks
    assert watch.errors == []
    assert foreign(watch, live_server) == set(), "requests to other hosts"
    assert [page.get_attribute(f"#{s}", "data-status") for s in SECTIONS] == ["ready"] * 5
    # activations: f and f′ of each, the vanishing tails of sigmoid and tanh shaded
    names = page.locator(".mini").evaluate_all("els => els.map((e) => e.dataset.activation)")
    assert names == ["sigmoid", "tanh", "relu", "leaky_relu", "linear"]
    for name in names:
        f, df = data(page, f"act-{name}")
        assert len(f["x"]) == 401 and f["x"][0] == -6 and f["x"][-1] == 6 and len(df["y"]) == 401
    assert page.locator("#act-sigmoid .scatterlayer .js-line").count() == 2
    assert page.locator("#act-sigmoid .shapelayer path").count() == 2
    assert page.locator("#act-tanh .shapelayer path").count() == 2
    assert page.locator("#act-linear .shapelayer path").count() == 0
    # softmax: the seed's vector and output, summing to 1
    assert page.input_value("#softmax-z") == "0.2, 0.57, 0.6, 0.12"
    table = page.inner_text("#softmax-table")
    assert "0.2056481" in table and "0.29772387" in table and "0.30679091" in table and "0.18983712" in table
    assert "Σ softmax(z) = 1" in page.inner_text("#softmax-sum")
    # losses: both losses and their gradients
    assert len(data(page, "loss-plot")) == 4
    # initialization: three histograms and the seed's statistics table
    assert [t["y"] is not None for t in data(page, "init-hist")] == [True] * 3
    stats = page.inner_text("#init-table")
    assert "-0.0884" in stats and "0.0884" in stats and "512 × 256 = 131,072 weights" in stats
    assert len(data(page, "xavier-plot")[0]["x"]) > 50
    # normalization: batch norm of the seed's 3 × 3 batch, its printed statistics
    norms = page.inner_text("#norm-table")
    assert "0.07666667" in norms and "0.97442222" in norms and "0.99999994" in norms
    assert "1.34058903" in page.inner_text("#norm-y")


def test_the_input_range_redraws_the_activations_and_the_link(blocks):
    page, watch = blocks
    before = version(page, "activations")
    enter(page, "#act-controls .param[data-name=high] input.num", "20")
    redrawn(page, "activations", before)
    f, _ = data(page, "act-sigmoid")
    assert f["x"][0] == -6 and f["x"][-1] == 20
    shaded = "document.getElementById('act-sigmoid').layout.shapes.map((s) => [s.x0, s.x1])"
    (_, low_edge), (high_edge, end) = page.evaluate(shaded)
    assert (
        low_edge == pytest.approx(-2.06, abs=0.05)
        and high_edge == pytest.approx(2.06, abs=0.05)
        and end == 20
    )
    in_link(page, "zhi=20")
    # the threshold moves the shaded edges: σ(1 − σ) = 0.01 at |z| ≈ 4.6
    before = version(page, "activations")
    enter(page, "#act-controls .param[data-name=threshold] input.num", "0.01")
    redrawn(page, "activations", before)
    assert page.evaluate(shaded)[1][0] == pytest.approx(4.6, abs=0.1)
    assert page.inner_text("#activations [data-threshold]") == "0.01"
    assert watch.errors == []


def test_the_softmax_vector_redraws_and_large_entries_stay_correct(blocks):
    page, watch = blocks
    before = version(page, "softmax")
    page.fill("#softmax-z", "1, 2, 3")
    redrawn(page, "softmax", before)
    _, probs = data(page, "softmax-plot")
    assert probs["y"] == pytest.approx([0.09003057, 0.24472847, 0.66524096])
    in_link(page, "z=1,2,3")
    before = version(page, "softmax")
    page.click("#softmax-plus")
    redrawn(page, "softmax", before)
    assert page.input_value("#softmax-z") == "1001, 1002, 1003"
    _, large = data(page, "softmax-plot")
    assert large["y"] == pytest.approx(probs["y"], rel=1e-12)
    table = page.inner_text("#softmax-table")
    assert table.count("∞ overflow") == 3 and table.count("NaN") == 3
    assert "NaN" in page.inner_text("#softmax-sum")
    # text that is not a number stays in the page, with a message
    page.fill("#softmax-z", "1, two, 3")
    assert "not a finite number: “two”" in page.inner_text("#softmax-error")
    assert watch.errors == []


def test_the_log_sweep_shows_the_cross_entropy_clip(blocks):
    page, watch = blocks
    before = version(page, "losses")
    page.click("label:has(input[name=sweep][value=log])")
    redrawn(page, "losses", before)
    assert page.evaluate("document.getElementById('loss-plot').layout.xaxis.type") == "log"
    ce = data(page, "loss-plot")[2]
    assert ce["x"][0] == 1e-20 and ce["y"][0] == pytest.approx(33.8456, abs=1e-4)
    in_link(page, "sweep=log")
    assert watch.errors == []


def test_fan_in_resamples_the_weights(blocks):
    page, watch = blocks
    before = version(page, "inits")
    enter(page, "#init-controls .param[data-name=inputs] input.num", "64")
    redrawn(page, "inits", before)
    assert "64 × 256 = 16,384 weights" in page.inner_text("#init-table")
    counts = page.evaluate(
        "document.getElementById('init-hist').data.map((t) => t.y.reduce((a, b) => a + b))"
    )
    assert counts == [64 * 256] * 3
    limit = page.evaluate("document.getElementById('xavier-plot').data[1]")
    assert limit["x"] == [320] and limit["y"] == [pytest.approx((6 / 320) ** 0.5)]
    in_link(page, "m=64")
    assert watch.errors == []


def test_a_batch_value_renormalizes(blocks):
    page, watch = blocks
    before = version(page, "norms")
    page.fill("#norm-x", "[[3.0, 0.62, 0.21],\n [-0.2, 1.6, -1.35],\n [-0.97, 1.3, -2.1]]")
    redrawn(page, "norms", before)
    assert 3.0 in data(page, "norm-plot")[0]["y"]  # feature 1, before
    assert "0.61000000" in page.inner_text("#norm-table")  # the new mean of feature 1
    # group norm of the seed's images with G = 2 (the seed's printout), then G = 4 (instance norm)
    before = version(page, "norms")
    page.click("label:has(input[name=norm][value=group])")
    redrawn(page, "norms", before)
    table = page.inner_text("#norm-table")
    assert "0.54125000" in table and "0.05261094" in table and "0.99999981" in table
    assert page.get_attribute("#norm-params .param[data-name=groups] input.num", "value") == "2"
    before = version(page, "norms")
    enter(page, "#norm-params .param[data-name=groups] input.num", "4")
    redrawn(page, "norms", before)
    assert page.locator("#norm-table tbody tr").count() == 8
    in_link(page, "groups=4")
    assert watch.errors == []


def test_a_bad_matrix_shows_the_servers_message(blocks):
    page, watch = blocks
    page.click("label:has(input[name=norm][value=layer])")
    page.wait_for_selector("#norms[data-status=ready]")
    page.fill("#norm-x", "[[1, 2, 3], [4, 5]]")
    page.wait_for_selector("#norms[data-status=error]")
    assert page.inner_text("#norm-error") == (
        "x: ragged: x[1] has 2 entries but x[0] has 3 entries; every row needs the same length"
    )
    assert watch.errors == [REFUSED + " (Unprocessable Entity)"]
    # group norm: G must divide the channels
    page.click("label:has(input[name=norm][value=group])")
    page.wait_for_selector("#norms[data-status=ready]")
    enter(page, "#norm-params .param[data-name=groups] input.num", "3")
    page.wait_for_selector("#norms[data-status=error]")
    assert page.inner_text("#norm-error") == "groups: groups must divide 4 channels: one of [1, 2, 4], got 3"
    # text that is not an array never leaves the page
    page.fill("#norm-x", "[[1, 2], [3, 4]")
    page.wait_for_function("() => document.getElementById('norm-error').textContent.startsWith('x: a “[”')")
    assert len(watch.errors) == 2 and all(e.startswith(REFUSED) for e in watch.errors)
    # a G that divides C and a good batch clear the message
    enter(page, "#norm-params .param[data-name=groups] input.num", "2")
    page.click("#norm-reset")
    page.wait_for_selector("#norms[data-status=ready]")
    assert page.inner_text("#norm-error") == "" and "0.54125000" in page.inner_text("#norm-table")
    assert len(watch.errors) == 2
