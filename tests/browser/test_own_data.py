"""Users' own data in a real Chromium: points drawn on the playground (click, shift-click, drag,
right-click, erase, a built-in set to start from) and trained on; a CSV of points uploaded (a refused
one says where and why); a regression's prediction drawn as a heat map; tabular data on the MNIST page,
the network's input as wide as the file; links to data the server no longer holds."""

import contextlib
import csv
import io

import httpx
import numpy as np
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

STATUS = "() => document.getElementById('app').dataset.status"
GONE_ID = "0" * 64


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch, app):
    """Uploads go to a folder of this test's own (the server reads the data dir on each request)."""
    monkeypatch.setenv("DESCENT_DATA_DIR", str(tmp_path))
    yield tmp_path
    app.state.runs.stop_all()


@pytest.fixture
def page(context):
    """A tab that may evaluate strings (wait_for_function) under the app's CSP."""
    page = context.browser.new_page(bypass_csp=True, viewport={"width": 1366, "height": 768})
    yield page
    page.close()


def drawing(page):
    return page.evaluate("descent.own.drawing")


SAME = """() => {
  const d = descent.own.drawing;
  const plot = document.getElementById('surface-main');
  const key = (x, y, name) => `${x},${y},${name}`;
  const shown = (plot.data || []).filter((t) => t.type === 'scatter')
    .flatMap((t) => t.x.map((x, i) => key(x, t.y[i], t.name.replace(/ \\(train\\)$/, '')))).sort();
  const drawn = d.points.map(([x, y, k]) => key(x, y, d.classes[k])).sort();
  return JSON.stringify(shown) === JSON.stringify(drawn);
}"""


def plotted(page):
    """The points on the data plot, from its traces: sorted [x, y, class name] (once the plot has
    caught up with the drawing: it redraws at most every 100 ms)."""
    with contextlib.suppress(PlaywrightTimeout):  # the comparison that follows shows the difference
        page.wait_for_function(SAME, timeout=3000)
    traces = page.evaluate(
        "document.getElementById('surface-main').data.filter((t) => t.type === 'scatter')"
        ".map((t) => ({x: t.x, y: t.y, name: t.name}))"
    )
    out = []
    for t in traces:
        name = t["name"].removesuffix(" (train)")
        out += [[x, y, name] for x, y in zip(t["x"], t["y"], strict=True)]
    return sorted(out)


def plot_area(page):
    return page.locator("#surface-main .nsewdrag").bounding_box()


def to_pixels(page, x, y):
    """Page coordinates of data point (x, y) on the surface plot."""
    box = plot_area(page)
    px, py = page.evaluate(
        "([x, y]) => { const l = document.getElementById('surface-main')._fullLayout;"
        " return [l.xaxis.l2p(x), l.yaxis.l2p(y)]; }",
        [x, y],
    )
    return box["x"] + px, box["y"] + py


def click(page, x, y, shift=False):
    """A click at data point (x, y); with `shift`, shift held."""
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(*to_pixels(page, x, y))
    if shift:
        page.keyboard.up("Shift")


def open_drawing(page, live_server, query=""):
    page.goto(f"{live_server}/playground?epochs=30{query}")
    page.select_option("#dataset", "upload")
    page.click("#draw-mode")
    expect(page.locator("#draw-mode")).to_have_attribute("aria-pressed", "true")


# --- the pure functions ---------------------------------------------------------------------------


def call(page, body):
    return page.evaluate(f"() => import('/static/draw_points.js').then((D) => {{ {body} }})")


