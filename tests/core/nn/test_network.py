import ast
import sys
from pathlib import Path

import numpy as np
import pytest

from core.nn.layers import Dense, Dropout
from core.nn.losses import one_hot, softmax_cross_entropy
from core.nn.network import Network, NetworkSpec, l1_penalty, l2_penalty, max_norm
from core.optimizers import OPTIMIZERS, adam, sgd
from tests.gradcheck import numeric_grad

CONFIGS = {
    "tanh-relu/softmax/ce": dict(hidden=((4, "tanh"), (6, "relu"))),
    "sigmoid/sigmoid/mse": dict(hidden=((4, "sigmoid"),), output="sigmoid", loss="mse"),
    "leaky/linear/mse": dict(hidden=((4, "leaky_relu"),), output="linear", loss="mse", init="gaussian"),
    "softmax/mse (not fused)": dict(hidden=((4, "tanh"),), loss="mse"),
    "sigmoid/ce (not fused)": dict(hidden=((4, "tanh"),), output="sigmoid"),
    "batch norm + dropout": dict(hidden=((4, "tanh"), (6, "relu")), norm="batch", dropout=0.3),
    "layer norm": dict(hidden=((4, "relu"),), norm="layer"),
    "no hidden layer": dict(hidden=()),
}


def _data(n=7, inputs=5, outputs=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, inputs)), rng.integers(0, outputs, n)


def _targets(spec, labels):
    y = one_hot(labels, spec.outputs, np.float64)
    return y if spec.loss == "cross_entropy" else y * 0.8 + 0.1


def _fix_dropout(net, seed=5):
    for layer in net.layers:
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(seed)


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.0), (0.01, 0.03)])
def test_gradient_matches_central_differences(name, l1, l2):
    """Every entry of the flat gradient, with the regularization terms added, in float64."""
    spec = NetworkSpec(5, 3, **CONFIGS[name])
    net = Network(spec, seed=1, dtype=np.float64)
    x, labels = _data()
    y = _targets(spec, labels)

    def total():
        _fix_dropout(net)
        return net.loss_and_grad(x, y) + net.penalty(l1, l2)

    total()
    net.add_regularization(l1, l2)
    grad = net.grad.copy()
    np.testing.assert_allclose(grad, numeric_grad(total, net.params), rtol=1e-6, atol=1e-8)


def test_layers_hold_views_of_one_flat_buffer():
    net = Network(NetworkSpec(5, 3, hidden=((4, "relu"),), norm="batch"), seed=0)
    assert net.params.dtype == net.grad.dtype == np.float32 and net.params.ndim == 1
    sizes = 0
    for layer in net.layers:
        for key, value in layer.params.items():
            assert np.shares_memory(value, net.params) and np.shares_memory(layer.grads[key], net.grad)
            sizes += value.size
    assert sizes == net.params.size
    x, _ = _data()
    net.params[:] = 0  # through the buffer: every layer sees it
    np.testing.assert_allclose(net.forward(x), 1 / 3)
    assert net.layers[0].params["W"].sum() == 0


def test_weights_come_first_and_regularization_skips_biases():
    net = Network(NetworkSpec(5, 3, hidden=((4, "relu"),), norm="layer"), seed=0)
    weights = [layer.params["W"] for layer in net.dense]
    assert net.weights_flat.size == sum(w.size for w in weights)
    for w in weights:
        assert np.shares_memory(w, net.weights_flat)
    x, labels = _data()
    net.loss_and_grad(x, labels)
    before = net.grad.copy()
    net.add_regularization(l1=0.1, l2=0.2)
    n = net.weights_flat.size
    np.testing.assert_array_equal(net.grad[n:], before[n:])  # biases, γ and β untouched
    w = net.weights_flat
    np.testing.assert_allclose(net.grad[:n], before[:n] + 0.1 * np.sign(w) + 0.4 * w, rtol=1e-6, atol=1e-7)


def test_seed_l2_update_with_sgd():
    """w ← w − η(∂L/∂w + 2λw) on the weights, b ← b − η∂L/∂b: the seed's MNIST loop."""
    lr, lam = 0.02, 2e-4
    net = Network(NetworkSpec(5, 3, hidden=((4, "relu"),)), seed=0, dtype=np.float64)
    x, labels = _data()
    opt = sgd(net.params, {"lr": lr})
    next(opt)
    w1, b1 = net.layers[0].params["W"].copy(), net.layers[0].params["b"].copy()
    net.loss_and_grad(x, labels)
    g_w1, g_b1 = net.layers[0].grads["W"].copy(), net.layers[0].grads["b"].copy()
    net.add_regularization(l2=lam)
    opt.send(net.grad)
    np.testing.assert_allclose(net.layers[0].params["W"], w1 - lr * (g_w1 + 2 * lam * w1), rtol=1e-14)
    np.testing.assert_allclose(net.layers[0].params["b"], b1 - lr * g_b1, rtol=1e-14)


