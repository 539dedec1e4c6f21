"""λmax from Hessian-vector products, the step sizes' stability thresholds, and the probe that measures
both while a network trains."""

import numpy as np
import pytest

from core.nn import sharpness as module
from core.nn.network import Network, NetworkSpec
from core.nn.sharpness import (
    EXAMPLES,
    STABILITY,
    SharpnessProbe,
    hessian_vector_product,
    sharpness,
    stability_threshold,
    top_eigenvalue,
)
from core.optimizers import OPTIMIZERS, get_optimizer

SPEC = NetworkSpec(3, 2, hidden=((5, "tanh"),), output="linear", loss="mse", init="xavier")


def data(seed=0, n=12):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.normal(size=(n, 2))


def dense_hessian(product, n):
    return np.column_stack([product(e) for e in np.eye(n)])


def test_products_are_those_of_the_hessian_of_the_loss():
    """H·e_i against second differences of the loss itself: a different computation of the same matrix."""
    net = Network(SPEC, seed=1, dtype=np.float64)
    x, y = data()
    n = net.params.size
    hessian = dense_hessian(hessian_vector_product(net, x, y), n)
    np.testing.assert_allclose(hessian, hessian.T, atol=1e-7)
    theta, h = net.params.copy(), 1e-4

    def loss(point):
        net.params[:] = point
        return net.loss_and_grad(x, y)

    for i, j in [(0, 0), (3, 7), (n - 1, 2), (10, n - 3)]:
        ei, ej = np.eye(n)[i] * h, np.eye(n)[j] * h
        second = (
            loss(theta + ei + ej) - loss(theta + ei - ej) - loss(theta - ei + ej) + loss(theta - ei - ej)
        ) / (4 * h * h)
        assert hessian[i, j] == pytest.approx(second, rel=1e-4, abs=1e-6)
    net.params[:] = theta


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lanczos_finds_the_largest_eigenvalue(seed):
    net = Network(SPEC, seed=seed, dtype=np.float64)
    x, y = data(seed)
    product = hessian_vector_product(net, x, y)
    exact = np.linalg.eigvalsh(dense_hessian(product, net.params.size))
    assert sharpness(net, x, y, iterations=30, seed=seed) == pytest.approx(exact[-1], rel=1e-6)


def test_the_largest_eigenvalue_is_the_largest_algebraic_one_not_in_magnitude():
    diagonal = np.array([-50.0, 3.0, 2.0, 1.0])
    assert top_eigenvalue(lambda v: diagonal * v, 4) == pytest.approx(3.0, rel=1e-12)


def test_a_network_that_has_diverged_has_no_sharpness():
    net = Network(SPEC, seed=0, dtype=np.float64)
    net.params[:] = np.nan
    assert np.isnan(sharpness(net, *data()))


def test_a_float32_network_is_measured_in_float64():
    net = Network(SPEC, seed=3)
    x, y = data(3)
    twin = Network(SPEC, seed=3, dtype=np.float64)
    assert sharpness(net, x, y) == pytest.approx(sharpness(twin, x, y), rel=1e-5)
    assert net.params.dtype == np.float32


def quadratic_hyper(name):
    """η = 0.1, and for the preconditioned rules ε = 1: on a quadratic whose gradients stay far below 1,
    P = √v̂ + ε, √(E + ε) or √(G + ε) is then 1 to within 1e-12, so the threshold applies to the
    curvature itself. AdamW's decay is left out, as its threshold leaves it out."""
    spec = get_optimizer(name)
    given = {"lr": 0.1}
    given.update({k: v for k, v in {"eps": 1.0, "weight_decay": 0.0}.items() if k in spec.hyperparameters()})
    return spec.hyperparameters(**given)


