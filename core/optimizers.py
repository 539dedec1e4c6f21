"""Every update rule as a generator: the caller sends gradients, the generator moves the parameters.

Protocol, the same for a 2D point, a (2, P) batch of points and a network's flat float32 buffer:

    opt = adam(params, hp)          # hp: a dict the caller owns, read afresh at every step
    params, state = next(opt)       # prime: nothing has moved yet
    params, state = opt.send(grad)  # one update, `params` changed in place

`params` is the caller's own array, updated in place (layers may hold views of it). `state` maps
names to the optimizer's live buffers (velocity, m, v, ...). Both are views: copy what you keep.
Hyperparameters may be scalars or arrays that broadcast against `params` (one setting per path),
and may change between steps (schedules, live tuning). Buffers are allocated once; a step allocates
nothing the size of `params`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from core.params import Param, by_name, lookup, resolve


def _lr(default: float) -> Param:
    return Param("lr", "learning rate η", default, 1e-7, 10.0, log=True)


def _eps(default: float) -> Param:
    return Param("eps", "ε", default, 1e-12, 1.0, log=True, help="numerical stabilizer")


def _ema(avg, x, decay, scratch):
    """avg ← decay·avg + (1 − decay)·x, in place (`scratch` may be `x` itself)."""
    np.multiply(x, 1 - decay, out=scratch)
    avg *= decay
    avg += scratch


def _adam_direction(m, v, grad, hp, t, out, v_max=None):
    """Update the moments and leave m̂ / (√v̂ + ε) in `out`; v_max, if given, makes it AMSGrad."""
    b1, b2 = hp["b1"], hp["b2"]
    _ema(m, grad, b1, out)
    _ema(v, np.square(grad, out=out), b2, out)
    if v_max is not None:
        np.maximum(v_max, v, out=v_max)
    np.sqrt(v if v_max is None else v_max, out=out)
    out /= np.sqrt(1 - b2**t)
    out += hp["eps"]
    np.divide(m, out, out=out)
    out /= 1 - b1**t


def sgd(params, hp):
    """θ ← θ − η·g

    Batch GD, SGD and mini-batch GD are all this rule: they differ only in how many examples the
    gradient averages (batch size N, 1 or b in the noise model). Same as torch.optim.SGD.
    """
    step = np.empty_like(params)
    grad = yield params, {}
    while True:
        params -= np.multiply(grad, hp["lr"], out=step)
        grad = yield params, {}


def momentum(params, hp):
    """v ← γ·v + η·g;  θ ← θ − v

    The seed's (and Sutskever et al.'s) form: η sits inside the velocity. torch.optim.SGD keeps
    b ← μ·b + g and steps θ ← θ − η·b, so v = η·b: the same path while η is constant; after an η
    change, the old velocity here keeps its old scale.
    """
    velocity, step = np.zeros_like(params), np.empty_like(params)
    state = {"velocity": velocity}
    grad = yield params, state
    while True:
        velocity *= hp["gamma"]
        velocity += np.multiply(grad, hp["lr"], out=step)
        params -= velocity
        grad = yield params, state


def nesterov(params, hp):
    """v ← γ·v + η·g;  θ ← θ − (γ·v + η·g)

    Nesterov momentum in the look-ahead-free form of Bengio et al. (2012), which is what
    torch.optim.SGD(nesterov=True) computes (with v = η·b, as for momentum).
    """
    velocity, step, look = np.zeros_like(params), np.empty_like(params), np.empty_like(params)
    state = {"velocity": velocity}
    grad = yield params, state
    while True:
        gamma = hp["gamma"]
        velocity *= gamma
        velocity += np.multiply(grad, hp["lr"], out=step)
        params -= np.multiply(velocity, gamma, out=look)
        params -= step
        grad = yield params, state


def adagrad(params, hp):
    """G ← G + g²;  θ ← θ − η·g / √(G + ε)

    ε inside the square root, as the seed writes it. torch.optim.Adagrad puts it outside,
    g / (√G + ε); both are equal for ε = 0. Duchi, Hazan and Singer (2011).
    """
    total, step = np.zeros_like(params), np.empty_like(params)
    state = {"G": total}
    grad = yield params, state
    while True:
        total += np.square(grad, out=step)
        np.add(total, hp["eps"], out=step)
        np.sqrt(step, out=step)
        np.divide(grad, step, out=step)
        params -= np.multiply(step, hp["lr"], out=step)
        grad = yield params, state


def rmsprop(params, hp):
    """E ← γ·E + (1−γ)·g²;  θ ← θ − η·g / √(E + ε)

    ε inside the square root, as the seed writes it; torch.optim.RMSprop puts it outside,
    g / (√E + ε), and calls γ alpha. Equal for ε = 0. Hinton (2012), lecture 6e.
    """
    sq_avg, step = np.zeros_like(params), np.empty_like(params)
    state = {"E": sq_avg}
    grad = yield params, state
    while True:
        _ema(sq_avg, np.square(grad, out=step), hp["gamma"], step)
        np.add(sq_avg, hp["eps"], out=step)
        np.sqrt(step, out=step)
        np.divide(grad, step, out=step)
        params -= np.multiply(step, hp["lr"], out=step)
        grad = yield params, state


def adam(params, hp):
    """m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  θ ← θ − η·m̂ / (√v̂ + ε)

    Bias-corrected m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ); ε outside the square root, as in the seed,
    Kingma and Ba (2015) and torch.optim.Adam.
    """
    m, v, step = np.zeros_like(params), np.zeros_like(params), np.empty_like(params)
    state = {"m": m, "v": v}
    t = 0
    grad = yield params, state
    while True:
        t += 1
        _adam_direction(m, v, grad, hp, t, step)
        params -= np.multiply(step, hp["lr"], out=step)
        grad = yield params, state


def adamw(params, hp):
    """θ ← θ − η·λ·θ;  then Adam's step θ ← θ − η·m̂ / (√v̂ + ε)

    Decoupled weight decay (Loshchilov and Hutter, 2019): the decay is not part of the gradient, so
    the moments never see it. Same order and ε convention as torch.optim.AdamW.
    """
    m, v, step = np.zeros_like(params), np.zeros_like(params), np.empty_like(params)
    state = {"m": m, "v": v}
    t = 0
    grad = yield params, state
    while True:
        t += 1
        params *= 1 - hp["lr"] * hp["weight_decay"]
        _adam_direction(m, v, grad, hp, t, step)
        params -= np.multiply(step, hp["lr"], out=step)
        grad = yield params, state


def amsgrad(params, hp):
    """Adam with v̂ replaced by its running maximum: θ ← θ − η·m̂ / (√(max v)/√(1−β2ᵗ) + ε)

    Reddi, Kale and Kumar (2018), in the bias-corrected form of torch.optim.Adam(amsgrad=True).
    """
    m, v, v_max = np.zeros_like(params), np.zeros_like(params), np.zeros_like(params)
    step = np.empty_like(params)
    state = {"m": m, "v": v, "v_max": v_max}
    t = 0
    grad = yield params, state
    while True:
        t += 1
        _adam_direction(m, v, grad, hp, t, step, v_max)
        params -= np.multiply(step, hp["lr"], out=step)
        grad = yield params, state


def nadam(params, hp):
    """θ ← θ − η·[(1−μₜ)·g/(1−Πμ) + μₜ₊₁·m/(1−Πμ·μₜ₊₁)] / (√v̂ + ε)

    Adam with Nesterov momentum (Dozat, 2016), with torch.optim.NAdam's momentum schedule
    μₜ = β1·(1 − ½·0.96^(t·ψ)), ψ the momentum decay; ε outside the square root.
    """
    m, v = np.zeros_like(params), np.zeros_like(params)
    step, part = np.empty_like(params), np.empty_like(params)
    state = {"m": m, "v": v}
    t, mu_product = 0, 1.0
    grad = yield params, state
    while True:
        t += 1
        lr, b1, b2, psi = hp["lr"], hp["b1"], hp["b2"], hp["momentum_decay"]
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_product = mu_product * mu
        _ema(m, grad, b1, step)
        _ema(v, np.square(grad, out=step), b2, step)
        np.divide(v, 1 - b2**t, out=step)
        np.sqrt(step, out=step)
        step += hp["eps"]  # step now holds the denominator √v̂ + ε
        params -= np.multiply(np.divide(grad, step, out=part), lr * (1 - mu) / (1 - mu_product), out=part)
        params -= np.multiply(
            np.divide(m, step, out=part), lr * mu_next / (1 - mu_product * mu_next), out=part
        )
        grad = yield params, state


def adadelta(params, hp):
    """E ← ρ·E + (1−ρ)·g²;  Δ ← √(D + ε)/√(E + ε)·g;  D ← ρ·D + (1−ρ)·Δ²;  θ ← θ − η·Δ

    Zeiler (2012), with a learning rate η scaling the step (1.0 is the paper's rule), exactly as
    torch.optim.Adadelta; ε inside both square roots.
    """
    sq_avg, delta_avg = np.zeros_like(params), np.zeros_like(params)
    delta, scratch = np.empty_like(params), np.empty_like(params)
    state = {"E": sq_avg, "D": delta_avg}
    grad = yield params, state
    while True:
        rho, eps = hp["rho"], hp["eps"]
        _ema(sq_avg, np.square(grad, out=scratch), rho, scratch)
        np.sqrt(np.add(delta_avg, eps, out=delta), out=delta)
        delta /= np.sqrt(np.add(sq_avg, eps, out=scratch), out=scratch)
        delta *= grad
        _ema(delta_avg, np.square(delta, out=scratch), rho, scratch)
        params -= np.multiply(delta, hp["lr"], out=delta)
        grad = yield params, state


def lion(params, hp):
    """θ ← θ − η·(sign(β1·m + (1−β1)·g) + λ·θ);  then m ← β2·m + (1−β2)·g

    Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms". Every coordinate moves by
    exactly η (plus decay), so η is about ten times smaller than Adam's for the same problem.
    """
    m, step, scratch = np.zeros_like(params), np.empty_like(params), np.empty_like(params)
    state = {"m": m}
    grad = yield params, state
    while True:
        lr, b1 = hp["lr"], hp["b1"]
        np.multiply(m, b1, out=step)
        step += np.multiply(grad, 1 - b1, out=scratch)
        np.sign(step, out=step)
        params *= 1 - lr * hp["weight_decay"]
        params -= np.multiply(step, lr, out=step)
        _ema(m, grad, hp["b2"], scratch)
        grad = yield params, state


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    label: str
    rule: str  # the update in one line
    make: Callable  # generator function (params, hp)
    params: tuple[Param, ...]
    family: str  # how the step scales with η: "gd", "adaptive", "adagrad", "adadelta" or "sign"
    reference: str

    def hyperparameters(self, /, **given: float) -> dict[str, float]:
        """Defaults overlaid with `given`, each checked against its range."""
        return resolve(self.params, given, f"optimizer {self.name!r}")


_B1 = Param("b1", "β1", 0.9, 0.0, 0.9999, help="decay of the gradient average m")
_B2 = Param("b2", "β2", 0.999, 0.0, 0.99999, help="decay of the squared-gradient average v")
_GAMMA = Param("gamma", "γ (momentum)", 0.9, 0.0, 0.9999)
_DECAY = Param("weight_decay", "weight decay λ", 0.01, 0.0, 1.0)

OPTIMIZERS: dict[str, OptimizerSpec] = by_name(
    [
        OptimizerSpec(
            "sgd",
            "SGD (batch, mini-batch, stochastic)",
            "θ ← θ − η·g",
            sgd,
            (_lr(0.01),),
            "gd",
            "Robbins and Monro (1951)",
        ),
        OptimizerSpec(
            "momentum",
            "Momentum",
            "v ← γv + ηg;  θ ← θ − v",
            momentum,
            (_lr(0.01), _GAMMA),
            "gd",
            "Polyak (1964); Sutskever et al. (2013)",
        ),
        OptimizerSpec(
            "nesterov",
            "Nesterov momentum",
            "v ← γv + ηg;  θ ← θ − (γv + ηg)",
            nesterov,
            (_lr(0.01), _GAMMA),
            "gd",
            "Nesterov (1983); Bengio et al. (2012)",
        ),
        OptimizerSpec(
            "adagrad",
            "Adagrad",
            "G ← G + g²;  θ ← θ − η·g/√(G+ε)",
            adagrad,
            (_lr(0.01), _eps(1e-8)),
            "adagrad",
            "Duchi, Hazan and Singer (2011)",
        ),
        OptimizerSpec(
            "rmsprop",
            "RMSprop",
            "E ← γE + (1−γ)g²;  θ ← θ − η·g/√(E+ε)",
            rmsprop,
            (_lr(0.001), Param("gamma", "γ (decay)", 0.9, 0.0, 0.9999), _eps(1e-8)),
            "adaptive",
            "Hinton (2012), Neural Networks for Machine Learning, lecture 6e",
        ),
        OptimizerSpec(
            "adam",
            "Adam",
            "m ← β1m + (1−β1)g;  v ← β2v + (1−β2)g²;  θ ← θ − η·m̂/(√v̂+ε)",
            adam,
            (_lr(0.001), _B1, _B2, _eps(1e-8)),
            "adaptive",
            "Kingma and Ba (2015)",
        ),
        OptimizerSpec(
            "adamw",
            "AdamW",
            "θ ← θ − ηλθ;  θ ← θ − η·m̂/(√v̂+ε)",
            adamw,
            (_lr(0.001), _B1, _B2, _eps(1e-8), _DECAY),
            "adaptive",
            "Loshchilov and Hutter (2019)",
        ),
        OptimizerSpec(
            "nadam",
            "Nadam",
            "θ ← θ − η·[(1−μₜ)ĝ + μₜ₊₁m̂]/(√v̂+ε)",
            nadam,
            (
                _lr(0.002),
                _B1,
                _B2,
                _eps(1e-8),
                Param("momentum_decay", "momentum decay ψ", 0.004, 0.0, 0.1),
            ),
            "adaptive",
            "Dozat (2016)",
        ),
        OptimizerSpec(
            "amsgrad",
            "AMSGrad",
            "v̂max ← max(v̂max, v);  θ ← θ − η·m̂/(√v̂max+ε)",
            amsgrad,
            (_lr(0.001), _B1, _B2, _eps(1e-8)),
            "adaptive",
            "Reddi, Kale and Kumar (2018)",
        ),
        OptimizerSpec(
            "adadelta",
            "Adadelta",
            "Δ ← √(D+ε)/√(E+ε)·g;  θ ← θ − ηΔ",
            adadelta,
            (
                Param("lr", "learning rate η", 1.0, 1e-4, 100.0, log=True),
                Param("rho", "ρ (decay)", 0.9, 0.0, 0.9999),
                _eps(1e-6),
            ),
            "adadelta",
            "Zeiler (2012)",
        ),
        OptimizerSpec(
            "lion",
            "Lion",
            "θ ← θ − η·(sign(β1m + (1−β1)g) + λθ);  m ← β2m + (1−β2)g",
            lion,
            (_lr(1e-4), _B1, Param("b2", "β2", 0.99, 0.0, 0.99999), replace(_DECAY, default=0.0)),
            "sign",
            "Chen et al. (2023)",
        ),
    ]
)


def get_optimizer(name: str) -> OptimizerSpec:
    return lookup(OPTIMIZERS, name, "optimizer")
