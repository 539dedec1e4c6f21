"""Activation functions a = f(z), each with its derivative f'(z) next to it.

Every function keeps the dtype of its input: a float32 network stays float32 end to end. The
derivatives take both z and a = f(z), so sigmoid and tanh reuse the forward output instead of
recomputing it; `backward(dout, z, a)` is the vector-Jacobian product a layer calls. For the
element-wise functions it is dout·f'(z); softmax is not element-wise and has only the product.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.params import by_name, lookup

LEAKY_SLOPE = 0.01  # leaky ReLU's slope for z < 0, torch.nn.LeakyReLU's default


def sigmoid(z):
    """σ(z) = 1/(1 + e^−z), written with e^−|z| so that no exponent overflows (z = −1000 is fine)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1, e) / (1 + e)


def sigmoid_derivative(z, a):
    return a * (1 - a)


def tanh(z):
    return np.tanh(z)


def tanh_derivative(z, a):
    return 1 - a * a


def relu(z):
    return np.maximum(z, 0)


def relu_derivative(z, a):
    """A boolean mask (z > 0): multiplying float32 by it stays float32 (an int64 mask would not)."""
    return z > 0


def leaky_relu(z):
    return np.where(z > 0, z, z * z.dtype.type(LEAKY_SLOPE))


def leaky_relu_derivative(z, a):
    one, slope = z.dtype.type(1), z.dtype.type(LEAKY_SLOPE)
    return np.where(z > 0, one, slope)


def linear(z):
    return z


def linear_derivative(z, a):
    return np.ones_like(z)


def softmax(z):
    """Row-wise e^zᵢ / Σⱼ e^zⱼ, computed as e^(zᵢ − max z) so that logits like ±1000 stay finite."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def softmax_backward(dout, z, a):
    """∂L/∂zᵢ = aᵢ·(∂L/∂aᵢ − Σⱼ aⱼ·∂L/∂aⱼ): the softmax Jacobian diag(a) − aaᵀ applied to dout."""
    return a * (dout - (dout * a).sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    name: str
    label: str
    formula: str  # one line, for display
    forward: Callable  # z -> a
    derivative: Callable | None  # (z, a) -> f'(z), element-wise; None where f is not element-wise
    vjp: Callable | None = None  # (dout, z, a) -> dL/dz, for the functions that are not element-wise
    output_only: bool = False  # softmax normalizes a whole row: only for the output layer

    def backward(self, dout, z, a):
        """dL/dz from dL/da: the vector-Jacobian product."""
        if self.vjp is not None:
            return self.vjp(dout, z, a)
        return dout * self.derivative(z, a)


ACTIVATIONS: dict[str, Activation] = by_name(
    [
        Activation("sigmoid", "Sigmoid", "σ(z) = 1/(1 + e^−z);  σ′ = σ(1 − σ)", sigmoid, sigmoid_derivative),
        Activation(
            "tanh", "Tanh", "tanh(z) = (e^z − e^−z)/(e^z + e^−z);  tanh′ = 1 − tanh²", tanh, tanh_derivative
        ),
        Activation("relu", "ReLU", "max(0, z);  ReLU′ = [z > 0]", relu, relu_derivative),
        Activation(
            "leaky_relu",
            "Leaky ReLU",
            f"max({LEAKY_SLOPE}·z, z);  ′ = 1 or {LEAKY_SLOPE}",
            leaky_relu,
            leaky_relu_derivative,
        ),
        Activation("linear", "Linear (identity)", "z;  ′ = 1", linear, linear_derivative),
        Activation(
            "softmax",
            "Softmax (output only)",
            "e^zᵢ / Σⱼ e^zⱼ",
            softmax,
            None,
            softmax_backward,
            output_only=True,
        ),
    ]
)


def get_activation(name: str) -> Activation:
    return lookup(ACTIVATIONS, name, "activation")