def test_penalty_is_over_the_weights_only():
    net = Network(NetworkSpec(5, 3, hidden=((4, "relu"),)), seed=0)
    ws = list(net.weights().values())
    expected = 0.1 * sum(np.abs(w).sum() for w in ws) + 0.2 * sum((w.astype(float) ** 2).sum() for w in ws)
    assert net.penalty(l1=0.1, l2=0.2) == pytest.approx(expected, rel=1e-5)
    assert net.penalty() == 0.0
    with pytest.raises(ValueError, match=r"l2 must be in \[0, 1\]"):
        net.penalty(l2=-1)


def test_seed_penalties():
    small, large = np.array([[-0.15], [0.2], [-0.12], [0.04]]), np.array([[-1.5], [2], [-1.2], [0.4]])
    assert l1_penalty(small) == pytest.approx(0.51) and l1_penalty(large) == pytest.approx(5.1)
    assert l2_penalty(small) == pytest.approx(0.0785) and l2_penalty(large) == pytest.approx(7.85)


def test_seed_max_norm():
    """The seed passes one neuron's weights as a row; here a neuron's weights are a column."""
    small = np.array([[-0.15, 0.2, -0.12, 0.04]])
    np.testing.assert_array_equal(max_norm(small.T, 2).T, small)
    w = max_norm(np.array([[-1.5, 2, -1.2, 0.4]]).T, 2).T
    np.testing.assert_allclose(w, [[-1.07074592, 1.42766122, -0.85659673, 0.28553224]], atol=5e-9)
    assert np.linalg.norm(w, axis=1) == pytest.approx([2.0])


def test_apply_max_norm_rescales_columns_in_place():
    net = Network(NetworkSpec(5, 3, hidden=((4, "relu"),)), seed=0, dtype=np.float64)
    w = net.layers[0].params["W"]
    w[:, 0] *= 100  # this neuron's weight vector exceeds c
    small = w[:, 1].copy()
    w[:, 1] = small / np.linalg.norm(small) * 0.5
    small = w[:, 1].copy()
    biases = net.params[net.weights_flat.size :].copy()
    net.apply_max_norm(1.5)
    for layer in net.dense:
        assert (np.linalg.norm(layer.params["W"], axis=0) <= 1.5 * (1 + 1e-12)).all()
    assert np.linalg.norm(w[:, 0]) == pytest.approx(1.5)
    np.testing.assert_array_equal(w[:, 1], small)
    np.testing.assert_array_equal(net.params[net.weights_flat.size :], biases)
    before = net.params.copy()
    net.apply_max_norm(0)  # off
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_drives_the_buffer_in_place(name):
    spec = OPTIMIZERS[name]
    net = Network(NetworkSpec(5, 3, hidden=((8, "relu"),)), seed=0)
    x, labels = _data(32)
    opt = spec.make(net.params, spec.hyperparameters())
    params, _ = next(opt)
    assert params is net.params
    before = net.params.copy()
    for _ in range(3):
        net.loss_and_grad(x, labels)
        opt.send(net.grad)
    assert not np.array_equal(net.params, before)
    assert net.params.dtype == np.float32
    for layer in net.layers:
        for value in layer.params.values():
            assert np.shares_memory(value, net.params)


@pytest.mark.parametrize(("make", "lr"), [(sgd, 0.5), (adam, 0.02)])
def test_training_separates_two_blobs(make, lr):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    x = rng.standard_normal((200, 2)) + 2.5 * (2 * labels[:, None] - 1)
    net = Network(NetworkSpec(2, 2, hidden=((8, "relu"),)), seed=0)
    opt = make(net.params, {"lr": lr, "b1": 0.9, "b2": 0.999, "eps": 1e-8})
    next(opt)
    first = net.evaluate(x, labels)["loss"]
    for step in range(100):
        i = slice(step * 20 % 200, step * 20 % 200 + 20)
        net.loss_and_grad(x[i], labels[i])
        opt.send(net.grad)
    result = net.evaluate(x, labels)
    assert result["loss"] < first / 3 and result["accuracy"] > 0.97


