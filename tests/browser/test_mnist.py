"""The MNIST page in a real Chromium: a small run trains live, a drawn digit gets probabilities, a
model saves and loads, and a server without the data says how to get it."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

# 2,000 training and 500 test images, 125 steps per epoch, an evaluation every 25 steps
SMALL = "/mnist?ds=mnist&data=train_size:2000,test_size:500,seed:0&every=25&evaltrain=500&epochs=2"


@pytest.fixture(autouse=True)
def stop_runs(app):
    yield
    app.state.runs.stop_all()


@pytest.fixture
def with_mnist(mnist_dir, monkeypatch):
    """The served app finds MNIST where the tests do (skips cleanly where it is absent)."""
    monkeypatch.setenv("DESCENT_DATA_DIR", str(mnist_dir))


def foreign(watch, live_server):
    return watch.hosts - {urlsplit(live_server).netloc, "data", "blob"}


def draw_seven(page):
    """A 7 drawn with the mouse: the top bar, then the diagonal stroke."""
    box = page.locator("#pad").bounding_box()
    x, y, s = box["x"], box["y"], box["width"]
    page.mouse.move(x + 0.25 * s, y + 0.2 * s)
    page.mouse.down()
    for t in range(11):
        page.mouse.move(x + (0.25 + 0.5 * t / 10) * s, y + 0.2 * s)
    for t in range(11):
        page.mouse.move(x + (0.75 - 0.3 * t / 10) * s, y + (0.2 + 0.65 * t / 10) * s)
    page.mouse.up()


def test_a_small_run_shows_progress_and_rising_accuracy_and_classifies_a_drawing(
    page, watch, live_server, with_mnist
):
    page.goto(live_server + SMALL)
    expect(page.locator("#start")).to_be_visible()
    for panel in ("#gallery", "#filters"):  # no empty panel without a word
        expect(page.locator(f"{panel} .empty-note")).to_have_text("Appears after the first evaluation.")
    page.click("#start")
    page.wait_for_function("() => descent.main.data.evals.length >= 3")
    expect(page.locator("#progress-text")).to_contain_text(re.compile(r"epoch \d / 2 · step [\d,]+ / 250"))
    run_id = page.evaluate("descent.main.id")
    assert f"run={run_id}" in page.url

    draw_seven(page)  # while it trains
    page.wait_for_function("() => document.getElementById('app').dataset.prediction !== ''")
    expect(page.locator("#draw-note")).to_contain_text("Probabilities from the model after")
    expect(page.locator("#bars .bar-row")).to_have_count(10)
    values = page.locator("#bars .bar-value").all_inner_texts()
    assert all(v.endswith(" %") for v in values)
    assert sum(float(v.rstrip(" %")) for v in values) == pytest.approx(100, abs=1.5)
    # the pad's ink, as MNIST would have it: 784 values, centred in 28×28, inside a 20×20 box
    image = page.evaluate(
        """() => { const pad = document.getElementById('pad');
                   const rgba = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
                   const alpha = new Uint8ClampedArray(pad.width * pad.height).map((_, i) => rgba[4 * i + 3]);
                   return descent.toMnist(alpha, pad.width, pad.height); }"""
    )
    assert len(image) == 784 and max(image) == pytest.approx(1, abs=0.05)
    rows = [r for r in range(28) if any(image[28 * r : 28 * r + 28])]
    cols = [c for c in range(28) if any(image[c::28])]
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20

    page.wait_for_function("() => descent.main.data.status === 'done'")
    expect(page.locator("#progress-text")).to_contain_text("done after")
    accuracy = page.evaluate("descent.main.data.evals.map((e) => e.test_accuracy)")
    assert accuracy[0] < 0.3 < 0.8 < accuracy[-1], "the test accuracy rises from chance"
    expect(page.locator("#accuracy-now")).to_contain_text(f"test {100 * accuracy[-1]:.1f}"[:9])
    page.wait_for_function("() => document.getElementById('confusion-plot').data?.[0]?.type === 'heatmap'")
    expect(page.locator("#gallery canvas").first).to_be_visible()
    expect(page.locator("#filters canvas")).to_have_count(64)
    # after training, the drawing is asked again: the final model's answer
    page.wait_for_function("() => document.getElementById('app').dataset.prediction !== ''")
    assert watch.errors == []
    assert foreign(watch, live_server) == set(), "requests to other hosts"


def test_a_saved_model_loads_paused_and_a_broken_file_says_why(
    page, watch, live_server, with_mnist, tmp_path
):
    page.goto(live_server + SMALL.replace("epochs=2", "epochs=1"))
    page.click("#start")
    page.wait_for_function("() => descent.main.data.status === 'done'")
    with page.expect_download() as download:
        page.click("#save")
    saved = tmp_path / "model.npz"
    download.value.save_as(saved)
    trained = page.evaluate("descent.main.id")

    page.set_input_files("#load-file", str(saved))
    page.wait_for_function(
        f"""() => descent.main.id !== '{trained}' && descent.main.data.status === 'paused'
                  && descent.main.data.evals.length > 0"""  # it evaluates the loaded weights, then waits
    )
    expect(page.locator("#start")).to_have_text(re.compile("Resume"))
    # what it is, not "epoch 1 / 1 · step 0": the file says how far its weights trained
    expect(page.locator("#progress-text")).to_have_text("loaded model: trained 125 steps · paused")
    draw_seven(page)
    expect(page.locator("#draw-note")).to_have_text(
        "Probabilities from the loaded model (trained 125 steps)."
    )
    loaded = page.evaluate("descent.main.data.evals.at(-1).test_accuracy")
    assert loaded > 0.8, "the loaded weights are the trained ones"
    assert page.evaluate("descent.state.hidden") == [{"width": 600, "activation": "relu"}]
    assert watch.errors == []

    page.set_input_files(
        "#load-file", files=[{"name": "broken.npz", "mimeType": "x", "buffer": b"not a zip"}]
    )
    expect(page.locator("#model-error")).to_contain_text(
        "Could not load broken.npz: file: not a readable .npz file"
    )
    # Chromium itself logs every 4xx answer; the page adds nothing
    assert [e for e in watch.errors if "status of 422" not in e] == []


def test_without_the_data_the_page_says_how_to_get_it(page, watch, live_server, monkeypatch, tmp_path):
    monkeypatch.setenv("DESCENT_DATA_DIR", str(tmp_path))
    page.goto(live_server + "/mnist?ds=mnist")
    missing = page.locator("#data-missing")
    expect(missing).to_be_visible()
    expect(missing).to_contain_text("MNIST is not on this server.")
    expect(missing.locator("code")).to_have_text("descent data mnist")
    expect(missing).to_contain_text(str(tmp_path / "mnist"))
    expect(page.locator("#start")).to_be_hidden()
    expect(page.locator("#no-data")).to_be_visible()
    assert watch.errors == []


def test_the_subset_is_named_and_the_full_recipe_is_one_click_away(page, watch, live_server, with_mnist):
    page.goto(live_server + "/mnist?ds=mnist")
    note = page.locator("#subset-note")
    expect(note).to_contain_text("10,000 training / 2,000 test images: a subset, for speed")
    expect(note).to_contain_text("the seed's 98 % test accuracy needs all 60,000 for 25 epochs")
    page.click("#full-recipe")
    expect(note).to_have_text(
        "60,000 training / 10,000 test images: all of them, as the seed's recipe trains."
    )
    s = page.evaluate("descent.state")
    assert (s["data"]["train_size"], s["data"]["test_size"], s["epochs"]) == (60000, 10000, 25)
    assert (s["hidden"], s["optimizer"], s["hyper"]["lr"], s["batch_size"], s["l2"]) == (
        [{"width": 600, "activation": "relu"}],
        "sgd",
        0.02,
        16,
        2e-4,
    )
    assert "train_size:60000" in page.url and "epochs=25" in page.url
    assert watch.errors == []


def test_the_gradient_clip_norm_is_a_control_in_the_link_that_a_running_run_takes(
    page, watch, live_server, with_mnist
):
    page.goto(live_server + SMALL.replace("epochs=2", "epochs=10") + "&clip=1.5")
    clip = page.locator("#regularization-group .param[data-name=clip_norm] input.num")
    expect(clip).to_have_value("1.5")
    page.click("#start")
    page.wait_for_function("() => descent.main.data.evals.length >= 1")
    assert page.evaluate("descent.main.data.start.config.clip_norm") == 1.5
    clip.fill("0.25")
    clip.press("Enter")
    page.wait_for_function(
        "() => descent.main.data.controls.some((c) => c.action === 'set' && c.values.clip_norm === 0.25)"
    )
    assert "clip=0.25" in page.url
    assert watch.errors == []


def test_the_progress_of_a_running_run_is_read_whole_at_1280_pixels(page, watch, live_server, with_mnist):
    page.set_viewport_size({"width": 1280, "height": 720})
    try:
        page.goto(live_server + SMALL.replace("epochs=2", "epochs=10"))
        page.click("#start")
        page.wait_for_function("() => /s left/.test(document.getElementById('progress-text').textContent)")
        cut = page.evaluate(
            "(e => e.scrollWidth > e.clientWidth + 1)(document.getElementById('progress-text'))"
        )
        text = page.inner_text("#progress-text")
    finally:
        page.set_viewport_size({"width": 1366, "height": 768})
    assert not cut, f"the progress reads {text!r}, cut off"
    assert watch.errors == []
