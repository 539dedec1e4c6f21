"""The network playground in a real Chromium: runs train live, react to their controls, restart on
a new network, compare a linear with a nonlinear model, re-attach from a link, and stay offline."""

import json
import re
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

# A run that lasts far longer than any test (one example per step, 200,000 steps): tests stop it.
LONG = "/playground?bs=1&epochs=500"
# Linear layers, a linear output and MSE with SGD at lr 10: the loss overflows within a few steps.
DIVERGING = "/playground?hidden=16:linear,16:linear&out=linear&loss=mse&init=gaussian&opt=sgd&hyper=lr:10"

STATUS = "() => document.getElementById('app').dataset.status"


@pytest.fixture(autouse=True)
def stop_runs(app):
    """Runs outlive their pages (another tab may watch them): stop every one after each test."""
    yield
    app.state.runs.stop_all()


def foreign(watch, live_server):
    return watch.hosts - {urlsplit(live_server).netloc, "data", "blob"}


def wait_status(page, status):
    page.wait_for_function(f"() => document.getElementById('app').dataset.status === '{status}'")


def evals(page, session="main"):
    return page.evaluate(f"descent.{session}.data.evals.length")


def steps(page):
    return page.evaluate("descent.main.data.stepsDone")


def server_run(app, run_id, status):
    """The server's run once it has reached `status` (the worker thread gets there on its own)."""
    deadline = time.monotonic() + 10
    run = app.state.runs.get(run_id)
    while run.status != status and time.monotonic() < deadline:
        time.sleep(0.01)
    return run


def test_a_run_draws_its_surface_and_curves_and_pauses_steps_and_resumes(page, watch, live_server, app):
    page.goto(live_server + LONG)
    page.click("#play")
    page.wait_for_function("() => descent.main.data.evals.length >= 3")
    wait_status(page, "running")
    # the decision surface is an image under the points, the curves have a point per evaluation
    page.wait_for_function("() => document.getElementById('surface-main').layout.images.length === 1")
    expect(page.locator("#surface-main image")).to_have_count(1)
    seen = evals(page)
    page.wait_for_function(f"() => document.getElementById('loss-plot').data[1].x.length > {seen}")
    page.wait_for_function("() => document.getElementById('accuracy-plot').data.length === 2")
    run_id = page.evaluate("descent.main.id")
    assert f"run={run_id}" in page.url

    page.click("#pause")
    wait_status(page, "paused")
    assert server_run(app, run_id, "paused").status == "paused"
    assert page.locator("#step").is_enabled() and page.locator("#pause").is_disabled()
    before, evaluated = steps(page), evals(page)
    page.click("#step")  # one step, then an evaluation
    page.wait_for_function(f"() => descent.main.data.evals.length > {evaluated}")
    assert steps(page) == before + 1
    expect(page.locator("#epoch")).to_have_text(re.compile(f"step {before + 1:,}$"))

    page.click("#play")
    wait_status(page, "running")
    page.wait_for_function(f"() => descent.main.data.stepsDone > {before + 1}")
    assert watch.errors == []
    assert foreign(watch, live_server) == set(), "requests to other hosts"


def test_changing_an_activation_restarts_the_run_with_the_new_network(page, watch, live_server, app):
    page.goto(live_server + LONG)
    page.click("#play")
    page.wait_for_function("() => descent.main.data.evals.length >= 2")
    old = page.evaluate("descent.main.id")
    page.select_option("[aria-label='Layer 1 activation']", "tanh")
    page.wait_for_function(
        f"""() => descent.main.id && descent.main.id !== '{old}'
                  && descent.main.data.start?.config.hidden[0][1] === 'tanh'
                  && descent.main.data.evals.length >= 2"""
    )
    wait_status(page, "running")
    assert server_run(app, old, "stopped").status == "stopped"
    assert "hidden=16:tanh,16:relu" in page.url
    expect(page.locator(".surface-card .network")).to_have_text("2 → 16 Tanh → 16 ReLU → 2 Softmax")
    assert watch.errors == []


