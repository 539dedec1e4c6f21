"""Normalization layers y = γ·(x − μ)/√(σ² + ε) + β, differing only in the axes μ and σ² average over.

    batch norm     (N, C)        over the batch N, per feature          Ioffe and Szegedy (2015)
    layer norm     (N, ...)      over every axis but the batch          Ba et al. (2016)
    instance norm  (N, H, W, C)  over H, W, per example and channel     Ulyanov et al. (2017)
    group norm     (N, H, W, C)  over H, W and a group of C/G channels  Wu and He (2018)

γ and β have one entry per channel C (the last axis). σ² is the biased variance (divide by the
count) and ε sits inside the square root; ε defaults to the seed's 1e-8 (torch uses 1e-5, pass
`eps` to compare). One backward serves all four: with x̂ the standardized input and g = γ·∂L/∂y,

    ∂L/∂x = (g − mean(g) − x̂·mean(g·x̂)) / √(σ² + ε),   means over the same axes as μ,

and ∂L/∂γ = Σ ∂L/∂y·x̂, ∂L/∂β = Σ ∂L/∂y, summed over every axis but C.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.nn.layers import Layer
from core.params import Param, by_name

EPS = Param("eps", "ε", 1e-8, 1e-12, 1e-1, log=True, help="inside the square root, as in the seed")
MOMENTUM = Param(
    "momentum", "running-average momentum α", 0.9, 0.0, 0.9999, help="new = α·old + (1 − α)·batch"
)


def standardize(x, axes, eps):
    """(x̂, 1/√(σ² + ε)) with μ and σ² taken over `axes` (kept as length-1 axes for broadcasting)."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = np.mean(np.square(centered), axis=axes, keepdims=True)
    inv_std = 1 / np.sqrt(var + eps)
    return centered * inv_std, inv_std


def standardize_backward(g, x_hat, inv_std, axes):
    """∂L/∂x from g = ∂L/∂x̂ for x̂ = standardize(x, axes)."""
    mean_g = g.mean(axis=axes, keepdims=True)
    mean_gx = np.mean(g * x_hat, axis=axes, keepdims=True)
    return (g - mean_g - x_hat * mean_gx) * inv_std


