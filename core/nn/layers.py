"""Layers y = f(x; θ): `forward(x, train)` caches what `backward(dout)` needs to return ∂L/∂x.

Protocol, shared by the normalization layers in core/nn/norms.py:

    y = layer.forward(x, train=True)   # train=False: inference (dropout off, running statistics)
    dx = layer.backward(dout)          # dout = ∂L/∂y; also fills layer.grads[k] = ∂L/∂params[k]

`params` and `grads` have exactly the same keys and shapes. A layer owns its arrays until a
`Network` moves them into one flat buffer and hands back views; a layer therefore always reads
`self.params[k]` and writes `self.grads[k]` in place, never keeping its own reference. `state`
holds what is not trained (batch norm's running statistics), so no optimizer ever touches it.
`decay` names the parameters that weight regularization acts on (the weights, not the biases).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.nn.activations import get_activation
from core.nn.inits import get_init
from core.params import Param

WIDTH = Param("width", "neurons", 64, 1, 100_000, integer=True)
DROPOUT = Param("dropout", "dropout p (drop probability)", 0.0, 0.0, 0.95, help="0 turns dropout off")


class Layer:
    kind = "layer"
    decay: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.name = self.kind
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.out: np.ndarray | None = None  # the output of the last forward pass (for histograms)

    def forward(self, x, train: bool = True):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def stats(self) -> dict[str, float]:
        """Cheap diagnostics from the last forward and backward pass (no extra computation pass)."""
        out = {}
        if self.grads:
            out["grad_norm"] = float(np.sqrt(sum(np.vdot(g, g) for g in self.grads.values())))
        return out


def dead_fraction(a) -> float:
    """Fraction of units whose output is zero for every example of the batch (dead ReLUs)."""
    alive = np.count_nonzero((a > 0).any(axis=0))
    return float(1.0 - alive / a.shape[1])


def _seeded(rng) -> np.random.Generator:
    """Accept a Generator or an integer seed; refuse None so nothing is silently unseeded."""
    if rng is None:
        raise ValueError("pass a seed or an np.random.Generator: every random layer must be reproducible")
    return np.random.default_rng(rng)


class Dense(Layer):
    """a = f(x·W + b), W of shape (inputs, neurons): column j holds the weights of neuron j.

    Backward: ∂L/∂z = f′(z)·∂L/∂a, ∂L/∂W = xᵀ·∂L/∂z, ∂L/∂b = Σ_batch ∂L/∂z, ∂L/∂x = ∂L/∂z·Wᵀ.
    The loss is already a batch mean, so these sums are batch means of per-example gradients.
    ∂L/∂W is written straight into `grads["W"]` by the matrix product (no temporary the size of W).

    Two switches for a first layer, which `Network` sets: `need_dx = False` skips ∂L/∂x (nothing
    consumes it, and it costs a GEMM); `trim_inputs = True` drops the leading and trailing input
    columns that are zero across the whole batch from both big products (the border pixels of an
    MNIST batch: about 15% of the work). The result is the same: those columns add exact zeros to
    z and get exact zeros in ∂L/∂W.
    """

    kind = "dense"
    decay = ("W",)

    def __init__(self, inputs, neurons, activation="linear", init="xavier", rng=None, dtype=np.float32):
        super().__init__()
        inputs = replace(WIDTH, name="inputs").check(inputs)
        neurons = replace(WIDTH, name="neurons").check(neurons)
        self.act = get_activation(activation)
        weights = get_init(init).sample(_seeded(rng), inputs, neurons)
        self.params = {"W": weights.astype(dtype), "b": np.zeros(neurons, dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.need_dx = True
        self.trim_inputs = False
        self.x = self.z = None
        self.span = (0, inputs)

    def linear(self, x):
        """z = x·W + b only (the output layer of a fused softmax + cross-entropy step stops here)."""
        W = self.params["W"]
        x = np.asarray(x, dtype=W.dtype)  # a float64 input would silently make every product float64
        lo, hi = _nonzero_span(x) if self.trim_inputs else (0, x.shape[1])
        z = x[:, lo:hi] @ W[lo:hi]
        z += self.params["b"]
        self.x, self.z, self.span, self.out = x, z, (lo, hi), None
        return z

    def forward(self, x, train: bool = True):
        self.out = self.act.forward(self.linear(x))
        return self.out

    def backward(self, dout):
        return self.backward_z(self.act.backward(dout, self.z, self.out))

    def backward_z(self, dz):
        """Backward from ∂L/∂z directly (a fused softmax + cross-entropy gradient starts here)."""
        lo, hi = self.span
        grad_w = self.grads["W"]
        np.matmul(self.x[:, lo:hi].T, dz, out=grad_w[lo:hi])
        grad_w[:lo] = 0
        grad_w[hi:] = 0
        np.add.reduce(dz, axis=0, out=self.grads["b"])
        return dz @ self.params["W"].T if self.need_dx else None

    def stats(self):
        out = super().stats()
        if self.act.name == "relu" and self.out is not None:
            out["dead_fraction"] = dead_fraction(self.out)
        return out


def _nonzero_span(x):
    """(lo, hi): columns outside [lo, hi) are zero in every row of x."""
    used = x.any(axis=0)
    if not used.any():
        return 0, 0
    return int(used.argmax()), len(used) - int(used[::-1].argmax())


class ActivationLayer(Layer):
    """a = f(z) on its own, for blocks that put a normalization between the product and f."""

    kind = "activation"

    def __init__(self, activation: str):
        super().__init__()
        self.act = get_activation(activation)
        self.kind = self.name = self.act.name
        self.z = None

    def forward(self, x, train: bool = True):
        self.z = x
        self.out = self.act.forward(x)
        return self.out

    def backward(self, dout):
        return self.act.backward(dout, self.z, self.out)

    def stats(self):
        if self.act.name == "relu" and self.out is not None:
            return {"dead_fraction": dead_fraction(self.out)}
        return {}


class Dropout(Layer):
    """Inverted dropout: y = x·m/(1 − p), m ~ Bernoulli(1 − p) per unit in training; y = x at inference.

    p is the probability of dropping a unit: each unit is kept with probability 1 − p and scaled by
    1/(1 − p), so E[y] = x and inference needs no rescaling (Srivastava et al., 2014). The seed's
    text uses the same convention, but its code keeps units with probability p (`rand < p`, scaled
    by 1/p); the two agree only at p = 0.5. Backward multiplies by the same mask.
    """

    kind = "dropout"

    def __init__(self, p: float, rng=None):
        super().__init__()
        self.p = DROPOUT.check(p)
        self.rng = _seeded(rng)
        self.mask = None

    def forward(self, x, train: bool = True):
        if not train or self.p == 0:
            self.mask = None
            self.out = x
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        self.mask = np.multiply(keep, 1 / (1 - self.p), dtype=x.dtype)
        self.out = x * self.mask
        return self.out

    def backward(self, dout):
        return dout if self.mask is None else dout * self.mask
