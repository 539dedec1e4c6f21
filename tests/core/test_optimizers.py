import math
import tracemalloc

import numpy as np
import pytest

from core.landscape.landscapes import get_landscape
from core.landscape.paths import Steps, path
from core.optimizers import OPTIMIZERS, get_optimizer

NAMES = list(OPTIMIZERS)
G1, G2 = (0.5, -2.0), (1.0, 0.25)  # the two gradients fed in the hand-computed cases
START = (1.0, -1.0)


def _run(name, grads, start=START, **given):
    spec = get_optimizer(name)
    params = np.array(start, dtype=float)
    opt = spec.make(params, spec.hyperparameters(**given))
    next(opt)
    out = []
    for g in grads:
        p, _ = opt.send(np.array(g, dtype=float))
        out.append(p.copy())
    return out


def _coordinatewise(update):
    """Apply a scalar rule `update(theta, grads) -> thetas` to each coordinate."""

    def run(grads):
        per_axis = [update(START[i], [g[i] for g in grads]) for i in range(2)]
        return [np.array(pair) for pair in zip(*per_axis, strict=True)]

    return run


def _sgd(t, gs, lr=0.1):
    return [t := t - lr * g for g in gs]


def _momentum(t, gs, lr=0.1, gamma=0.9, nesterov=False):
    v, out = 0.0, []
    for g in gs:
        v = gamma * v + lr * g
        t -= gamma * v + lr * g if nesterov else v
        out.append(t)
    return out


def _adagrad(t, gs, lr=0.1, eps=1e-8):
    total, out = 0.0, []
    for g in gs:
        total += g * g
        t -= lr * g / math.sqrt(total + eps)
        out.append(t)
    return out


def _rmsprop(t, gs, lr=0.1, gamma=0.9, eps=1e-8):
    e, out = 0.0, []
    for g in gs:
        e = gamma * e + (1 - gamma) * g * g
        t -= lr * g / math.sqrt(e + eps)
        out.append(t)
    return out


def _adam(t, gs, lr=0.1, b1=0.9, b2=0.999, eps=1e-8, decay=0.0, amsgrad=False):
    m = v = v_max = 0.0
    out = []
    for k, g in enumerate(gs, 1):
        t *= 1 - lr * decay
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = max(v_max, v) if amsgrad else v
        t -= lr * (m / (1 - b1**k)) / (math.sqrt(v_max / (1 - b2**k)) + eps)
        out.append(t)
    return out


def _nadam(t, gs, lr=0.1, b1=0.9, b2=0.999, eps=1e-8, psi=0.004):
    m = v = 0.0
    prod, out = 1.0, []
    for k, g in enumerate(gs, 1):
        mu, mu_next = (b1 * (1 - 0.5 * 0.96 ** (j * psi)) for j in (k, k + 1))
        prod *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = math.sqrt(v / (1 - b2**k)) + eps
        t -= lr * (1 - mu) / (1 - prod) * g / denom + lr * mu_next / (1 - prod * mu_next) * m / denom
        out.append(t)
    return out


def _adadelta(t, gs, lr=1.0, rho=0.9, eps=1e-6):
    e = d = 0.0
    out = []
    for g in gs:
        e = rho * e + (1 - rho) * g * g
        delta = math.sqrt(d + eps) / math.sqrt(e + eps) * g
        d = rho * d + (1 - rho) * delta * delta
        t -= lr * delta
        out.append(t)
    return out


def _lion(t, gs, lr=0.1, b1=0.9, b2=0.99, decay=0.0):
    m, out = 0.0, []
    for g in gs:
        c = b1 * m + (1 - b1) * g
        t -= lr * (math.copysign(1.0, c) + decay * t)
        m = b2 * m + (1 - b2) * g
        out.append(t)
    return out


# name -> (hyperparameters, the same rule written out by hand for one coordinate)
HAND = {
    "sgd": ({"lr": 0.1}, _sgd),
    "momentum": ({"lr": 0.1, "gamma": 0.9}, _momentum),
    "nesterov": ({"lr": 0.1, "gamma": 0.9}, lambda t, gs: _momentum(t, gs, nesterov=True)),
    "adagrad": ({"lr": 0.1}, _adagrad),
    "rmsprop": ({"lr": 0.1, "gamma": 0.9}, _rmsprop),
    "adam": ({"lr": 0.1}, _adam),
    "adamw": ({"lr": 0.1, "weight_decay": 0.1}, lambda t, gs: _adam(t, gs, decay=0.1)),
    "amsgrad": ({"lr": 0.1}, lambda t, gs: _adam(t, gs, amsgrad=True)),
    "nadam": ({"lr": 0.1}, _nadam),
    "adadelta": ({"lr": 1.0}, _adadelta),
    "lion": ({"lr": 0.1, "weight_decay": 0.1}, lambda t, gs: _lion(t, gs, decay=0.1)),
}


