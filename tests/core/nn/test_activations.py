import numpy as np
import pytest

from core.nn.activations import ACTIVATIONS, LEAKY_SLOPE, get_activation, sigmoid, softmax
from tests.gradcheck import numeric_grad

NAMES = list(ACTIVATIONS)
ELEMENTWISE = [name for name in NAMES if ACTIVATIONS[name].derivative is not None]


def _z(shape=(6, 5), seed=0):
    """float64 inputs kept away from ReLU's kink at 0, where the derivative is undefined."""
    z = np.random.default_rng(seed).uniform(-3, 3, shape)
    return np.where(np.abs(z) < 0.05, 0.5, z)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_central_differences(name):
    act = get_activation(name)
    z = _z()
    h = 1e-6
    fd = (act.forward(z + h) - act.forward(z - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(z, act.forward(z)), fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_backward_is_the_vector_jacobian_product(name):
    act = get_activation(name)
    z = _z()
    dout = np.random.default_rng(1).standard_normal(z.shape)
    fd = numeric_grad(lambda: np.sum(dout * act.forward(z)), z)
    np.testing.assert_allclose(act.backward(dout, z, act.forward(z)), fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    act = get_activation(name)
    z = _z().astype(np.float32)
    a = act.forward(z)
    dz = act.backward(np.ones_like(z), z, a)
    assert a.dtype == np.float32 and dz.dtype == np.float32
    if act.derivative is not None:
        assert act.derivative(z, a).dtype in (np.float32, np.bool_)


@pytest.mark.parametrize("name", NAMES)
def test_registry_entries_are_described(name):
    act = ACTIVATIONS[name]
    assert act.name == name and act.label and act.formula
    assert (act.derivative is None) == (act.vjp is not None), "element-wise or a vjp, not both"


def test_relu_derivative_is_a_mask_that_keeps_float32():
    """The seed's (z > 0) * 1 is int64 and turns float32 gradients into float64."""
    z = np.array([-1.0, 0.0, 2.0], np.float32)
    mask = get_activation("relu").derivative(z, None)
    assert mask.dtype == np.bool_
    assert (z * mask).dtype == np.float32
    np.testing.assert_array_equal(mask, [False, False, True])


def test_leaky_relu_slope():
    act = get_activation("leaky_relu")
    z = np.array([-2.0, 3.0])
    np.testing.assert_allclose(act.forward(z), [-2 * LEAKY_SLOPE, 3.0])
    np.testing.assert_allclose(act.derivative(z, None), [LEAKY_SLOPE, 1.0])


def test_seed_neuron_activation():
    """Weighted sum 1.11 through a sigmoid, as the seed's single neuron prints."""
    weights, inputs, bias = np.array([0.1, 0.2, 0.3]), np.array([0.2, 0.3, 0.1]), 1
    z = np.dot(inputs, weights) + bias
    assert z == pytest.approx(1.11)
    assert float(sigmoid(np.array(z))) == pytest.approx(0.7521291114395702, rel=1e-15)


def test_sigmoid_does_not_overflow():
    z = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = sigmoid(z)
    np.testing.assert_allclose(a, [0.0, np.exp(-40) / (1 + np.exp(-40)), 0.5, 1.0, 1.0], rtol=1e-15, atol=0)
    assert a[0] == 0 and a[1] > 0, "tiny values keep their relative accuracy"


def test_seed_softmax():
    out = softmax(np.array([[0.2, 0.57, 0.6, 0.12]]))
    np.testing.assert_allclose(out, [[0.2056481, 0.29772387, 0.30679091, 0.18983712]], atol=5e-9)
    assert out.sum() == pytest.approx(1.0)


def test_softmax_is_finite_for_huge_logits():
    z = np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1000.0, -1001.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = softmax(z)
    e = np.exp([0.0, -1.0])
    np.testing.assert_allclose(out[0], [e[0] / e.sum(), e[1] / e.sum(), 0.0], atol=1e-300)
    e = np.exp([0.0, 0.0, -1.0])
    np.testing.assert_allclose(out[1], e / e.sum(), rtol=1e-15)
    np.testing.assert_allclose(softmax(z + 5000), out, rtol=1e-12)  # shift invariance
    z32 = z.astype(np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert np.isfinite(softmax(z32)).all()


def test_softmax_is_output_only():
    assert get_activation("softmax").output_only
    assert not any(ACTIVATIONS[name].output_only for name in ELEMENTWISE)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="relu") as info:
        get_activation("swish")
    assert all(name in str(info.value) for name in NAMES)
