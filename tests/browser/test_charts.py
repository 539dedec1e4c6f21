"""static/charts.js in Chromium, against values computed by hand."""

import math

import pytest


@pytest.fixture
def charts(page, live_server):
    page.goto(live_server + "/blocks")  # any page of the app: the module loads from its origin

    def call(name, *args):
        return page.evaluate(
            f"(args) => import('/static/charts.js').then((m) => m.{name}(...args))", list(args)
        )

    return call


def test_smooth_is_tensorboards_debiased_moving_average(charts):
    # w = 0.5: last = 0.5, 1.25, 2.125; divided by 1 - 0.5^n = 0.5, 0.75, 0.875
    assert charts("smooth", [1, 2, 3], 0.5) == pytest.approx([1, 1.25 / 0.75, 2.125 / 0.875], rel=1e-12)
    assert charts("smooth", [4, 7, -1], 0) == [4, 7, -1], "weight 0 is the raw curve"
    # a gap stays a gap and does not move the average: 3 is the second value it has seen
    gap = charts("smooth", [1, None, 3], 0.5)
    assert gap[1] is None and gap[::2] == pytest.approx([1, 1.75 / 0.75], rel=1e-12)
    out = charts("smooth", [2, float("nan"), 2], 0.9)
    assert out[0] == pytest.approx(2) and math.isnan(out[1]) and out[2] == pytest.approx(2)


def test_smooth_refuses_a_weight_outside_0_to_1(page, charts):
    for weight in (1, -0.1):
        message = page.evaluate(
            f"() => import('/static/charts.js').then((m) => {{ try {{ m.smooth([1], {weight}); }}"
            " catch (e) { return e.message; } })"
        )
        assert message == f"smoothing weight must be in [0, 1), got {weight}"


def test_robust_range_leaves_out_a_spike(charts):
    values = [*range(1, 101), 300000]  # 101 values: the 1st percentile is the 2nd, the 99th the 100th
    assert charts("robustRange", values) == [2, 100]
    assert charts("robustRange", [1, 2, 3, 4], {"low": 0.25, "high": 0.75}) == [1.75, 3.25]
    assert charts("robustRange", [None, -1, 5, 0], {"positive": True}) == [5, 5]
    assert charts("robustRange", [None]) is None


def test_a_decade_axis_labels_few_decades_and_plain_values_inside_one(charts):
    wide = charts("decadeAxis", 1e-7, 10)  # 9 decades: every 2nd, from 10⁻⁶
    assert wide["tickvals"] == pytest.approx([1e-6, 1e-4, 1e-2, 1]) and wide["type"] == "log"
    assert wide["ticktext"] == ["10⁻⁶", "10⁻⁴", "0.01", "1"]
    assert wide["range"] == pytest.approx([-7, 1])
    few = charts("decadeAxis", 0.05, 20)
    assert few["ticktext"] == ["0.1", "1", "10"]
    narrow = charts("decadeAxis", 0.15, 0.9)  # less than a decade: 1, 2, 5 times a power of ten
    assert narrow["tickvals"] == pytest.approx([0.2, 0.5]) and narrow["ticktext"] == ["0.2", "0.5"]


def test_curve_controls_are_labelled_and_report_changes(page, charts):
    changes = page.evaluate(
        """() => import('/static/charts.js').then((m) => {
             const seen = [];
             const onChange = (v) => seen.push(v);
             const el = m.curveControls({ smoothing: 0.6, log: true, robust: true, label: 'Loss', onChange });
             document.body.append(el);
             const slider = el.querySelector('[aria-label="Loss smoothing"]');
             slider.value = '0.9';
             slider.dispatchEvent(new Event('input'));
             el.querySelector('[aria-label="Loss log scale"]').click();
             el.querySelector('[aria-label="Loss all values"]').click();
             return seen;
           })"""
    )
    assert changes == [
        {"smoothing": 0.9, "log": True, "robust": True},
        {"smoothing": 0.9, "log": False, "robust": True},
        {"smoothing": 0.9, "log": False, "robust": False},
    ]