def test_every_optimizer_has_a_hand_computed_case():
    assert set(HAND) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", NAMES)
def test_first_steps_match_the_rule_computed_by_hand(name):
    hyper, rule = HAND[name]
    grads = [G1, G2, G1]
    expected = _coordinatewise(rule)(grads)
    for got, want in zip(_run(name, grads, **hyper), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_seed_values_for_the_first_adam_and_adagrad_steps():
    # Adam's first step moves every coordinate by lr (m̂/√v̂ = ±1); Adagrad's by lr/√(1 + ε/g²)
    (adam_step,) = _run("adam", [G1], lr=0.01)
    np.testing.assert_allclose(adam_step, [1.0 - 0.01, -1.0 + 0.01], rtol=1e-9)
    (adagrad_step,) = _run("adagrad", [G1], lr=0.15)
    expected = [1 - 0.15 * 0.5 / math.sqrt(0.25 + 1e-8), -1 + 0.15 * 2 / math.sqrt(4 + 1e-8)]
    np.testing.assert_allclose(adagrad_step, expected, rtol=1e-14)


@pytest.mark.parametrize(
    ("a", "a_hyper", "b", "b_hyper"),
    [
        ("momentum", {"gamma": 0.0}, "sgd", {}),
        ("nesterov", {"gamma": 0.0}, "sgd", {}),
        ("adamw", {"weight_decay": 0.0}, "adam", {}),
        ("lion", {"b1": 0.0, "b2": 0.0}, "lion", {"b1": 0.0, "b2": 0.5}),  # b1 = 0: m never used
        ("amsgrad", {}, "adam", {}),  # constant |g|: v only grows, so max(v) = v
    ],
)
def test_equivalences(a, a_hyper, b, b_hyper):
    grads = [G1] * 20
    np.testing.assert_allclose(
        _run(a, grads, lr=0.05, **a_hyper), _run(b, grads, lr=0.05, **b_hyper), rtol=1e-14
    )


def test_rmsprop_with_no_memory_takes_adagrads_first_step():
    np.testing.assert_allclose(_run("rmsprop", [G1], lr=0.1, gamma=0.0), _run("adagrad", [G1], lr=0.1))


# Our name, our hyperparameters, and the torch.optim call that computes the same trajectory.
TORCH = {
    "sgd": ({"lr": 5e-4}, lambda t, p: t.optim.SGD(p, lr=5e-4)),
    "momentum": ({"lr": 2e-4, "gamma": 0.9}, lambda t, p: t.optim.SGD(p, lr=2e-4, momentum=0.9)),
    "nesterov": (
        {"lr": 2e-4, "gamma": 0.9},
        lambda t, p: t.optim.SGD(p, lr=2e-4, momentum=0.9, nesterov=True),
    ),
    # ε = 0: the seed puts ε inside the square root, torch outside; with ε = 0 they coincide
    "adagrad": ({"lr": 0.3, "eps": 0.0}, lambda t, p: t.optim.Adagrad(p, lr=0.3, eps=0.0)),
    "rmsprop": (
        {"lr": 0.01, "gamma": 0.9, "eps": 0.0},
        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0),
    ),
    "adam": ({"lr": 0.01}, lambda t, p: t.optim.Adam(p, lr=0.01)),
    "adamw": ({"lr": 0.01, "weight_decay": 0.05}, lambda t, p: t.optim.AdamW(p, lr=0.01, weight_decay=0.05)),
    "nadam": ({"lr": 0.01}, lambda t, p: t.optim.NAdam(p, lr=0.01)),
    "amsgrad": ({"lr": 0.01}, lambda t, p: t.optim.Adam(p, lr=0.01, amsgrad=True)),
    "adadelta": ({"lr": 1.0}, lambda t, p: t.optim.Adadelta(p, lr=1.0)),
}