def test_drawing_functions_edit_copies_and_write_the_servers_csv(page, live_server):
    page.goto(live_server + "/blocks")
    out = call(
        page,
        """
        const a = D.emptyDrawing();
        const b = D.addPoint(D.addPoint(a, 0.12345, -1, 0), 2, 3.0004, D.otherClass(a, 0));
        const c = D.movePoint(b, 0, -0.5, 0.25);
        const d = D.deletePoint(c, 1);
        return {a, b, c, d, e: D.eraseAll(c), csv: D.toCsv(c), none: D.toCsv(a),
                far: D.nearest(c, 10, 10, [50, 50], 9), near: D.nearest(c, 2.1, 3, [50, 50], 9),
                sorted: D.sortClasses({points: [[0, 0, 0], [1, 1, 1]], classes: ["upper", "lower"]}),
                quoted: D.toCsv({points: [[1, 2, 0]], classes: ['a, "b"']})};
        """,
    )
    assert out["a"] == {"points": [], "classes": ["A", "B"]}, "an edit never changes the drawing it was given"
    assert out["b"]["points"] == [[0.123, -1, 0], [2, 3, 1]]  # three decimals kept
    assert out["c"]["points"] == [[-0.5, 0.25, 0], [2, 3, 1]] and out["d"]["points"] == [[-0.5, 0.25, 0]]
    assert out["e"] == {"points": [], "classes": ["A", "B"]}
    assert out["csv"] == "x1,x2,label\n-0.5,0.25,A\n2,3,B\n" and out["none"] == "x1,x2,label\n"
    assert out["far"] == -1 and out["near"] == 1  # 0.1 units at 50 px a unit: 5 px away
    assert out["sorted"] == {"points": [[0, 0, 1], [1, 1, 0]], "classes": ["lower", "upper"]}
    assert out["quoted"] == 'x1,x2,label\n1,2,"a, ""b"""\n'
    rows = list(csv.reader(io.StringIO(out["quoted"])))
    assert rows[1] == ["1", "2", 'a, "b"'], "a class name with a comma or quote survives the CSV"


def test_readiness_names_what_is_missing(page, live_server):
    page.goto(live_server + "/blocks")
    out = call(
        page,
        """
        const pts = (list) => ({points: list, classes: ["A", "B"]});
        const six = [[0,0,0],[1,0,0],[2,0,0],[0,1,1],[1,1,1],[2,1,1]];
        const oneB = [...six.slice(0, 4), [3,3,0], [4,4,0]];
        return [pts([]), pts([[0,0,0],[1,1,0]]), pts(six.slice(0, 4)), pts(oneB), pts(six)]
          .map((d) => D.readiness(d));
        """,
    )
    assert [r["ok"] for r in out] == [False, False, False, False, True]
    assert "Draw some points" in out[0]["reason"]
    assert "Two classes" in out[1]["reason"]
    assert "At least 6 points" in out[2]["reason"]
    assert "Class B needs at least 2 points" in out[3]["reason"]


# --- drawing on the playground --------------------------------------------------------------------


