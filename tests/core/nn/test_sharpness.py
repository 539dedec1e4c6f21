"""λmax from Hessian-vector products, and the step sizes' stability thresholds."""

import numpy as np
import pytest

from core.nn.network import Network, NetworkSpec
from core.nn.sharpness import hessian_vector_product, sharpness, stability_threshold, top_eigenvalue
from core.optimizers import get_optimizer

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


@pytest.mark.parametrize(("name", "hyper"), [("sgd", {"lr": 0.1}), ("momentum", {"lr": 0.1, "gamma": 0.9})])
def test_the_threshold_is_where_a_quadratic_stops_converging(name, hyper):
    """On f(θ) = λθ²/2 the optimizer converges just below its threshold and diverges just above."""
    threshold = stability_threshold(name, hyper)
    spec = get_optimizer(name)
    for curvature, converges in [(0.98 * threshold, True), (1.02 * threshold, False)]:
        theta = np.array([1.0])
        rule = spec.make(theta, spec.hyperparameters(**hyper))
        next(rule)
        for _ in range(3000):
            rule.send(curvature * theta)
        assert (abs(theta[0]) < 1e-3) == converges, (curvature, theta)


def test_adaptive_rules_have_no_fixed_threshold():
    assert stability_threshold("adam", {"lr": 0.001}) is None
