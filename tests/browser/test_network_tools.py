"""The network tools in a real Chromium: the LR range test draws and its suggestion link carries the
rate into the network playground, a 3×3 map completes and a clicked cell replays in the network
playground, a seed band draws; the page names where jobs run, says when the pool is starting, and
draws a bar per job; no console errors, nothing from another host."""

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest

from app.jobs import JobLimits, JobManager
from app.main import create_app
from tests.conftest import serve

SMALL = "ds=moons&hidden=8:relu&opt=momentum&hyper=lr:0.05,gamma:0.9&epochs=3&bs=16"


def foreign(watch, live_server):
    return watch.hosts - {urlsplit(live_server).netloc, "data", "blob"}


def run_tool(page, live_server, tool, query):
    page.goto(f"{live_server}/network-tools?{SMALL}&tool={tool}&{query}")
    page.wait_for_function("() => document.getElementById('app').dataset.status === 'ready'")
    page.click("#run")
    page.wait_for_function(f"() => ['done', 'error'].includes(document.getElementById('app').dataset.{tool})")
    assert page.get_attribute("#app", f"data-{tool}") == "done", page.inner_text("#tool-error")


@pytest.fixture(autouse=True)
def cancel_jobs(app):
    """Jobs outlive their pages for a minute: cancel what a test left running."""
    yield
    app.state.jobs.cancel_all()


def test_the_lr_range_test_draws_and_its_suggestion_carries_the_rate(page, watch, live_server):
    run_tool(page, live_server, "range", "lr_min=0.0001&lr_max=10&range_steps=100")
    traces = page.evaluate("document.getElementById('range-plot').data.map((t) => t.name)")
    assert traces == ["mini-batch loss", "smoothed"]
    marks = page.evaluate("document.getElementById('range-plot').layout.annotations.map((a) => a.text)")
    assert any(m.startswith("steepest descent") for m in marks)
    ticks = page.evaluate("document.getElementById('range-plot').layout.xaxis.ticktext")
    assert ticks == ["10⁻⁴", "10⁻³", "0.01", "0.1", "1", "10"], "each decade once, nothing between"
    link = page.locator("#use-in-playground")
    assert link.inner_text().endswith("in the network playground →")
    href = link.get_attribute("href")
    query = parse_qs(urlsplit(href).query)
    lr = float(query["hyper"][0].split(",")[0].removeprefix("lr:"))
    shown = page.inner_text(".suggestion b")
    assert abs(lr - float(shown)) <= 1e-3 * lr * 10  # the shown value is rounded to 3 digits
    assert query["hidden"] == ["8:relu"] and query["opt"] == ["momentum"] and 1e-4 < lr < 10
    link.click()
    page.wait_for_url("**/playground?*")
    page.wait_for_function("() => window.descent && descent.state")
    assert page.evaluate("descent.state.hyper.lr") == lr
    assert watch.errors == [] and foreign(watch, live_server) == set()


def test_a_3x3_map_completes_and_a_cell_replays_in_the_network_playground(page, watch, live_server):
    run_tool(
        page, live_server, "map", "x_min=0.01&x_max=1&nx=3&y=gamma&y_min=0&y_max=0.9&ny=3&metric=accuracy"
    )
    assert page.get_attribute("#app", "data-map-cells") == "9"
    z = page.evaluate("document.getElementById('map-plot').data[0].z")
    assert len(z) == 3 and all(len(r) == 3 for r in z)
    assert sum(v is not None for r in z for v in r) >= 6  # diverged cells (✕) are empty
    assert page.locator("#map-plot .annotation").count() == 9
    box = page.locator("#map-plot .nsewdrag").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 5 / 6, box["y"] + box["height"] / 6)  # η = 1, γ = 0.9
    page.wait_for_selector("#replay")
    assert page.inner_text("#replay") == "Replay in the network playground →"
    query = parse_qs(urlsplit(page.get_attribute("#replay", "href")).query)
    assert query["hyper"] == ["lr:1,gamma:0.9"] and query["epochs"] == ["3"]
    assert "η = 1, γ (momentum) = 0.9" in page.inner_text("#cell-detail")
    assert watch.errors == [] and foreign(watch, live_server) == set()