def test_draw_drag_delete_erase_start_from_a_set_and_train(page, live_server):
    open_drawing(page, live_server)
    expect(page.locator("#play")).to_be_disabled()
    expect(page.locator("#draw-reason")).to_have_text("Draw some points first: click to place one.")
    a = [(-1.0, 1.0), (-1.2, 0.8), (-0.8, 0.6), (-1.0, 0.4)]
    b = [(1.0, -1.0), (1.2, -0.8), (0.8, -0.6), (1.0, -0.4)]
    for x, y in a:
        page.mouse.click(*to_pixels(page, x, y))
    expect(page.locator("#draw-reason")).to_contain_text("Two classes are needed")
    for x, y in b:
        click(page, x, y, shift=True)
    d = drawing(page)
    assert [p[2] for p in d["points"]] == [0] * 4 + [1] * 4
    for (x, y), p in zip(a + b, d["points"], strict=True):
        assert p[:2] == pytest.approx([x, y], abs=0.02), "a click places the point under the cursor"
    assert plotted(page) == sorted([[*p[:2], d["classes"][p[2]]] for p in d["points"]])
    expect(page.locator("#draw-count")).to_have_text("8 points: A 4 · B 4")
    expect(page.locator("#train-points")).to_be_enabled()

    # drag the first B point to (1.5, 1.5)
    page.mouse.move(*to_pixels(page, *b[0]))
    page.mouse.down()
    page.mouse.move(*to_pixels(page, 1.2, 1.2), steps=4)
    page.mouse.move(*to_pixels(page, 1.5, 1.5), steps=4)
    page.mouse.up()
    moved = drawing(page)["points"]
    assert len(moved) == 8 and moved[4][:2] == pytest.approx([1.5, 1.5], abs=0.02) and moved[4][2] == 1
    # right-click deletes the point under the cursor, and the browser's menu stays shut
    page.mouse.click(*to_pixels(page, *a[1]), button="right")
    left = drawing(page)["points"]
    assert len(left) == 7 and not any(p[:2] == pytest.approx(list(a[1]), abs=0.02) for p in left)
    assert plotted(page) == sorted([[*p[:2], "AB"[p[2]]] for p in left])

    page.click("#erase")
    assert drawing(page)["points"] == [] and plotted(page) == []
    expect(page.locator("#draw-count")).to_have_text("0 points: A 0 · B 0")

    # start from moons: every point of the set (training and test), its class names in the server's order
    page.select_option("#start-from", "moons")
    page.wait_for_function("() => descent.own.drawing.points.length === 500")
    d = drawing(page)
    assert d["classes"] == ["lower moon", "upper moon"]
    answer = page.evaluate(
        "fetch('/api/datasets/points', {method: 'POST', headers: {'content-type': 'application/json'},"
        " body: JSON.stringify({dataset: 'moons', data: {}})}).then((r) => r.json())"
    )
    expected = sorted(
        [round(x, 3), round(y, 3), name]
        for xs, ys in ((answer["x_train"], answer["y_train"]), (answer["x_test"], answer["y_test"]))
        for (x, y), k in zip(xs, ys, strict=True)
        for name in [answer["classes"][k]]
    )
    assert plotted(page) == expected
    page.mouse.click(*to_pixels(page, 0.0, 2.2))  # and edit it: one more point of the chosen class
    assert len(drawing(page)["points"]) == 501

    # train: the server holds what the plot shows, the run trains on its hash, the surface is drawn
    page.click("#train-points")
    page.wait_for_function(f"{STATUS} === 'done'", timeout=60000)
    did = page.evaluate("descent.state.data_id")
    assert len(did) == 64 and f"did={did}" in page.url and "ds=upload" in page.url
    held = httpx.get(f"{live_server}/api/data/{did}/points").json()
    names = held["class_names"]
    assert sorted([x, y, names[k]] for (x, y), k in zip(held["x"], held["y"], strict=True)) == plotted(page)
    config = page.evaluate("descent.main.data.start.config")
    assert config["dataset"] == "upload" and config["data_id"] == did
    page.wait_for_function("() => document.getElementById('surface-main').layout.images.length === 1")
    expect(page.locator("[data-metric=main]")).to_contain_text("test")


def test_a_link_with_drawn_data_reopens_it(page, live_server):
    open_drawing(page, live_server)
    for x, y, shift in [
        (-1, 0, False),
        (-1, 1, False),
        (-1, -1, False),
        (1, 0, True),
        (1, 1, True),
        (1, -1, True),
    ]:
        click(page, x, y, shift)
    page.click("#train-points")
    page.wait_for_function(f"{STATUS} === 'done'", timeout=60000)
    points = drawing(page)
    reopen(page)
    assert drawing(page) == points
    expect(page.locator("#dataset")).to_have_value("upload")
    expect(page.locator("#data-info")).to_contain_text("6 rows")


def test_a_drawing_is_stored_without_training_so_its_link_opens_it(page, live_server):
    open_drawing(page, live_server)
    for x, y, shift in [(-1, 0, False), (-1, 1, False), (1, 0, True), (1, 1, True)]:
        click(page, x, y, shift)
    expect(page.locator("#data-info")).to_contain_text("Not stored yet")
    assert page.evaluate("descent.state.data_id") is None  # it cannot be trained on yet: nothing is stored
    with page.expect_request(lambda r: "/api/data?" in r.url, timeout=5000) as sent:
        click(page, -1, -1)
        click(page, 1, -1, shift=True)
    page.wait_for_function("() => descent.state.data_id && location.search.includes(descent.state.data_id)")
    rows = list(csv.reader(io.StringIO(sent.value.post_data)))
    assert sorted([float(x), float(y), name] for x, y, name in rows[1:]) == plotted(page)
    expect(page.locator("#data-info")).to_contain_text("6 rows")
    assert page.evaluate("descent.main.id") is None, "stored, not trained"
    points = drawing(page)
    link = reopen(page)
    assert drawing(page) == points
    # an edit forgets the stored id until the edited drawing is stored in its turn
    page.click("#draw-mode")
    click(page, 0, 1.5)
    assert page.evaluate("descent.state.data_id") is None
    page.wait_for_function("() => descent.state.data_id && location.search.includes(descent.state.data_id)")
    assert len(drawing(page)["points"]) == 7 and page.url != link