@pytest.mark.parametrize("name", list(TORCH))
def test_trajectory_matches_torch_on_rosenbrock(name, torch):
    """200 steps from (-1.5, 2.5) with exact gradients, float64: the same path to rtol 1e-9."""
    hyper, make = TORCH[name]
    ls = get_landscape("rosenbrock")
    spec = get_optimizer(name)
    *chunks, outcome = path(ls, spec, {**spec.hyperparameters(), **hyper}, (-1.5, 2.5), 200)
    ours = Steps.join(chunks)
    assert outcome.status == "done" and len(ours) == 201, "the path ran all 200 steps"

    theta = torch.tensor([-1.5, 2.5], dtype=torch.float64, requires_grad=True)
    opt = make(torch, [theta])
    theirs = [theta.detach().numpy().copy()]
    for _ in range(200):
        x, y = theta.detach().numpy()
        theta.grad = torch.tensor(ls.grad(x, y), dtype=torch.float64)
        opt.step()
        theirs.append(theta.detach().numpy().copy())
    np.testing.assert_allclose(np.column_stack([ours.x, ours.y]), theirs, rtol=1e-9, atol=1e-12)


def test_torch_covers_every_optimizer_it_has():
    assert set(NAMES) - set(TORCH) == {"lion"}  # torch.optim has no Lion


@pytest.mark.parametrize("name", NAMES)
def test_a_step_allocates_nothing_the_size_of_the_parameters(name):
    """The same generator drives a 500k-value float32 network buffer without per-step copies."""
    spec = get_optimizer(name)
    params = np.zeros(500_000, dtype=np.float32)
    grad = np.random.default_rng(0).standard_normal(500_000).astype(np.float32)
    opt = spec.make(params, spec.hyperparameters())
    next(opt)
    opt.send(grad)
    tracemalloc.start()
    try:
        for _ in range(5):
            opt.send(grad)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < params.nbytes / 10, f"{name} allocated {peak} bytes during 5 steps"
    assert params.dtype == np.float32 and np.isfinite(params).all()


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    spec = get_optimizer(name)
    params = np.ones((2, 3), dtype=np.float32)
    opt = spec.make(params, spec.hyperparameters())
    _, state = next(opt)
    for _ in range(3):
        p, state = opt.send(np.full((2, 3), 0.5, dtype=np.float32))
    assert p is params and p.dtype == np.float32
    assert all(a.dtype == np.float32 for a in state.values())


def test_hyperparameters_are_read_afresh_every_step():
    spec = get_optimizer("sgd")
    params = np.zeros(2)
    hp = spec.hyperparameters(lr=0.1)
    opt = spec.make(params, hp)
    next(opt)
    opt.send(np.ones(2))
    hp["lr"] = 1.0
    opt.send(np.ones(2))
    np.testing.assert_allclose(params, [-1.1, -1.1])


def test_one_setting_per_path_broadcasts():
    """Hyperparameter arrays of shape (P,) drive P paths of shape (2, P) at once."""
    spec = get_optimizer("adam")
    lrs = np.array([0.01, 0.1, 1.0])
    params = np.zeros((2, 3))
    opt = spec.make(params, spec.hyperparameters() | {"lr": lrs})
    next(opt)
    opt.send(np.ones((2, 3)))
    np.testing.assert_allclose(params, -np.stack([lrs, lrs]), rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_registry_entry(name):
    spec = OPTIMIZERS[name]
    assert spec.name == name and spec.label and spec.rule and spec.reference
    assert spec.family in {"gd", "adaptive", "adagrad", "adadelta", "sign"}
    assert spec.params[0].name == "lr" and spec.params[0].log
    for p in spec.params:
        assert p.low <= p.default <= p.high
    assert spec.make.__doc__.splitlines()[0].strip(), "first docstring line: the rule"


def test_bad_hyperparameters_name_the_range():
    with pytest.raises(ValueError, match=r"b1 must be in \[0, 0.9999\], got 1"):
        get_optimizer("adam").hyperparameters(b1=1.0)
    with pytest.raises(ValueError, match="optimizer 'sgd' has no parameter 'gamma'; valid: lr"):
        get_optimizer("sgd").hyperparameters(gamma=0.9)
    with pytest.raises(ValueError, match="unknown optimizer 'adamx'; valid: sgd, momentum"):
        get_optimizer("adamx")
    with pytest.raises(ValueError, match="lr must be a number"):
        get_optimizer("sgd").hyperparameters(lr=True)