class _Norm(Layer):
    """Shared γ, β and backward; subclasses say which axes to average over (`_axes`)."""

    ndim: int | None = None  # required input rank, None for any

    def __init__(self, channels: int, eps: float = EPS.default, dtype=np.float32):
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}")
        self.eps = EPS.check(eps)
        self.params = {"gamma": np.ones(channels, dtype), "beta": np.zeros(channels, dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.cache: tuple[np.ndarray, np.ndarray, tuple[int, ...] | None] | None = None

    def _check(self, x):
        channels = self.params["gamma"].shape[0]
        if (self.ndim is not None and x.ndim != self.ndim) or x.shape[-1] != channels:
            rank = f"{self.ndim}-D " if self.ndim else ""
            raise ValueError(f"{self.kind} expects {rank}input with {channels} channels last, got {x.shape}")

    def _grouped(self, x):
        """x reshaped so that the statistics are means over some axes, and those axes."""
        raise NotImplementedError

    def forward(self, x, train: bool = True):
        x = np.asarray(x, dtype=self.params["gamma"].dtype)
        self._check(x)
        grouped, axes = self._grouped(x)
        x_hat, inv_std = standardize(grouped, axes, self.eps)
        x_hat = x_hat.reshape(x.shape)
        self.cache = (x_hat, inv_std, axes)
        self.out = self.params["gamma"] * x_hat + self.params["beta"]
        return self.out

    def backward(self, dout):
        x_hat, inv_std, axes = self.cache
        batch_axes = tuple(range(dout.ndim - 1))
        np.sum(dout * x_hat, axis=batch_axes, out=self.grads["gamma"])
        np.sum(dout, axis=batch_axes, out=self.grads["beta"])
        g = dout * self.params["gamma"]
        grouped_g, _ = self._grouped(g)
        grouped_x_hat, _ = self._grouped(x_hat)
        return standardize_backward(grouped_g, grouped_x_hat, inv_std, axes).reshape(dout.shape)


class BatchNorm1d(_Norm):
    """Batch norm for (N, C): per-feature μ_B, σ²_B over the batch in training, running averages at inference.

    Running averages follow the seed's convention: new = α·old + (1 − α)·batch, with α = `momentum`
    (0.9 here; torch's momentum m = 1 − α, its default 0.1 is α = 0.9). They start at μ = 0, σ² = 1
    and sit in `state`, apart from the trainable γ, β. The running σ² averages the biased batch
    variance, as in the seed; `unbiased_running_var=True` averages σ²·N/(N − 1) instead, as torch
    does. Inference standardizes with the running averages, and backward then is the affine map
    ∂L/∂x = γ·∂L/∂y/√(σ²_run + ε).
    """

    kind = "batchnorm"
    ndim = 2

    def __init__(
        self,
        channels,
        momentum=MOMENTUM.default,
        eps=EPS.default,
        unbiased_running_var=False,
        dtype=np.float32,
    ):
        super().__init__(channels, eps, dtype)
        self.momentum = MOMENTUM.check(momentum)
        self.unbiased_running_var = unbiased_running_var
        self.state = {"running_mean": np.zeros(channels, dtype), "running_var": np.ones(channels, dtype)}

    def _grouped(self, x):
        return x, (0,)

    def forward(self, x, train: bool = True):
        if train:
            y = super().forward(x, train)
            self._update_running(x)
            return y
        x = np.asarray(x, dtype=self.params["gamma"].dtype)
        self._check(x)
        inv_std = 1 / np.sqrt(self.state["running_var"] + self.eps)
        x_hat = (x - self.state["running_mean"]) * inv_std
        self.cache = (x_hat, inv_std, None)
        self.out = self.params["gamma"] * x_hat + self.params["beta"]
        return self.out

    def _update_running(self, x):
        n = x.shape[0]
        x = np.asarray(x, dtype=self.params["gamma"].dtype)
        mean, var = x.mean(axis=0), x.var(axis=0)
        if self.unbiased_running_var:
            if n < 2:
                raise ValueError("an unbiased running variance needs a batch of at least 2")
            var *= n / (n - 1)
        alpha = self.momentum
        for key, batch in (("running_mean", mean), ("running_var", var)):
            self.state[key] *= alpha
            self.state[key] += (1 - alpha) * batch

    def backward(self, dout):
        x_hat, inv_std, axes = self.cache
        if axes is not None:
            return super().backward(dout)
        np.sum(dout * x_hat, axis=0, out=self.grads["gamma"])
        np.sum(dout, axis=0, out=self.grads["beta"])
        return dout * (self.params["gamma"] * inv_std)


class LayerNorm(_Norm):
    """Layer norm: μ, σ² per example over every axis but the batch; same in training and inference."""

    kind = "layernorm"

    def _grouped(self, x):
        return x, tuple(range(1, x.ndim))


class InstanceNorm(_Norm):
    """Instance norm for (N, H, W, C): μ, σ² per example and channel over the spatial axes H, W."""

    kind = "instancenorm"
    ndim = 4

    def _grouped(self, x):
        return x, (1, 2)


class GroupNorm(_Norm):
    """Group norm for (N, H, W, C): channels split into G groups of C/G; μ, σ² per example and group.

    G = 1 is layer norm, G = C is instance norm.
    """

    kind = "groupnorm"
    ndim = 4

    def __init__(self, channels, groups, eps=EPS.default, dtype=np.float32):
        super().__init__(channels, eps, dtype)
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or channels % groups:
            divisors = [g for g in range(1, channels + 1) if channels % g == 0]
            raise ValueError(f"groups must divide {channels} channels: one of {divisors}, got {groups!r}")
        self.groups = groups

    def _grouped(self, x):
        n, h, w, c = x.shape
        return x.reshape(n, h, w, self.groups, c // self.groups), (1, 2, 4)


@dataclass(frozen=True)
class Norm:
    name: str
    label: str
    formula: str  # one line, for display
    layer: type[_Norm]  # constructed as layer(channels, eps=..., dtype=...)
    reference: str = ""


# The normalizations a fully connected network can put between a layer's product and its activation.
NORMS: dict[str, Norm] = by_name(
    [
        Norm(
            "batch",
            "Batch norm",
            "γ·(x − μ_B)/√(σ²_B + ε) + β, per feature over the batch",
            BatchNorm1d,
            "Ioffe and Szegedy (2015)",
        ),
        Norm(
            "layer",
            "Layer norm",
            "γ·(x − μ)/√(σ² + ε) + β, per example over the features",
            LayerNorm,
            "Ba et al. (2016)",
        ),
    ]
)
