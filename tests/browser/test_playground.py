"""The network playground in a real Chromium: runs train live, react to their controls, restart on
a new network, compare a linear with a nonlinear model, re-attach from a link, and stay offline."""

import json
import math
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
    train = (
        "document.getElementById('loss-plot').data.find((t) => t.name === 'train' && t.meta === 'smoothed')"
    )
    page.wait_for_function(f"() => {train}.x.length > {seen}")
    page.wait_for_function("() => document.getElementById('accuracy-plot').data.length === 2")  # unsmoothed
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


MINE = "/playground?hidden=5:tanh&opt=momentum&hyper=lr:0.05,gamma:0.8&bs=1&epochs=500"


def test_the_comparison_gives_back_the_users_settings_and_run(page, watch, live_server, app):
    page.goto(live_server + MINE)
    page.click("#play")
    page.wait_for_function("() => descent.main.data.evals.length >= 2")
    mine = page.evaluate("descent.main.id")
    before = page.evaluate("JSON.stringify(descent.state)")
    url = page.url
    page.click("#compare")
    page.wait_for_function("() => descent.linear.id && descent.main.id && descent.main.data.evals.length > 0")
    assert page.evaluate("descent.state.optimizer") == "sgd", "the comparison shows the seed's settings"
    assert server_run(app, mine, "paused").status == "paused", "the user's run waits, paused"
    page.click("#compare")  # back
    page.wait_for_function(f"() => descent.main.id === '{mine}' && descent.main.data.status === 'running'")
    # the link (state.run, run2) is saved once the run is back: wait for it, then all must match
    page.wait_for_function(f"() => descent.state.run === '{mine}' && descent.state.run2 === null")
    assert page.evaluate("JSON.stringify(descent.state)") == before
    assert page.url == url
    assert page.locator("#optimizer").input_value() == "momentum"
    assert page.locator("[aria-label='Layer 1 width']").input_value() == "5"
    assert page.locator("#compare").inner_text() == "Linear vs nonlinear (seed)"
    assert watch.errors == []


def test_toggling_the_comparison_fast_ends_where_the_last_click_says_without_errors(
    page, watch, live_server, app
):
    failed = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(live_server + MINE)
    page.click("#play")
    page.wait_for_function("() => descent.main.data.evals.length >= 1")
    mine = page.evaluate("descent.main.id")
    for _ in range(7):  # an odd number: it ends in the comparison
        page.click("#compare")
    page.wait_for_function("() => descent.state.compare && descent.linear.data.status === 'done'")
    page.click("#compare")
    for _ in range(4):  # an even number: it ends back on the user's run
        page.click("#compare")
    page.wait_for_function(f"() => !descent.state.compare && descent.main.id === '{mine}'")
    page.wait_for_function("() => descent.main.data.status === 'running'")
    live = [r for r in app.state.runs._runs.values() if not r.finished]
    assert [r.id for r in live] == [mine], "every comparison run was stopped"
    assert failed == [] and watch.errors == []


def test_the_gradient_clip_norm_comes_from_the_link_and_reaches_the_run(page, watch, live_server, app):
    page.goto(live_server + LONG + "&clip=0.5")
    clip = page.locator("#regularization-group .param[data-name=clip_norm] input.num")
    expect(clip).to_have_value("0.5")
    page.click("#play")
    page.wait_for_function("() => descent.main.data.evals.length >= 2")
    assert page.evaluate("descent.main.data.start.config.clip_norm") == 0.5
    clip.fill("2")
    clip.press("Enter")
    page.wait_for_function(
        "() => descent.main.data.controls.some((c) => c.action === 'set' && c.values.clip_norm === 2)"
    )
    assert "clip=2" in page.url
    run = app.state.runs.get(page.evaluate("descent.main.id"))
    assert any(json.loads(c).get("values") == {"clip_norm": 2} for c in run._history.records["controls"])
    assert watch.errors == []