def test_snapshot_and_restore():
    net = Network(NetworkSpec(5, 3, hidden=((4, "relu"),), norm="batch"), seed=0)
    x, labels = _data(16)
    opt = sgd(net.params, {"lr": 0.1})
    next(opt)
    snap = net.snapshot()
    out = net.forward(x)
    for _ in range(3):
        net.loss_and_grad(x, labels)
        opt.send(net.grad)
    assert not np.allclose(net.forward(x), out)
    net.restore(snap)
    np.testing.assert_array_equal(net.forward(x), out)  # parameters and running statistics
    snap["params"][:] = 7  # the snapshot is a copy
    assert not (net.params == 7).any()
    net.loss_and_grad(x, labels)
    opt.send(net.grad)  # the optimizer still drives the same buffer
    assert np.shares_memory(net.layers[0].params["W"], net.params)


def test_save_and_load_named_arrays(tmp_path):
    spec = NetworkSpec(5, 3, hidden=((4, "tanh"), (6, "relu")), norm="batch", dropout=0.2)
    net = Network(spec, seed=3)
    x, labels = _data(16)
    net.loss_and_grad(x, labels)
    arrays = net.state_dict()
    assert {"dense0.W", "dense0.b", "batchnorm0.gamma", "batchnorm0.running_var", "spec"} <= set(arrays)
    net.save(tmp_path / "net.npz")
    with np.load(tmp_path / "net.npz", allow_pickle=False) as stored:
        assert set(stored.files) == set(arrays)
    loaded = Network.load(tmp_path / "net.npz")
    assert loaded.spec == spec and loaded.params.dtype == np.float32
    np.testing.assert_array_equal(loaded.params, net.params)
    np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))
    other = Network(spec, seed=4)
    other.load_state_dict(arrays)
    np.testing.assert_array_equal(other.params, net.params)
    bad = dict(arrays, **{"dense0.W": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"dense0.W has shape \(2, 2\)"):
        other.load_state_dict(bad)
    with pytest.raises(ValueError, match="missing"):
        other.load_state_dict({k: v for k, v in arrays.items() if k != "dense1.b"})


def test_diagnostics_come_from_the_last_pass():
    net = Network(NetworkSpec(5, 3, hidden=((4, "relu"), (6, "tanh"))), seed=0, dtype=np.float64)
    net.layers[0].params["b"][:2] = -1e3  # two of four ReLUs dead for every input
    x, labels = _data(16)
    net.loss_and_grad(x, labels)
    stats = {entry["layer"]: entry for entry in net.diagnostics()}
    assert set(stats) == {"dense0", "dense1", "dense2"}
    assert stats["dense0"]["dead_fraction"] == 0.5 and "dead_fraction" not in stats["dense1"]
    for layer in net.dense:
        expected = np.sqrt(sum((g**2).sum() for g in layer.grads.values()))
        assert stats[layer.name]["grad_norm"] == pytest.approx(expected)
    acts = net.activations()
    assert acts["dense0"].shape == (16, 4) and acts["dense2"].shape == (16, 3)
    np.testing.assert_allclose(acts["dense2"].sum(axis=1), 1)  # the fused step keeps ŷ for histograms
    weights = net.weights()
    assert list(weights) == ["dense0.W", "dense1.W", "dense2.W"]
    assert all(np.shares_memory(w, net.params) for w in weights.values())


def test_float32_end_to_end():
    net = Network(NetworkSpec(5, 3, hidden=((4, "relu"), (6, "sigmoid")), norm="layer", dropout=0.2), seed=0)
    x, labels = _data(16)
    net.loss_and_grad(x, one_hot(labels, 3, np.float64))  # float64 data must not leak in
    for layer in net.layers:
        for name in ("x", "z", "out", "mask"):
            value = getattr(layer, name, None)
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, (layer.name, name)
        assert all(g.dtype == np.float32 for g in layer.grads.values())
    assert net.predict_proba(x).dtype == np.float32


def test_first_layer_switches():
    net = Network(NetworkSpec(5, 3), seed=0)
    assert net.layers[0].need_dx is False and net.layers[0].trim_inputs is True
    assert all(layer.need_dx and not layer.trim_inputs for layer in net.dense[1:])


def test_labels_and_one_hot_targets_agree():
    net = Network(NetworkSpec(5, 3, hidden=((4, "relu"),)), seed=0, dtype=np.float64)
    x, labels = _data()
    loss = net.loss_and_grad(x, labels)
    grad = net.grad.copy()
    assert net.loss_and_grad(x, one_hot(labels, 3)) == pytest.approx(loss)
    np.testing.assert_allclose(net.grad, grad, rtol=1e-12)
    reg = Network(NetworkSpec(5, 1, hidden=((4, "tanh"),), output="linear", loss="mse"), seed=0)
    assert reg.loss_and_grad(x, labels.astype(float)) == pytest.approx(
        reg.loss_and_grad(x, labels[:, None] * 1.0)
    )


def test_predict_proba_and_evaluate():
    net = Network(NetworkSpec(5, 3, hidden=((4, "relu"),)), seed=0, dtype=np.float64)
    x, labels = _data(50)
    probs = net.predict_proba(x, batch_size=7)
    np.testing.assert_allclose(probs, net.forward(x), rtol=1e-14)
    np.testing.assert_allclose(probs.sum(axis=1), 1)
    result = net.evaluate(x, labels, batch_size=7)
    assert result["accuracy"] == np.mean(probs.argmax(axis=1) == labels)
    net.forward(x)  # one batch: the output layer's z holds every logit
    expected = softmax_cross_entropy(one_hot(labels, 3, np.float64), net.layers[-1].z)[0]
    assert result["loss"] == pytest.approx(expected, rel=1e-12)


def test_torch_network(torch):
    """784-600-10 in miniature: Linear, ReLU, Linear and CrossEntropyLoss against ours, in float64."""
    net = Network(NetworkSpec(6, 3, hidden=((5, "relu"),)), seed=0, dtype=np.float64)
    x, labels = _data(8, inputs=6)
    ref = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3)).double()
    with torch.no_grad():
        for i, layer in zip((0, 2), net.dense, strict=True):
            ref[i].weight.copy_(torch.tensor(layer.params["W"].T))
            ref[i].bias.copy_(torch.tensor(layer.params["b"]))
    loss = torch.nn.CrossEntropyLoss()(ref(torch.tensor(x)), torch.tensor(labels))
    loss.backward()
    assert net.loss_and_grad(x, labels) == pytest.approx(loss.item(), rel=1e-12)
    for i, layer in zip((0, 2), net.dense, strict=True):
        np.testing.assert_allclose(layer.grads["W"], ref[i].weight.grad.numpy().T, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(layer.grads["b"], ref[i].bias.grad.numpy(), rtol=1e-10, atol=1e-15)


# The seed's seeded 4-10-10-2 forward pass ([[0.69168217, 0.53534015]]) is not reproduced: it draws
# from the global np.random (seed 2022) with randn for weights and biases alike, which this project
# never uses. What a seed must give here is reproducibility of its own:
def test_same_seed_same_network():
    spec = NetworkSpec(5, 3, hidden=((4, "relu"),), dropout=0.5)
    a, b, c = Network(spec, seed=9), Network(spec, seed=9), Network(spec, seed=10)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)
    x, labels = _data()
    assert a.loss_and_grad(x, labels) == b.loss_and_grad(x, labels)  # same dropout masks too
    double = Network(spec, seed=9, dtype=np.float64)  # drawn in float64, cast: the same weights
    np.testing.assert_allclose(double.params, a.params, rtol=1e-7)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(hidden=((4, "softmax"),)), "output activation only"),
        (dict(hidden=((4, "swish"),)), "valid: sigmoid, tanh, relu"),
        (dict(hidden=((0, "relu"),)), r"width must be in \[1, 100000\]"),
        (dict(output="swish"), "unknown activation"),
        (dict(loss="hinge"), "valid: mse, cross_entropy"),
        (dict(init="zeros"), "valid: gaussian, xavier, he"),
        (dict(norm="group"), "valid: batch, layer"),
        (dict(dropout=0.99), r"dropout must be in \[0, 0.95\]"),
    ],
)
def test_bad_specs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NetworkSpec(5, 3, **kwargs)


def test_bad_inputs():
    net = Network(NetworkSpec(5, 3), seed=0)
    with pytest.raises(ValueError, match=r"shape \(batch, 5\)"):
        net.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"targets must have shape \(2, 3\)"):
        net.loss_and_grad(np.zeros((2, 5)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\]"):
        net.loss_and_grad(np.zeros((2, 5)), np.array([0, 3]))
    with pytest.raises(ValueError, match="seed"):
        Dense(3, 2, rng=None)


def test_core_network_modules_import_only_numpy_and_the_standard_library():
    root = Path(__file__).resolve().parents[3] / "core" / "nn"
    for name in ("activations", "losses", "inits", "layers", "norms", "network"):
        tree = ast.parse((root / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                assert top in ("numpy", "core", "__future__") or top in sys.stdlib_module_names, (
                    name,
                    module,
                )
