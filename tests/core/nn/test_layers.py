import numpy as np
import pytest

from core.nn.activations import ACTIVATIONS
from core.nn.layers import ActivationLayer, Dense, Dropout, dead_fraction
from core.nn.losses import get_loss
from tests.gradcheck import numeric_grad


def check_backward(layer, x, seed=1, reset=lambda: None):
    """Every grads[k] and dx against central differences of L = Σ dout·forward(x), in float64."""
    dout = np.random.default_rng(seed).standard_normal(layer.forward(x).shape)

    def loss():
        reset()
        return float(np.sum(dout * layer.forward(x)))

    loss()
    dx = layer.backward(dout)
    assert set(layer.grads) == set(layer.params)
    for key, value in layer.params.items():
        assert layer.grads[key].shape == value.shape
        np.testing.assert_allclose(layer.grads[key], numeric_grad(loss, value), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-9)


def _x(shape=(5, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_dense_backward(activation):
    layer = Dense(4, 3, activation, rng=0, dtype=np.float64)
    layer.params["b"][:] = [0.1, -0.2, 0.3]
    x = _x()
    assert np.abs(x @ layer.params["W"] + layer.params["b"]).min() > 1e-3, "z off ReLU's kink"
    check_backward(layer, x)


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n != "softmax"])
def test_activation_layer_backward(name):
    x = _x()
    check_backward(ActivationLayer(name), np.where(np.abs(x) < 0.05, 0.5, x))


def test_dropout_backward_with_a_fixed_mask():
    layer = Dropout(0.4, rng=3)
    check_backward(layer, _x(), reset=lambda: setattr(layer, "rng", np.random.default_rng(3)))
    assert layer.mask is not None and (layer.mask == 0).any()


def test_seed_layer_output():
    """3 inputs, 2 ReLU neurons: the seed's relu(x·W + b) = [1.5764, 3.1842], per sample of a batch."""
    layer = Dense(3, 2, "relu", rng=0, dtype=np.float64)
    layer.params["W"][:] = [[0.18, 0.24], [0.32, -0.15], [0.6, -0.28]]
    layer.params["b"][:] = [1, 3]
    out = layer.forward(np.array([[1.4, 0.62, 0.21], [1.4, 0.62, 0.21]]))
    np.testing.assert_allclose(out, [[1.5764, 3.1842], [1.5764, 3.1842]], rtol=1e-14)


def test_seed_single_neuron_backprop():
    """σ(x·w + b) with an MSE loss: the seed's worked example and its printed gradients."""
    layer = Dense(3, 1, "sigmoid", rng=0, dtype=np.float64)
    layer.params["W"][:] = [[0.18], [0.24], [-0.2]]
    layer.params["b"][:] = 0.5
    x, y = np.array([[1.4, 0.62, 0.21]]), np.array([[1.0]])
    pred = layer.forward(x)
    layer.backward(get_loss("mse").grad(y, pred))
    np.testing.assert_allclose(layer.grads["W"], [[-0.17417494], [-0.07713462], [-0.02612624]], atol=5e-9)
    np.testing.assert_allclose(layer.grads["b"], [-0.12441067], atol=5e-9)

    def loss(w0):  # the seed's finite-difference check of ∂L/∂w₁ with h = 1e-4
        layer.params["W"][0, 0] = w0
        return get_loss("mse").value(y, layer.forward(x))

    fd = (loss(0.1801) - loss(0.1799)) / 0.0002
    assert fd == pytest.approx(-0.17417493743975, abs=1e-12)