def test_a_live_change_is_marked_on_the_curves_at_the_step_the_run_applied_it(page, watch, live_server):
    page.goto(live_server + LONG)
    page.click("#play")
    page.wait_for_function("() => descent.main.data.evals.length >= 2")
    lr = page.locator("#optimizer-group input.num").first
    lr.fill("0.003")
    lr.press("Enter")
    page.wait_for_function("() => descent.main.data.controls.some((c) => c.action === 'set')")
    change = page.evaluate("descent.main.data.controls.find((c) => c.action === 'set')")
    per = page.evaluate("descent.main.data.start.steps_per_epoch")
    for plot in ("loss-plot", "accuracy-plot"):
        marked = (
            f"document.getElementById('{plot}').layout.annotations.filter((a) => a.text === 'η → 0.003 here')"
        )
        page.wait_for_function(f"() => {marked}.length > 0")
        marks = page.evaluate(marked)
        assert [m["x"] for m in marks] == [pytest.approx(change["step"] / per)]
    assert watch.errors == []


def test_the_loss_plot_smooths_and_switches_to_a_linear_axis(page, watch, live_server):
    page.goto(live_server + "/playground?epochs=20")
    page.click("#play")
    wait_status(page, "done")
    batch = "document.getElementById('loss-plot').data.filter((t) => t.name.startsWith('batch'))"
    page.wait_for_function(
        f"() => {batch}.length === 2 && {batch}[0].y.length === descent.main.data.loss.length"
    )
    raw, smoothed = page.evaluate(f"{batch}.map((t) => t.y)")
    losses = page.evaluate("descent.main.data.loss")
    assert raw == pytest.approx(losses) and smoothed[0] == pytest.approx(losses[0])
    assert smoothed[1] == pytest.approx((0.6 * 0.4 * losses[0] + 0.4 * losses[1]) / (1 - 0.36))
    axis = page.evaluate("document.getElementById('loss-plot').layout.yaxis")
    assert axis["type"] == "log" and all(math.log10(v) == round(math.log10(v)) for v in axis["tickvals"][:1])
    page.locator("[aria-label='Loss log scale']").uncheck()
    page.wait_for_function("() => document.getElementById('loss-plot').layout.yaxis.type === 'linear'")
    assert "logy=0" in page.url
    page.locator("[aria-label='Loss smoothing']").fill("0")
    page.wait_for_function(f"() => {batch}.length === 1")
    assert "smooth=0" in page.url
    assert watch.errors == []


def test_the_diagnostics_curves_smooth_and_switch_axes(page, watch, live_server):
    page.goto(live_server + "/playground?epochs=20")
    page.click("#play")
    wait_status(page, "done")
    page.click("#tab-diagnostics")
    grad = "document.getElementById('grad-plot')"
    page.wait_for_function(f"() => {grad}.data?.length > 0 && {grad}.layout.yaxis.type === 'log'")
    page.locator("[aria-label='Gradient norm smoothing']").fill("0.5")
    page.wait_for_function(f"() => {grad}.data.some((t) => t.meta === 'smoothed')")
    raw, smoothed = page.evaluate(f"{grad}.data.slice(0, 2).map((t) => [t.meta, t.y])")
    assert (raw[0], smoothed[0]) == ("raw", "smoothed")
    first = next(i for i, v in enumerate(raw[1]) if v is not None)  # gaps stay gaps
    assert smoothed[1][:first] == raw[1][:first] and smoothed[1][first] == pytest.approx(raw[1][first])
    page.locator("[aria-label='Gradient norm log scale']").uncheck()
    page.wait_for_function(f"() => {grad}.layout.yaxis.type === 'linear'")
    page.locator("[aria-label='Dead ReLUs log scale']").check()
    page.wait_for_function("() => document.getElementById('dead-plot').layout.yaxis.type === 'log'")
    assert watch.errors == []