def test_a_link_to_gone_data_says_so_and_leaves_the_page_usable(page, live_server):
    page.goto(f"{live_server}/playground?ds=upload&did={GONE_ID}")
    expect(page.locator("#data-info")).to_contain_text(
        f"the data {GONE_ID[:12]}… is no longer on this server (uploaded data is evicted when the store"
    )
    expect(page.locator("#banner")).to_be_hidden()
    assert page.evaluate("descent.state.data_id") is None
    page.select_option("#dataset", "moons")
    page.wait_for_function("() => descent.points && descent.points.classes.length === 2")
    expect(page.locator("#play")).to_be_enabled()


# --- uploads on the playground --------------------------------------------------------------------


def reopen(page):
    """Open the page's link in a fresh page load, once its drawing is back; the link."""
    link = page.url
    count = len(drawing(page)["points"])
    page.goto("about:blank")
    page.goto(link)
    page.wait_for_function(f"() => descent.own.drawing.points.length === {count}")
    return link


def upload(page, selector, name, text):
    page.set_input_files(selector, files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}])


def test_a_bad_csv_names_its_line_and_column_and_changes_nothing(page, live_server):
    open_drawing(page, live_server)
    for x, y in [(0, 0), (1, 1)]:
        page.mouse.click(*to_pixels(page, x, y))
    before = drawing(page)
    upload(page, "#points-file", "bad.csv", "x1,x2,label\n0,0,a\n1,oops,b\n")
    expect(page.locator("#upload-error")).to_contain_text("bad.csv: line 3, column 'x2'")
    expect(page.locator("#upload-error")).to_contain_text("'oops'")
    assert drawing(page) == before, "a refused file leaves the points as they were"
    expect(page.locator("#banner")).to_be_hidden()


def test_a_good_csv_shows_its_points_and_trains(page, live_server):
    open_drawing(page, live_server)
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(40, 2)).round(3)
    labels = np.where(xy[:, 0] > 0, "right", "left")
    text = "label,x1,x2\n" + "".join(f"{c},{x},{y}\n" for (x, y), c in zip(xy, labels, strict=True))
    upload(page, "#points-file", "halves.csv", text)
    expect(page.locator("#data-info")).to_contain_text("halves.csv: 40 rows · 2 features · 2 classes")
    expect(page.locator("#upload-error")).to_be_empty()
    expected = sorted([float(x), float(y), str(c)] for (x, y), c in zip(xy, labels, strict=True))
    assert plotted(page) == expected
    page.click("#play")
    page.wait_for_function(f"{STATUS} === 'done'", timeout=60000)
    assert page.evaluate("descent.main.data.start.config.data_id") == page.evaluate("descent.own.info.id")


def test_a_regression_csv_draws_the_prediction_and_r2(page, live_server):
    page.goto(f"{live_server}/playground?epochs=40&loss=mse")
    page.select_option("#dataset", "upload")
    expect(page.locator("#regression")).to_be_enabled()
    rng = np.random.default_rng(1)
    xy = rng.uniform(-1, 1, size=(60, 2)).round(3)
    target = (xy[:, 0] + 2 * xy[:, 1]).round(4)
    page.check("#regression")
    upload(
        page,
        "#points-file",
        "plane.csv",
        "x1,x2,label\n" + "".join(f"{x},{y},{t}\n" for (x, y), t in zip(xy, target, strict=True)),
    )
    expect(page.locator("#data-info")).to_contain_text(
        "plane.csv: 60 rows · 2 features · a regression target"
    )
    expect(page.locator("#draw-mode")).to_be_disabled()
    marker = page.evaluate("document.getElementById('surface-main').data[0].marker.color")
    assert sorted(marker) == pytest.approx(sorted(target))
    page.click("#play")
    page.wait_for_function(f"{STATUS} === 'done'", timeout=60000)
    page.wait_for_function("() => document.getElementById('surface-main').data[0].type === 'heatmap'")
    heat = page.evaluate("document.getElementById('surface-main').data[0]")
    surface = page.evaluate("descent.main.data.latest.surface")
    assert heat["z"] == surface["values"] and heat["zmin"] == pytest.approx(target.min())
    expect(page.locator("[data-metric=main]")).to_contain_text("R² train")
    r2 = page.evaluate("descent.main.data.evals.at(-1).test_r2")
    assert r2 is not None and r2 > 0.5, "a plane is learnt"
    page.select_option("#loss", "cross_entropy")
    expect(page.locator("#play")).to_be_disabled()
    expect(page.locator("#draw-reason")).to_have_text(
        "A regression target needs loss MSE: choose it under Network."
    )