def test_a_seed_band_draws_the_mean_and_the_share_reaching_the_target(page, watch, live_server):
    run_tool(page, live_server, "seeds", "seeds=3&target=0.8")
    names = page.evaluate("document.getElementById('seeds-loss-plot').data.map((t) => t.name)")
    assert names.count("each seed") == 3 and "mean loss" in names and "± 1 standard deviation" in names
    assert "of 3" in page.inner_text("#tool-result")
    assert watch.errors == [] and foreign(watch, live_server) == set()


def test_the_seed_bands_loss_smooths_its_mean_and_switches_to_a_log_axis(page, watch, live_server):
    run_tool(page, live_server, "seeds", "seeds=3&target=0.8")
    mean = "document.getElementById('seeds-loss-plot').data.find((t) => t.name === 'mean loss').y"
    page.locator("[aria-label='Seed band loss smoothing']").fill("0.5")
    page.wait_for_function(
        "() => document.getElementById('seeds-loss-plot').data.some((t) => t.meta === 'smoothed')"
    )
    raw = page.evaluate(mean)
    smoothed = page.evaluate(
        "document.getElementById('seeds-loss-plot').data.find((t) => t.meta === 'smoothed').y"
    )
    last, expected = 0.0, []
    for i, v in enumerate(raw):  # TensorBoard's debiased moving average of the mean
        last = 0.5 * last + 0.5 * v
        expected.append(last / (1 - 0.5 ** (i + 1)))
    assert smoothed == pytest.approx(expected, rel=1e-9)
    page.locator("[aria-label='Seed band loss log scale']").check()
    page.wait_for_function("() => document.getElementById('seeds-loss-plot').layout.yaxis.type === 'log'")
    assert watch.errors == []


def test_the_page_names_the_pool_and_each_tabs_bar_follows_its_own_job(page, watch, live_server):
    run_tool(page, live_server, "map", "x_min=0.01&x_max=1&nx=2&y=gamma&y_min=0&y_max=0.9&ny=2")
    pool = page.evaluate("JSON.parse(document.getElementById('page').textContent).limits.pool")
    assert page.inner_text("#pool-status") == f"Jobs run on the local pool, {pool['capacity']} processes."
    bars = """(t) => {
        const bar = document.querySelector(`#tab-${t} .tab-progress`);
        return [bar.dataset.state, bar.firstElementChild.style.transform];
    }"""
    assert page.evaluate(f"({bars})('map')") == ["done", "scaleX(1)"]
    assert page.evaluate(f"({bars})('seeds')")[0] == "idle"  # no job yet: no bar
    assert page.evaluate("getComputedStyle(document.getElementById('progress-bar')).display") == "block"
    page.click("#tab-seeds")
    page.click("#run")
    page.wait_for_function("() => document.getElementById('app').dataset.seeds === 'done'")
    assert page.evaluate(f"({bars})('seeds')") == ["done", "scaleX(1)"]
    assert page.evaluate(f"({bars})('map')") == ["done", "scaleX(1)"]  # the other job's bar stays
    assert watch.errors == []


class SlowPool(ThreadPoolExecutor):
    """A pool that takes a while to start, as a cluster does."""

    def __init__(self, workers):
        time.sleep(2.0)
        super().__init__(workers)


def test_while_the_pool_starts_the_page_says_so_and_the_job_waits(page, watch):
    app = create_app()
    app.state.jobs = JobManager(JobLimits(workers=1), executor_factory=SlowPool)
    with serve(app) as url:
        page.goto(f"{url}/network-tools?{SMALL}&tool=seeds&seeds=2")
        page.wait_for_function("() => document.getElementById('app').dataset.status === 'ready'")
        assert page.inner_text("#pool-status").startswith(
            "Starting tests.browser.test_network_tools:SlowPool"
        )
        assert page.get_attribute("#pool-status", "data-state") == "starting"
        page.click("#run")
        status = "document.getElementById('tool-status').textContent"
        page.wait_for_function(f"() => {status}.startsWith('waiting for the pool to start')")
        page.wait_for_function("() => document.getElementById('app').dataset.seeds === 'done'")
        assert (
            page.inner_text("#pool-status")
            == "Jobs run on tests.browser.test_network_tools:SlowPool, 1 worker."
        )
        app.state.jobs.cancel_all()
    assert watch.errors == []