def test_the_seed_comparison_trains_a_linear_and_a_nonlinear_model_side_by_side(page, watch, live_server):
    page.goto(live_server + "/playground")
    page.click("#compare")
    page.wait_for_function("() => [descent.main, descent.linear].every((s) => s.data.status === 'done')")
    expect(page.locator(".surface-card")).to_have_count(2)
    expect(page.locator(".surface-card image")).to_have_count(2)
    assert page.evaluate("descent.linear.data.start.config.hidden") == []
    assert page.evaluate("descent.main.data.start.config.hidden") == [[16, "relu"], [16, "sigmoid"]]
    linear = page.evaluate("descent.linear.data.evals.at(-1).train_accuracy")
    nonlinear = page.evaluate("descent.main.data.evals.at(-1).train_accuracy")
    assert 0.8 < linear < nonlinear, "the nonlinear model fits the moons better, as in the seed"
    shown = page.evaluate("[descent.linear, descent.main].map((s) => s.data.evals.at(-1).train_accuracy)")
    shown = page.evaluate("(xs) => xs.map((x) => `train ${(100 * x).toFixed(1)} %`)", shown)
    metrics = page.locator(".surface-card .metrics")
    expect(metrics.first).to_contain_text(shown[0])
    expect(metrics.last).to_contain_text(shown[1])
    assert "cmp=1" in page.url and "run2=" in page.url
    # loss and accuracy of both runs: train and test each
    page.wait_for_function("() => document.getElementById('accuracy-plot').data.length === 4")
    assert watch.errors == []


def test_a_second_tab_attaches_to_the_same_run_and_catches_up(page, watch, live_server):
    page.goto(live_server + LONG)
    page.click("#play")
    page.wait_for_function("() => descent.main.data.evals.length >= 2")
    page.click("#pause")
    wait_status(page, "paused")
    run_id, done = page.evaluate("descent.main.id"), steps(page)

    other = page.context.new_page()
    other_watch = type(watch)(other)
    other.goto(page.url)
    wait_status(other, "paused")
    assert other.evaluate("descent.main.id") == run_id
    assert other.evaluate("descent.main.data.stepsDone") == done, "caught up from the history event"
    assert other.evaluate("descent.main.data.evals.length") == evals(page)
    other.wait_for_function("() => document.getElementById('surface-main').layout.images.length === 1")
    # a control from one tab shows in both
    other.click("#play")
    wait_status(page, "running")
    assert watch.errors == [] and other_watch.errors == []
    other.close()  # else Chromium keeps treating later pages as background tabs (1 frame a second)


def test_a_link_to_a_forgotten_run_says_so_and_keeps_its_configuration(page, watch, live_server):
    page.goto(live_server + "/playground?hidden=5:tanh&opt=momentum&hyper=lr:0.05,gamma:0.8&run=gone")
    assert "no longer on the server" in page.locator("#banner").inner_text()
    assert page.evaluate("descent.state.hidden") == [{"width": 5, "activation": "tanh"}]
    assert page.locator("#optimizer").input_value() == "momentum"
    assert page.locator("#optimizer-group input.num").first.input_value() == "0.05"
    assert "run=" not in page.url
    assert watch.errors == []


def test_a_learning_rate_change_reaches_the_running_job(page, watch, live_server, app):
    page.goto(live_server + LONG)
    page.click("#play")
    page.wait_for_function("() => descent.main.data.evals.length >= 2")
    lr = page.locator("#optimizer-group input.num").first
    lr.fill("0.003")
    lr.press("Enter")
    page.wait_for_function(
        "() => descent.main.data.controls.some((c) => c.action === 'set' && c.values.lr === 0.003)"
    )
    assert "hyper=lr:0.003" in page.url
    run = app.state.runs.get(page.evaluate("descent.main.id"))
    assert any(json.loads(c).get("values") == {"lr": 0.003} for c in run._history.records["controls"])
    assert watch.errors == []


def test_a_diverging_run_says_so_and_its_curves_stop(page, watch, live_server):
    page.goto(live_server + DIVERGING)
    page.click("#play")
    wait_status(page, "diverged")
    banner = page.locator("#banner")
    assert banner.is_visible() and "diverged at step" in banner.inner_text()
    assert "diverged at step" in page.locator("#run-status").inner_text()
    # the curves end with a marker where the loss stopped being finite (drawn on the next frame)
    page.wait_for_function(
        """() => document.getElementById('loss-plot').layout.annotations
                   .some((a) => a.text.startsWith('diverged at step'))"""
    )
    assert page.locator("#play").is_enabled() and page.locator("#pause").is_disabled()
    assert watch.errors == []


def test_the_3d_view_draws_the_output_surface(page, watch, live_server):
    page.goto(live_server + "/playground?epochs=2&view=3d")
    page.click("#play")
    wait_status(page, "done")
    page.wait_for_function("() => document.getElementById('surface-main').data?.[0]?.type === 'surface'")
    assert page.locator("#surface-main canvas").count() > 0
    page.click("label:has(input[name=view][value='heatmap'])")
    page.wait_for_function("() => document.getElementById('surface-main').layout?.images?.length === 1")
    assert "view=heatmap" in page.url
    assert watch.errors == []