@pytest.mark.parametrize("name", STABILITY)
def test_the_threshold_is_where_a_quadratic_stops_converging(name):
    """On f(θ) = λθ²/2 the optimizer converges just below its threshold and grows just above it: |θ|
    over steps 200-300 against steps 100-200, after the transient of Adam's bias correction (its first
    steps take the whole gradient, and carry θ up by 1e15). From θ = 1e-200 everything stays linear: an
    adaptive rule's gradients stay far below ε, where a growing √v̂ would damp them (its
    self-stabilization, which is not tested here)."""
    hyper = quadratic_hyper(name)
    threshold = STABILITY[name].threshold(hyper)
    spec = get_optimizer(name)
    for curvature, converges in [(0.98 * threshold, True), (1.02 * threshold, False)]:
        theta = np.array([1e-200])
        rule = spec.make(theta, dict(hyper))
        next(rule)
        sizes = []
        for _ in range(300):
            rule.send(curvature * theta)
            sizes.append(abs(theta[0]))
        growth = max(sizes[200:]) / max(sizes[100:200])
        assert (growth < 0.1) if converges else (growth > 10), (curvature, growth)


def test_thresholds_by_hand():
    assert stability_threshold("sgd", {"lr": 0.1}) == pytest.approx(20)
    assert stability_threshold("momentum", {"lr": 0.1, "gamma": 0.9}) == pytest.approx(38)
    assert stability_threshold("nesterov", {"lr": 0.1, "gamma": 0.9}) == pytest.approx(3.8 / 0.28)
    adam = get_optimizer("adam").hyperparameters(lr=0.001)
    assert STABILITY["adam"].threshold(adam) == pytest.approx(38 / 0.001)  # (2 + 2β1)/((1 − β1)η), β1 = 0.9
    assert STABILITY["rmsprop"].threshold({"lr": 0.01}) == pytest.approx(200)


def test_adaptive_rules_have_no_fixed_threshold():
    assert stability_threshold("adam", {"lr": 0.001}) is None


# --- the probe -------------------------------------------------------------------------------------------


def trained(name, steps=25, dtype=np.float32, seed=0, **hyper):
    """A tiny network after `steps` steps of `name` on its data: (net, x, y, hyperparameters, state)."""
    net = Network(SPEC, seed=seed, dtype=dtype)
    x, y = data(seed)
    spec = get_optimizer(name)
    hp = spec.hyperparameters(**{"lr": 0.01, **hyper})
    opt = spec.make(net.params, hp)
    _, state = next(opt)
    for _ in range(steps):
        net.loss_and_grad(x, y)
        _, state = opt.send(net.grad)
    return net, x, y, hp, state


# P's diagonal, written out again from core/optimizers.py's update rules: the second-moment estimate under
# the root, and where ε sits (inside the root for RMSprop and Adagrad, outside for the Adams)
SECOND_MOMENTS = {
    "adam": lambda s, hp, t: s["v"] / (1 - hp["b2"] ** t),
    "adamw": lambda s, hp, t: s["v"] / (1 - hp["b2"] ** t),
    "amsgrad": lambda s, hp, t: s["v_max"] / (1 - hp["b2"] ** t),
    "rmsprop": lambda s, hp, t: s["E"],
    "adagrad": lambda s, hp, t: s["G"],
}
EPS_INSIDE = {"rmsprop", "adagrad"}


def top_preconditioned(hessian, p):
    scale = 1 / np.sqrt(p)
    return np.linalg.eigvalsh(scale[:, None] * hessian * scale[None, :])[-1]


@pytest.mark.parametrize("name", [name for name, rule in STABILITY.items() if rule.preconditioner])
def test_preconditioned_sharpness_is_the_top_eigenvalue_of_the_preconditioned_hessian(name, monkeypatch):
    """λmax(P⁻¹H) against eigvalsh of P^(-1/2)·H·P^(-1/2) from a dense Hessian, with the float32 state of
    a float32 network's optimizer. Lanczos runs to its last step here; the default tolerance is tested
    below."""
    monkeypatch.setattr(module, "TOLERANCE", 0.0)
    monkeypatch.setattr(module, "PROBE_ITERATIONS", 40)
    steps = 25
    net, x, y, hp, state = trained(name, steps, eps=0.1)  # ε large enough that where it sits matters
    assert all(v.dtype == np.float32 for v in state.values())
    moment = SECOND_MOMENTS[name]({k: v.astype(np.float64) for k, v in state.items()}, hp, steps)
    inside, outside = np.sqrt(moment + hp["eps"]), np.sqrt(moment) + hp["eps"]
    hessian = dense_hessian(hessian_vector_product(net, x, y), net.params.size)
    expected = top_preconditioned(hessian, inside if name in EPS_INSIDE else outside)
    result = SharpnessProbe(net, x, y, name).measure(hp, state, steps)
    assert result["preconditioned"] == pytest.approx(expected, rel=1e-5)
    assert result["sharpness"] == pytest.approx(np.linalg.eigvalsh(hessian)[-1], rel=1e-5)
    assert result["threshold"] == pytest.approx(STABILITY[name].threshold(hp))
    # the comparison tells where ε sits: with it on the other side of the root, λ is another number
    other = top_preconditioned(hessian, outside if name in EPS_INSIDE else inside)
    assert abs(other / expected - 1) > 1e-3


