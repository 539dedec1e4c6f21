import numpy as np
import pytest

from core.nn.blocks import (
    ELEMENTWISE,
    FEATURES,
    IMAGES,
    NORM_DEMOS,
    SWEEPS,
    activation_curves,
    init_report,
    loss_curves,
    normalize,
    softmax_report,
    tensor_shape,
    xavier_limit,
    xavier_range,
)
from core.nn.inits import INITS
from core.nn.losses import LOSSES
from core.nn.norms import NORMS

PRINTED = 5e-9  # the seed prints 8 decimals


# --- activations -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_derivative_curves_match_central_differences(name):
    c = activation_curves(name, -5.03, 4.97, 501)  # the grid misses the kink at 0
    f, h = ELEMENTWISE[name].forward, 1e-6
    numeric = (f(c.z + h) - f(c.z - h)) / (2 * h)
    np.testing.assert_allclose(c.df, numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(c.f, f(c.z))
    assert c.z[0] == -5.03 and c.z[-1] == 4.97 and len(c.z) == 501


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@pytest.mark.parametrize("threshold", [0.01, 0.1, 0.3])
def test_the_vanishing_intervals_hold_exactly_the_small_derivatives(name, threshold):
    c = activation_curves(name, -8, 8, 321, threshold)
    inside = np.zeros(len(c.z), bool)
    for low, high in c.vanishing:
        inside |= (c.z >= low) & (c.z <= high)
    np.testing.assert_array_equal(inside, np.abs(c.df) < threshold)


@pytest.mark.parametrize(
    "name, edge",
    [
        ("sigmoid", np.log((1 + np.sqrt(0.6)) / (1 - np.sqrt(0.6)))),  # σ(1 − σ) = 0.1
        ("tanh", np.arctanh(np.sqrt(0.9))),  # 1 − tanh² = 0.1
    ],
)
def test_sigmoid_and_tanh_vanish_in_both_tails(name, edge):
    c = activation_curves(name, -6, 6, 1201, 0.1)
    (a, b), (d, e) = c.vanishing
    step = c.z[1] - c.z[0]
    assert (a, e) == (-6, 6)
    assert b == pytest.approx(-edge, abs=step) and d == pytest.approx(edge, abs=step)


def test_relu_vanishes_on_the_negative_side_and_linear_never():
    (low, high), *rest = activation_curves("relu", -3, 3, 601).vanishing
    assert rest == [] and low == -3 and high == pytest.approx(0.005)
    assert activation_curves("linear", -3, 3, 601).vanishing == []
    assert activation_curves("leaky_relu", 0.5, 3, 10).vanishing == []


def test_activation_curves_refuse_an_empty_range_and_softmax():
    with pytest.raises(ValueError, match="low < high"):
        activation_curves("tanh", 2, 2)
    with pytest.raises(ValueError, match="valid: sigmoid, tanh, relu"):
        activation_curves("softmax", -1, 1)


# --- softmax -----------------------------------------------------------------------------------------


def test_seed_softmax():
    r = softmax_report([0.2, 0.57, 0.6, 0.12])
    np.testing.assert_allclose(r.probs, [0.2056481, 0.29772387, 0.30679091, 0.18983712], atol=PRINTED)
    assert r.total == pytest.approx(1.0, abs=1e-15)
    assert not r.overflow
    np.testing.assert_allclose(r.naive, r.probs, rtol=1e-15)
    np.testing.assert_allclose(r.naive_exp, np.exp([0.2, 0.57, 0.6, 0.12]))
    np.testing.assert_allclose(r.shifted, [-0.4, -0.03, 0, -0.48], atol=1e-15)


def test_softmax_stays_correct_where_the_naive_formula_overflows():
    seed = softmax_report([0.2, 0.57, 0.6, 0.12])
    large = softmax_report([1000.2, 1000.57, 1000.6, 1000.12])
    np.testing.assert_allclose(large.probs, seed.probs, rtol=1e-11)  # softmax(z + c) = softmax(z)
    assert large.overflow and large.naive == [None] * 4 and large.naive_exp == [None] * 4
    mixed = softmax_report([1000, 0, -1000])
    assert mixed.naive_exp[1:] == [1.0, np.exp(-1000)] and mixed.naive_exp[0] is None
    np.testing.assert_array_equal(mixed.probs, [1, 0, 0])
    assert np.isfinite(mixed.probs).all() and np.isfinite(mixed.shifted).all()


def test_softmax_report_takes_a_vector():
    with pytest.raises(ValueError, match="non-empty vector"):
        softmax_report([[1, 2]])
    with pytest.raises(ValueError, match="non-empty vector"):
        softmax_report([])


# --- losses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("target", [0.0, 0.3, 1.0])
def test_loss_gradients_match_central_differences(name, target):
    c = loss_curves(target, "linear", 200)
    loss, h = LOSSES[name], 1e-6
    y = np.array([[target]])
    interior = (c.pred > 1e-3) & (c.pred < 1 - 1e-3)
    numeric = [
        (loss.value(y, np.array([[p + h]])) - loss.value(y, np.array([[p - h]]))) / (2 * h) for p in c.pred
    ]
    np.testing.assert_allclose(c.grad[name][interior], np.array(numeric)[interior], rtol=1e-6, atol=1e-8)


def test_seed_losses_at_a_prediction_of_0_6():
    c = loss_curves(1.0, "linear", 4)  # ŷ = 0.2, 0.4, 0.6, 0.8
    np.testing.assert_allclose(c.pred, [0.2, 0.4, 0.6, 0.8])
    assert c.value["cross_entropy"][2] == 0.5108256237659891  # the seed's −log 0.6, clipping included
    assert c.value["mse"][2] == pytest.approx(0.16)
    perfect = loss_curves(1.0, "log", 5)  # ends at ŷ = 1
    assert perfect.value["cross_entropy"][-1] == 0 and perfect.value["mse"][-1] == 0  # the seed prints −0.0


def test_the_cross_entropy_clip_shows_on_the_log_sweep():
    c = loss_curves(1.0, "log", 201)  # 1e-20 ... 1, ten points per decade
    assert c.pred[0] == 1e-20 and c.pred[-1] == 1 and c.clip == 1e-15
    held = c.pred < c.clip
    assert held.sum() == 50
    np.testing.assert_allclose(c.value["cross_entropy"][held], -np.log(2e-15))  # ≈ 33.85, flat
    assert (c.grad["cross_entropy"][held] == 0).all()  # the clip holds ŷ fixed: no gradient
    free = (c.pred > 1e-14) & (c.pred < 0.5)
    np.testing.assert_allclose(c.grad["cross_entropy"][free], -1 / (c.pred[free] + 1e-15))
    assert all(np.isfinite(v).all() for v in (*c.value.values(), *c.grad.values()))


def test_loss_sweeps_are_inside_the_unit_interval():
    for name, sweep in SWEEPS.items():
        p = sweep.grid(50)
        assert len(p) == 50 and (p > 0).all() and (p <= 1).all() and (np.diff(p) > 0).all(), name
    assert SWEEPS["linear"].grid(50)[-1] < 1 and SWEEPS["log"].grid(50)[-1] == 1
    with pytest.raises(ValueError, match="valid: linear, log"):
        loss_curves(1.0, "cubic")


# --- initializations ---------------------------------------------------------------------------------

# The seed's 512 × 256 draws: (min, max, mean, SD). Its draws used the global np.random, so a seeded draw
# agrees within sampling error: SD within 1 %, mean within 4 standard errors, the extremes roughly.
SEED_INITS = {
    "gaussian": (-4.4978, 4.1724, 0.0018, 1.0009),
    "xavier": (-0.0884, 0.0884, 0.0002, 0.0511),
    "he": (-0.2562, 0.2892, 0.0001, 0.0625),
}


@pytest.mark.parametrize("seed", [0, 1, 2022])
def test_init_statistics_agree_with_the_seed(seed):
    report = init_report(512, 256, seed, bins=60)
    assert [s.name for s in report] == list(INITS) == list(SEED_INITS)
    for s in report:
        low, high, _, sd = SEED_INITS[s.name]
        assert s.std == pytest.approx(sd, rel=0.01)
        assert abs(s.mean) < 4 * sd / np.sqrt(512 * 256)
        assert s.min == pytest.approx(low, rel=0.2) and s.max == pytest.approx(high, rel=0.2)
        assert s.counts.sum() == 512 * 256 and len(s.counts) == 60 and len(s.edges) == 61
        assert (s.edges[0], s.edges[-1]) == (s.min, s.max)
    xavier = report[1]
    assert (round(xavier.min, 4), round(xavier.max, 4)) == (-0.0884, 0.0884)


def test_init_report_is_seeded():
    a, b, c = init_report(30, 20, 7), init_report(30, 20, 7), init_report(30, 20, 8)
    assert [s.std for s in a] == [s.std for s in b] != [s.std for s in c]
    np.testing.assert_array_equal(a[0].counts, b[0].counts)


def test_xavier_range_shrinks_with_the_layer_size_and_bounds_the_samples():
    sizes, limits = xavier_range(4096, 200)
    assert sizes[0] == 2 and sizes[-1] == 4096 and (np.diff(sizes) > 0).all() and (np.diff(limits) < 0).all()
    np.testing.assert_allclose(limits, np.sqrt(6 / sizes))
    assert round(float(xavier_limit(512, 256)), 4) == 0.0884
    for m, n in [(4, 4), (512, 256), (30, 2000)]:
        w = INITS["xavier"].sample(np.random.default_rng(0), m, n)
        assert np.abs(w).max() <= xavier_limit(m, n)
        assert np.abs(w).max() > 0.8 * xavier_limit(m, n)


# --- normalization -----------------------------------------------------------------------------------


def test_every_network_norm_has_a_demo_and_every_demo_says_what_it_keeps():
    assert set(NORMS) <= set(NORM_DEMOS)
    for name, demo in NORM_DEMOS.items():
        assert demo.norm.name == name and demo.norm.label and demo.norm.formula and demo.norm.reference
        params = {p.name: p.default for p in demo.params}
        r = normalize(name, demo.example, **params)
        assert len(r.kept) == len(r.stat_shape) == len(r.mean_before.shape)
        assert r.y.shape == demo.example.shape
        assert r.before.size == r.after.size == demo.example.size
        np.testing.assert_allclose(r.mean_after, 0, atol=1e-15)
        np.testing.assert_allclose(r.var_after, r.var_before / (r.var_before + 1e-8), rtol=1e-12)


def test_seed_batch_norm_statistics():
    r = normalize("batch", FEATURES)
    np.testing.assert_allclose(r.y[0], [1.34058903, -1.34963806, 1.34069849], atol=PRINTED)
    np.testing.assert_allclose(r.mean_before, [0.07666667, 1.17333333, -1.08], atol=PRINTED)
    np.testing.assert_allclose(r.var_before, [0.97442222, 0.16808889, 0.9258], atol=PRINTED)
    np.testing.assert_allclose(r.var_after, [0.99999999, 0.99999994, 0.99999999], atol=PRINTED)
    np.testing.assert_array_equal(r.before, FEATURES.T)  # one row of values per feature
    assert r.kept == ("feature",) and r.stat_shape == (3,)


def test_seed_layer_norm_statistics():
    r = normalize("layer", FEATURES)
    np.testing.assert_allclose(r.y[0], [1.3304131, -0.24987454, -1.08053856], atol=PRINTED)
    np.testing.assert_allclose(r.mean_before, [0.74333333, 0.01666667, -0.59], atol=PRINTED)
    np.testing.assert_allclose(r.var_before, [0.24362222, 1.47388889, 1.99886667], atol=PRINTED)
    np.testing.assert_allclose(r.var_after, [0.99999996, 0.99999999, 0.99999999], atol=PRINTED)
    np.testing.assert_array_equal(r.before, FEATURES)
    assert r.kept == ("sample",)


def test_seed_instance_norm_statistics():
    r = normalize("instance", IMAGES)
    np.testing.assert_allclose(
        r.y[0, 0, 0], [-0.03026291, -0.97153634, -1.5075566, -0.39056668], atol=PRINTED
    )
    assert r.kept == ("sample", "channel") and r.stat_shape == (2, 4)
    # The seed prints the first three of four channels; its sample 2, channel 3 "before" line does not
    # come from the batch it shows (that gives 0.5175 and 0.08691875): the other entries agree.
    np.testing.assert_allclose(r.mean_before[0, :3], [0.4375, 0.645, 0.575])
    np.testing.assert_allclose(r.mean_before[1, :2], [0.5675, 0.6225])
    np.testing.assert_allclose(r.var_before[0, :3], [0.06141875, 0.022275, 0.061875])
    np.testing.assert_allclose(r.var_before[1, :2], [0.10066875, 0.08411875])
    assert r.mean_before[1, 2] == pytest.approx(0.5175)
    np.testing.assert_allclose(
        r.var_after[:, :3],
        [[0.99999984, 0.99999955, 0.99999984], [0.9999999, 0.99999988, 0.99999988]],
        atol=PRINTED,
    )
    np.testing.assert_array_equal(r.before[1], IMAGES[0, :, :, 1].ravel())  # sample 1, channel 2


def test_seed_group_norm_statistics():
    r = normalize("group", IMAGES, groups=2)
    np.testing.assert_allclose(
        r.y[0, 0, 0], [-0.48502258, -0.17983983, -1.42693524, -0.54882125], atol=PRINTED
    )
    assert r.kept == ("sample", "group") and r.stat_shape == (2, 2)
    np.testing.assert_allclose(r.mean_before, [[0.54125, 0.525], [0.595, 0.53375]])
    np.testing.assert_allclose(r.var_before, [[0.05261094, 0.051875], [0.09315, 0.10497344]], atol=PRINTED)
    np.testing.assert_allclose(r.var_after, [[0.99999981, 0.99999981], [0.99999989, 0.9999999]], atol=PRINTED)
    np.testing.assert_array_equal(np.sort(r.before[3]), np.sort(IMAGES[1, :, :, 2:].ravel()))


def test_group_norm_with_one_group_is_layer_norm_and_with_c_groups_instance_norm():
    one, layer = normalize("group", IMAGES, groups=1), IMAGES.reshape(2, -1)
    np.testing.assert_allclose(one.mean_before.ravel(), layer.mean(axis=1))
    every = normalize("group", IMAGES, groups=4)
    np.testing.assert_allclose(every.y, normalize("instance", IMAGES).y, rtol=1e-12)


def test_normalize_says_what_is_wrong():
    with pytest.raises(ValueError, match="groups must divide 4 channels: one of \\[1, 2, 4\\], got 3"):
        normalize("group", IMAGES, groups=3)
    with pytest.raises(ValueError, match="Batch norm takes a 2-D batch \\(N, C\\)"):
        normalize("batch", IMAGES)
    with pytest.raises(ValueError, match="no parameter 'groups'"):
        normalize("layer", FEATURES, groups=2)
    with pytest.raises(ValueError, match="eps must be in"):
        normalize("layer", FEATURES, eps=0.0)
    with pytest.raises(ValueError, match="valid: batch, layer, instance, group"):
        normalize("weight", FEATURES)


def test_eps_sets_how_far_below_one_the_variance_lands():
    r = normalize("batch", FEATURES, eps=0.1)
    np.testing.assert_allclose(r.var_after, r.var_before / (r.var_before + 0.1))


def test_tensor_shape_finds_ragged_rows():
    assert tensor_shape(FEATURES.tolist(), 2) == (3, 3)
    assert tensor_shape(IMAGES.tolist(), 4) == (2, 2, 2, 4)
    with pytest.raises(ValueError, match="x\\[2\\] has 2 entries but x\\[0\\] has 3"):
        tensor_shape([[1, 2, 3], [4, 5, 6], [7, 8]], 2)
    ragged = IMAGES.tolist()
    ragged[1][0][1] = ragged[1][0][1][:3]
    with pytest.raises(
        ValueError, match="x\\[1\\]\\[0\\]\\[1\\] has 3 entries but x\\[0\\]\\[0\\]\\[0\\] has 4"
    ):
        tensor_shape(ragged, 4)
    with pytest.raises(ValueError, match="x\\[1\\] has 2 entries but x\\[0\\] has 1 entry"):
        tensor_shape([[[[1]]], [[[2]], [[3]]]], 4)
