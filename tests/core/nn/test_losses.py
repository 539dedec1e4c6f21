import numpy as np
import pytest

from core.nn.activations import get_activation, softmax
from core.nn.losses import LOSSES, cross_entropy, get_loss, mse, one_hot, softmax_cross_entropy
from tests.gradcheck import numeric_grad

NAMES = list(LOSSES)
FUSED = [name for name in NAMES if LOSSES[name].fused is not None]


def _batch(seed=0, n=5, k=4):
    """Probability-like predictions well inside the clip range, and soft targets (rows sum to 1)."""
    rng = np.random.default_rng(seed)
    pred = rng.uniform(0.05, 0.95, (n, k))
    y = rng.dirichlet(np.ones(k), n)
    return y, pred


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    loss = get_loss(name)
    y, pred = _batch()
    fd = numeric_grad(lambda: loss.value(y, pred), pred)
    np.testing.assert_allclose(loss.grad(y, pred), fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    loss = get_loss(name)
    y, pred = (a.astype(np.float32) for a in _batch())
    assert loss.grad(y, pred).dtype == np.float32
    assert isinstance(loss.value(y, pred), float)


@pytest.mark.parametrize("name", FUSED)
def test_fused_gradient_matches_central_differences(name):
    loss = get_loss(name)
    y, _ = _batch()
    z = np.random.default_rng(2).normal(0, 2, y.shape)
    value, grad, probs = loss.fused(y, z)
    fd = numeric_grad(lambda: loss.fused(y, z)[0], z)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(probs, softmax(z), rtol=1e-14)
    # same value as the unfused pair wherever the clipping does not act
    assert value == pytest.approx(loss.value(y, get_activation(loss.fused_with).forward(z)), rel=1e-12)


def test_fused_is_exact_where_clipping_saturates():
    y = np.array([[0.0, 1.0]])
    z = np.array([[1000.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad, _ = softmax_cross_entropy(y, z)
    assert value == pytest.approx(2000.0)
    np.testing.assert_allclose(grad, [[1.0, -1.0]])
    assert cross_entropy(y, softmax(z)) == pytest.approx(-np.log(2e-15))  # the clipped form saturates


def test_fused_float32_from_huge_logits():
    y = one_hot([0, 2], 3)
    z = np.array([[1000, -1000, 0], [-1000, 5, 1000]], np.float32)
    value, grad, probs = softmax_cross_entropy(y, z)
    assert np.isfinite(value) and grad.dtype == np.float32 and probs.dtype == np.float32
    assert value == pytest.approx(0.0, abs=1e-6)


def test_seed_cross_entropy():
    y = np.array([[1, 0, 0]])
    pred = np.array([[0.6, 0.1, 0.3]])
    assert cross_entropy(y, pred) == 0.5108256237659891
    perfect = cross_entropy(y, y)
    assert perfect == 0.0 and np.signbit(perfect), "the seed prints -0.0"
    assert cross_entropy(np.repeat(y, 2, axis=0), np.repeat(pred, 2, axis=0)) == 0.5108256237659891


def test_seed_mse():
    assert mse(np.array([[3, -0.5, 2, 7]]), np.array([[2.5, 0.0, 2, 8]])) == 0.375


def test_single_neuron_mse_gradient_is_the_seeds():
    """∂MSE/∂ŷ = −2(y − ŷ) for one output, as the seed's backprop example writes it."""
    y, pred = np.array([[1.0]]), np.array([[0.75]])
    np.testing.assert_allclose(get_loss("mse").grad(y, pred), -2 * (y - pred))


def test_cross_entropy_gradient_is_zero_where_clipped():
    grad = get_loss("cross_entropy").grad(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    np.testing.assert_array_equal(grad, [[0.0, 0.0]])


def test_torch_cross_entropy(torch):
    rng = np.random.default_rng(3)
    z = rng.normal(0, 3, (6, 5))
    labels = rng.integers(0, 5, 6)
    for target in (torch.tensor(labels), torch.tensor(one_hot(labels, 5, np.float64))):
        logits = torch.tensor(z, requires_grad=True)
        ref = torch.nn.CrossEntropyLoss()(logits, target)
        ref.backward()
        value, grad, _ = softmax_cross_entropy(one_hot(labels, 5, np.float64), z)
        assert value == pytest.approx(ref.item(), rel=1e-12)
        np.testing.assert_allclose(grad, logits.grad.numpy(), rtol=1e-10, atol=1e-15)
    soft = rng.dirichlet(np.ones(5), 6)
    logits = torch.tensor(z, requires_grad=True)
    ref = torch.nn.CrossEntropyLoss()(logits, torch.tensor(soft))
    ref.backward()
    value, grad, _ = softmax_cross_entropy(soft, z)
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grad, logits.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_one_hot():
    np.testing.assert_array_equal(one_hot([5, 0, 9], 10)[[0, 1, 2], [5, 0, 9]], 1)
    assert one_hot([5, 0, 9], 10).sum() == 3 and one_hot([1], 2).dtype == np.float32
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        one_hot([10], 10)
    with pytest.raises(ValueError, match="integers"):
        one_hot([0.5], 10)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="same shape"):
        mse(np.zeros((2, 3)), np.zeros((3, 2)))


@pytest.mark.parametrize("name", NAMES)
def test_registry_entries_are_described(name):
    loss = LOSSES[name]
    assert loss.name == name and loss.label and loss.formula
    assert (loss.fused is None) == (loss.fused_with is None)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="mse, cross_entropy"):
        get_loss("hinge")