def test_a_warm_start_gives_the_cold_starts_value_in_fewer_products():
    """Probed at every step while training, the probe's λ agrees with a fresh 40-step Lanczos from a random
    start at the end, and takes fewer products than a probe starting cold at the same weights."""
    net, x, y, hp, _ = trained("sgd", steps=0, lr=0.05)
    probe = SharpnessProbe(net, x, y, "sgd")
    opt = get_optimizer("sgd").make(net.params, hp)
    next(opt)
    for t in range(40):
        probe.measure(hp, {}, t)
        net.loss_and_grad(x, y)
        opt.send(net.grad)
    before = probe.products
    warm = probe.measure(hp, {}, 40)["sharpness"]
    cold_probe = SharpnessProbe(net, x, y, "sgd", seed=1)
    cold = cold_probe.measure(hp, {}, 40)["sharpness"]
    exact = sharpness(net, x, y, iterations=40, seed=2)
    assert warm == pytest.approx(exact, rel=1e-3)
    assert cold == pytest.approx(exact, rel=1e-3)
    assert probe.products - before < cold_probe.products


@pytest.mark.parametrize("name", ["sgd", "momentum", "rmsprop", "adam", "adamw", "amsgrad", "nadam", "lion"])
def test_what_the_probe_reports(name):
    """Every rule gets λmax(H); the threshold is the registry's or None; the preconditioned rules add
    λmax(P⁻¹H). Before the first step an adaptive rule has no preconditioner: None, not a division by 0."""
    net, x, y, hp, state = trained(name, steps=0)
    with np.errstate(all="raise"):
        before = SharpnessProbe(net, x, y, name).measure(hp, state, 0)
    rule = STABILITY.get(name)
    assert before["sharpness"] == pytest.approx(sharpness(net, x, y), rel=1e-3)
    assert before["threshold"] == (None if rule is None else pytest.approx(rule.threshold(hp)))
    assert ("preconditioned" in before) == (rule is not None and rule.preconditioner is not None)
    assert before.get("preconditioned") is None


def test_every_optimizer_either_has_a_rule_or_reports_no_threshold():
    net, x, y, _, _ = trained("sgd", steps=0)
    for name, spec in OPTIMIZERS.items():
        result = SharpnessProbe(net, x, y, name).measure(spec.hyperparameters(), {}, 0)
        assert (result["threshold"] is None) == (name not in STABILITY)


def test_a_diverged_network_reports_none_not_nan():
    net, x, y, hp, state = trained("adam", steps=3)
    net.params[0] = np.inf
    result = SharpnessProbe(net, x, y, "adam").measure(hp, state, 3)
    assert result == {"sharpness": None, "threshold": pytest.approx(38 / 0.01), "preconditioned": None}


def test_the_probe_uses_the_first_examples_only():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(EXAMPLES + 50, 3)), rng.normal(size=(EXAMPLES + 50, 2))
    x[EXAMPLES:] *= 1000  # rows past EXAMPLES would change λmax by orders of magnitude
    net = Network(SPEC, seed=5)
    probed = SharpnessProbe(net, x, y, "sgd").measure({"lr": 0.1}, {}, 0)["sharpness"]
    assert probed == pytest.approx(sharpness(net, x[:EXAMPLES], y[:EXAMPLES]), rel=1e-3)