def test_torch_linear(torch):
    layer = Dense(4, 3, "linear", rng=0, dtype=np.float64)
    layer.params["b"][:] = [0.1, -0.2, 0.3]
    x = _x()
    dout = np.random.default_rng(1).standard_normal((5, 3))
    ref = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.params["W"].T))
        ref.bias.copy_(torch.tensor(layer.params["b"]))
    tx = torch.tensor(x, requires_grad=True)
    out = ref(tx)
    out.backward(torch.tensor(dout))
    np.testing.assert_allclose(layer.forward(x), out.detach().numpy(), rtol=1e-12)
    dx = layer.backward(dout)
    np.testing.assert_allclose(layer.grads["W"], ref.weight.grad.numpy().T, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], ref.bias.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trimming_zero_input_columns_changes_nothing(dtype):
    x = _x((6, 10)).astype(dtype)
    x[:, :3] = 0
    x[:, -2:] = 0
    x[:, 5] = 0  # an inner zero column stays in the product
    dout = _x((6, 7), seed=2).astype(dtype)
    full, trimmed = Dense(10, 7, "tanh", rng=4, dtype=dtype), Dense(10, 7, "tanh", rng=4, dtype=dtype)
    trimmed.trim_inputs = True
    trimmed.grads["W"][:] = np.nan  # stale values must be overwritten
    for layer in (full, trimmed):
        layer.forward(x)
        layer.backward(dout)
    assert trimmed.span == (3, 8)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(trimmed.out, full.out, rtol=rtol)
    np.testing.assert_allclose(trimmed.grads["W"], full.grads["W"], rtol=rtol, atol=1e-7)
    assert (trimmed.grads["W"][:3] == 0).all() and (trimmed.grads["W"][8:] == 0).all()
    trimmed.forward(np.zeros_like(x))
    trimmed.backward(dout)
    assert trimmed.span == (0, 0) and (trimmed.grads["W"] == 0).all()
    np.testing.assert_allclose(trimmed.out, np.tanh(np.broadcast_to(trimmed.params["b"], (6, 7))))


def test_first_layer_can_skip_dx():
    layer = Dense(4, 3, "relu", rng=0)
    layer.need_dx = False
    layer.forward(_x())
    assert layer.backward(np.ones((5, 3), np.float32)) is None


def test_dense_stays_float32():
    layer = Dense(4, 3, "relu", rng=0)
    out = layer.forward(_x())  # float64 input is cast, not allowed to upcast the layer
    dx = layer.backward(np.ones((5, 3), np.float32))
    assert out.dtype == dx.dtype == layer.z.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_dense_dead_fraction():
    layer = Dense(4, 4, "relu", rng=0, dtype=np.float64)
    layer.params["b"][:] = [-100, 0, 0, -100]  # units 0 and 3 output zero for every input
    layer.forward(_x())
    assert layer.stats()["dead_fraction"] == 0.5
    assert dead_fraction(np.array([[0.0, 1.0], [0.0, 0.0]])) == 0.5
    assert "dead_fraction" not in Dense(4, 4, "tanh", rng=0).stats()


def test_dropout_keeps_the_expected_value():
    p = 0.3
    layer = Dropout(p, rng=0)
    x = np.ones((400, 500), np.float32)
    y = layer.forward(x, train=True)
    assert y.dtype == np.float32
    dropped = np.mean(y == 0)
    assert abs(dropped - p) < 4 * np.sqrt(p * (1 - p) / x.size)  # p is the drop probability
    assert abs(y.mean() - 1) < 4 * np.sqrt(p / (1 - p) / x.size)
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-6)


def test_dropout_inference_is_identity():
    x = _x()
    layer = Dropout(0.5, rng=0)
    assert layer.forward(x, train=False) is x
    assert layer.backward(x) is x
    assert Dropout(0.0, rng=0).forward(x, train=True) is x


def test_dropout_is_deterministic_per_seed():
    x = np.ones((20, 30))
    first = Dropout(0.5, rng=11).forward(x)
    np.testing.assert_array_equal(first, Dropout(0.5, rng=11).forward(x))
    assert not np.array_equal(first, Dropout(0.5, rng=12).forward(x))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 0.95\]"):
        Dropout(1.0, rng=0)
    with pytest.raises(ValueError, match="seed"):
        Dropout(0.5)
    with pytest.raises(ValueError, match="seed"):
        Dense(3, 2)
    with pytest.raises(ValueError, match=r"neurons must be in \[1, 100000\]"):
        Dense(3, 0, rng=0)
    with pytest.raises(ValueError, match="valid: sigmoid"):
        Dense(3, 2, "swish", rng=0)
    with pytest.raises(ValueError, match="valid: gaussian"):
        Dense(3, 2, init="zeros", rng=0)
