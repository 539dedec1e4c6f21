"""core.nn.sharpness's Hessian-vector products against PyTorch's exact ones (double backward, float64)."""

import numpy as np
import pytest

from core.nn.activations import LEAKY_SLOPE
from core.nn.network import Network, NetworkSpec
from core.nn.sharpness import SharpnessProbe, hessian_vector_product, top_eigenvalue

SPECS = {
    "tanh-softmax": NetworkSpec(5, 3, hidden=((6, "tanh"),), init="xavier"),
    "sigmoid-two-layers-mse": NetworkSpec(
        5, 2, hidden=((6, "sigmoid"), (4, "tanh")), output="linear", loss="mse", init="xavier"
    ),
    "layernorm-tanh-softmax": NetworkSpec(5, 3, hidden=((6, "tanh"),), norm="layer", init="xavier"),
    "batchnorm-sigmoid-softmax": NetworkSpec(5, 3, hidden=((6, "sigmoid"),), norm="batch", init="xavier"),
    # kinks: a difference step that carries a unit across its kink must not show in H·v
    "relu-softmax": NetworkSpec(5, 3, hidden=((32, "relu"),)),
    "leaky-relu-relu-mse": NetworkSpec(
        5, 2, hidden=((32, "leaky_relu"), (16, "relu")), output="linear", loss="mse"
    ),
}
EXAMPLES = {"relu-softmax": 512, "leaky-relu-relu-mse": 512}


def torch_loss(torch, net: Network, theta, x, y):
    """The same training loss in torch, reading every parameter from the flat vector `theta` with
    `net`'s layout (W as (inputs, neurons)); batch norm on batch statistics, as loss_and_grad uses."""
    functional = torch.nn.functional
    start = net.params.ctypes.data

    def param(layer, key):
        view = layer.params[key]
        offset = (view.ctypes.data - start) // net.params.itemsize
        return theta[offset : offset + view.size].reshape(view.shape)

    activations = {
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "linear": lambda z: z,
        "relu": torch.relu,
        "leaky_relu": lambda z: functional.leaky_relu(z, LEAKY_SLOPE),
    }
    out = x
    for layer in net.layers[:-1]:
        if layer.kind == "dense":
            out = activations[layer.act.name](out @ param(layer, "W") + param(layer, "b"))
        elif layer.kind in ("layernorm", "batchnorm"):
            axis = -1 if layer.kind == "layernorm" else 0
            mean = out.mean(dim=axis, keepdim=True)
            var = ((out - mean) ** 2).mean(dim=axis, keepdim=True)
            out = param(layer, "gamma") * (out - mean) / torch.sqrt(var + layer.eps) + param(layer, "beta")
        else:
            out = activations[layer.kind](out)
    last = net.layers[-1]
    z = out @ param(last, "W") + param(last, "b")
    if net.spec.loss == "cross_entropy":
        return functional.cross_entropy(z, y)
    return functional.mse_loss(z, y)


def loss_of(net, x, y):
    """Our training loss at net's weights, on a copy (the product must not depend on net's state)."""
    twin = Network(net.spec, dtype=np.float64)
    twin.params[:] = net.params
    return twin.loss_and_grad(x, y)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_products_match_torch_double_backward(torch, name):
    spec = SPECS[name]
    net = Network(spec, seed=3, dtype=np.float64)
    rng = np.random.default_rng(3)
    net.params[:] += 0.1 * rng.standard_normal(net.params.size)  # γ, β and the biases away from 1 and 0
    n = EXAMPLES.get(name, 16)
    x = rng.normal(size=(n, spec.inputs))
    y = rng.integers(0, spec.outputs, n) if spec.loss == "cross_entropy" else rng.normal(size=(n, 2))
    if name in EXAMPLES:  # the first example 1e-7 above every first-layer unit's kink
        first = net.layers[0]
        first.params["b"][:] -= x[0] @ first.params["W"] + first.params["b"] - 1e-7
    theta = torch.tensor(net.params, requires_grad=True)
    loss = torch_loss(torch, net, theta, torch.tensor(x), torch.tensor(y))
    # the two losses agree before their curvatures are compared
    assert loss.item() == pytest.approx(loss_of(net, x, y), rel=1e-12)
    (grad,) = torch.autograd.grad(loss, theta, create_graph=True)
    product = hessian_vector_product(net, x, y)
    for _ in range(3):
        v = rng.standard_normal(net.params.size)
        v /= np.linalg.norm(v)
        (reference,) = torch.autograd.grad(grad @ torch.tensor(v), theta, retain_graph=True)
        reference = reference.numpy()
        ours = product(v)
        assert np.linalg.norm(ours - reference) <= 1e-6 * np.linalg.norm(reference)
        np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-7 * np.abs(reference).max())


def test_the_probe_on_a_relu_network_reads_torchs_sharpness(torch):
    """A probe's forward differences hold the ReLU pieces too: its λmax is torch's, probe after probe."""
    spec = SPECS["relu-softmax"]
    net = Network(spec, seed=5, dtype=np.float64)
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(512, spec.inputs)), rng.integers(0, spec.outputs, 512)
    first = net.layers[0]
    first.params["b"][:] -= x[0] @ first.params["W"] + first.params["b"] - 1e-9
    theta = torch.tensor(net.params, requires_grad=True)
    (grad,) = torch.autograd.grad(
        torch_loss(torch, net, theta, torch.tensor(x), torch.tensor(y)), theta, create_graph=True
    )

    def product(v):
        return torch.autograd.grad(grad @ torch.tensor(v), theta, retain_graph=True)[0].numpy()

    reference = top_eigenvalue(product, net.params.size, iterations=60)
    probe = SharpnessProbe(net, x, y, "sgd")
    for _ in range(3):
        assert probe.measure({"lr": 0.1}, {}, 1)["sharpness"] == pytest.approx(reference, rel=1e-4)