# --- tables on the MNIST page ---------------------------------------------------------------------


def table_csv(rows=60, features=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).round(3)
    species = np.array(["a", "b", "c"])[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)]
    header = ",".join([*(f"f{j}" for j in range(features)), "species"])
    return (
        header
        + "\n"
        + "".join(",".join([*map(str, row), c]) + "\n" for row, c in zip(x, species, strict=True))
    )


def upload_table(page, text, rows, features):
    """Upload `text` (table_csv's) in the table panel: under the default label column the server's
    refusal shows and nothing is stored; with the label column species it is stored, and the network's
    input row takes its width."""
    upload(page, "#table-file", "iris.csv", text)
    expect(page.locator("#table-error")).to_contain_text("iris.csv: line 1: no column 'label'")
    assert page.evaluate("descent.state.data_id") is None
    page.fill("#label-column", "species")
    upload(page, "#table-file", "iris.csv", text)
    expect(page.locator("#table-info")).to_contain_text(
        f"iris.csv: {rows} rows · {features} features · 3 classes (label: species)"
    )
    expect(page.locator("#input-width")).to_have_text(f"input{features} features (iris.csv)")


def test_a_table_on_the_mnist_page_sets_the_input_width_and_trains(page, live_server):
    page.goto(f"{live_server}/mnist?epochs=3")
    page.locator("#data-group .segmented label", has_text="Your data").click()
    expect(page.locator("#own-table")).to_be_visible()
    expect(page.locator("#start")).to_be_hidden()
    expect(page.locator("#no-data")).to_have_text("Upload a table first (see Data on the left).")
    expect(page.locator("#draw-card")).to_be_hidden()

    upload_table(page, table_csv(), rows=60, features=5)
    expect(page.locator("#table-error")).to_be_empty()
    expect(page.locator("#standardize")).to_be_checked()
    expect(page.locator("#start")).to_be_enabled()
    page.click("#start")
    page.wait_for_function(f"{STATUS} === 'done'", timeout=60000)
    start = page.evaluate("descent.main.data.start")
    assert start["config"]["data_id"] == page.evaluate("descent.own.info.id") and start["classes"] == [
        "a",
        "b",
        "c",
    ]
    assert f"did={start['config']['data_id']}" in page.url

    # an .npz of seven columns: the input follows the file
    buffer = io.BytesIO()
    rng = np.random.default_rng(2)
    np.savez(buffer, **{f"c{j}": rng.normal(size=30) for j in range(7)}, species=rng.integers(0, 2, 30))
    page.set_input_files(
        "#table-file",
        files=[{"name": "seven.npz", "mimeType": "application/octet-stream", "buffer": buffer.getvalue()}],
    )
    expect(page.locator("#input-width")).to_have_text("input7 features (seven.npz)")
    expect(page.locator("#table-info")).to_contain_text("seven.npz: 30 rows · 7 features · 2 classes")


def test_a_mnist_link_to_a_gone_table_says_so(page, live_server):
    page.goto(f"{live_server}/mnist?ds=upload&did={GONE_ID}")
    expect(page.locator("#table-info")).to_contain_text(
        f"the data {GONE_ID[:12]}… is no longer on this server"
    )
    expect(page.locator("#no-data")).to_contain_text("is no longer on this server")
    expect(page.locator("#banner")).to_be_hidden()
    page.fill("#label-column", "species")
    upload(page, "#table-file", "iris.csv", table_csv())
    expect(page.locator("#start")).to_be_enabled()
