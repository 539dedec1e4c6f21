"""Gradient clipping by global norm (`clip_norm`): torch's rule, applied where torch applies it."""

import numpy as np
import pytest

from core.nn.network import Network, NetworkSpec
from core.nn.training import Controls, TrainConfig, clip_global_norm, load_data, network_for, train
from core.optimizers import get_optimizer

TINY = TrainConfig(
    dataset="moons",
    data={"samples": 40},
    hidden=((8, "tanh"),),
    optimizer="sgd",
    hyper={"lr": 0.5},
    batch_size=32,
    epochs=1,
)


def test_a_hand_case_is_scaled_to_the_norm_and_a_short_gradient_is_left_alone():
    g = np.array([3.0, 4.0], dtype=np.float32)  # norm 5
    assert clip_global_norm(g, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-6)
    g = np.array([3.0, 4.0], dtype=np.float32)
    assert clip_global_norm(g, 10.0) == pytest.approx(5.0)
    np.testing.assert_array_equal(g, [3.0, 4.0])
    assert clip_global_norm(g, 0.0) is None  # off
    np.testing.assert_array_equal(g, [3.0, 4.0])


def test_a_gradient_whose_squares_overflow_float32_is_still_clipped():
    g = np.full(4, 1e20, dtype=np.float32)  # Σg² = 4e40 overflows float32; the norm, 2e20, does not
    assert clip_global_norm(g, 1.0) == pytest.approx(2e20, rel=1e-6)
    np.testing.assert_allclose(g, 0.5, rtol=1e-6)


@pytest.mark.parametrize("c", [0.01, 0.5, 3.0, 100.0])
def test_the_same_as_torch_clip_grad_norm(torch, c):
    rng = np.random.default_rng(0)
    shapes = [(5, 7), (7,), (7, 3), (3,)]
    grads = [rng.normal(size=s).astype(np.float32) for s in shapes]
    params = [torch.zeros(s, requires_grad=True) for s in shapes]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g)
    expected_norm = torch.nn.utils.clip_grad_norm_(params, c).item()
    flat = np.concatenate([g.ravel() for g in grads])
    assert clip_global_norm(flat, c) == pytest.approx(expected_norm, rel=1e-6)
    expected = np.concatenate([p.grad.numpy().ravel() for p in params])
    np.testing.assert_allclose(flat, expected, rtol=1e-6, atol=1e-9)


def _one_step_by_hand(torch, config, clip):
    """The first step as the loop takes it, with torch's clipping in the place torch's own loop puts it:
    after backward (our L2 term standing for a penalty in the loss) and before the optimizer's step."""
    split = load_data(config)
    net = network_for(config, split)
    rows = np.random.default_rng(config.seed).permutation(len(split.y_train))[: config.batch_size]
    hp = dict(get_optimizer("sgd").hyperparameters(**config.hyper))
    opt = get_optimizer("sgd").make(net.params, hp)
    next(opt)
    targets = np.eye(split.classes, dtype=np.float32)[split.y_train[rows]]
    net.loss_and_grad(split.x_train[rows], targets)
    net.add_regularization(0.0, config.l2)
    grad = torch.from_numpy(net.grad)  # shares memory: torch clips our buffer in place
    holder = torch.zeros(grad.shape, requires_grad=True)
    holder.grad = grad
    torch.nn.utils.clip_grad_norm_([holder], clip)
    opt.send(net.grad)
    return net.params.copy()


def test_the_loop_clips_after_the_l2_term_and_before_the_update(torch):
    config = TrainConfig(**{**TINY.__dict__, "l2": 0.05, "clip_norm": 0.1})
    split = load_data(config)
    net = network_for(config, split)
    for event in train(config, split=split, net=net):
        if event["type"] == "steps":
            break  # chunk 50 > 1 step: sent at the epoch's end, once the one step is taken
    np.testing.assert_allclose(net.params, _one_step_by_hand(torch, config, 0.1), rtol=1e-6, atol=1e-7)
    unclipped = network_for(config, split)
    list(train(TrainConfig(**{**config.__dict__, "clip_norm": 0.0}), split=split, net=unclipped))
    assert not np.allclose(unclipped.params, net.params), "the clip changed the step"


def test_clip_norm_changes_while_the_run_trains():
    config = TrainConfig(**{**TINY.__dict__, "epochs": 3, "batch_size": 8, "clip_norm": 1.0})
    controls = Controls()
    events = []
    for event in train(config, controls):
        events.append(event)
        if event["type"] == "eval" and event["step"] == 0:
            controls.set(clip_norm=0.01)
    control = next(e for e in events if e["type"] == "control")
    assert control == {"type": "control", "step": 1, "action": "set", "values": {"clip_norm": 0.01}}
    assert events[0]["config"]["clip_norm"] == 1.0 and events[-1]["status"] == "done"


def test_a_clipped_step_never_moves_the_weights_further_than_lr_times_c():
    config = TrainConfig(**{**TINY.__dict__, "hyper": {"lr": 10.0}, "clip_norm": 0.01})
    split = load_data(config)
    net = Network(NetworkSpec(2, 2, ((8, "tanh"),)), seed=config.seed)
    before = net.params.copy()
    list(train(config, split=split, net=net))
    steps = -(-len(split.y_train) // config.batch_size)
    assert np.linalg.norm(net.params - before) <= 10.0 * 0.01 * steps * (1 + 1e-5)
