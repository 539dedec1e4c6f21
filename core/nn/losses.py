"""Loss functions L(y, ŷ) with their gradients ∂L/∂ŷ, and the fused softmax + cross-entropy.

`y` holds the targets in the prediction's shape: one-hot rows (or soft labels summing to 1) for
classification, real values for regression. `one_hot` turns class indices into rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.params import by_name, lookup

CLIP = 1e-15  # cross-entropy clips ŷ to [CLIP, 1 − CLIP] and takes log(ŷ + CLIP), as the seed does


def one_hot(labels, classes: int, dtype=np.float32):
    """Rows e_k for class indices k in [0, classes)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be a 1-D array of integers, got shape {labels.shape} {labels.dtype}")
    hits = labels[:, None] == np.arange(classes)
    if np.count_nonzero(hits) != labels.size:  # some label matched no class
        raise ValueError(f"labels must be in [0, {classes - 1}], got [{labels.min()}, {labels.max()}]")
    return hits.astype(dtype)


def _check(y, pred):
    if np.shape(y) != np.shape(pred):
        raise ValueError(f"targets {np.shape(y)} and predictions {np.shape(pred)} must have the same shape")


def mse(y, pred) -> float:
    """(1/n)·Σ (yᵢ − ŷᵢ)², the mean over every element (batch and outputs alike), as in the seed."""
    _check(y, pred)
    return float(np.mean(np.square(pred - y)))


def mse_grad(y, pred):
    """∂L/∂ŷ = 2(ŷ − y)/n, n the number of elements."""
    _check(y, pred)
    return (pred - y) * (2 / pred.size)


def cross_entropy(y, pred) -> float:
    """−(1/N)·Σ y·log(clip(ŷ) + 1e-15), N the batch (first axis): the seed's formula exactly.

    ŷ is clipped to [1e-15, 1 − 1e-15] and 1e-15 is added once more inside the log, so a perfect
    prediction scores −0.0 and −log 0.6 prints as 0.5108256237659891, as in the seed.
    """
    _check(y, pred)
    p = np.clip(pred, CLIP, 1 - CLIP)
    return float(-np.sum(y * np.log(p + CLIP)) / np.shape(y)[0])


def cross_entropy_grad(y, pred):
    """∂L/∂ŷ = −y/(N·(clip(ŷ) + 1e-15)) inside the clip range, 0 where the clip holds ŷ fixed."""
    _check(y, pred)
    inside = (pred >= CLIP) & (pred <= 1 - CLIP)
    return -y / (np.clip(pred, CLIP, 1 - CLIP) + CLIP) * inside / y.shape[0]


def softmax_cross_entropy(y, logits):
    """(L, ∂L/∂z, ŷ) for L = CE(y, softmax(z)): L = (1/N)·Σ (logsumexp(z) − y·z), ∂L/∂z = (ŷ − y)/N.

    Computed from the logits with the log-sum-exp trick, so it never takes the log of a rounded-off
    probability and needs no clipping: exact where the clipped `cross_entropy` saturates. Both the
    loss and the gradient take each row of y to sum to 1 (one-hot or soft labels). ŷ = softmax(z)
    comes along for free, so an output layer need not compute it a second time.
    """
    _check(y, logits)
    n = logits.shape[0]
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=-1, keepdims=True)
    loss = float((np.sum(np.log(total)) - np.vdot(y, shifted)) / n)
    probs = exp / total
    grad = probs - y
    grad *= grad.dtype.type(1 / n)
    return loss, grad, probs


@dataclass(frozen=True)
class Loss:
    name: str
    label: str
    formula: str  # one line, for display
    value: Callable  # (y, pred) -> float
    grad: Callable  # (y, pred) -> ∂L/∂pred
    fused_with: str | None = None  # output activation whose combination has a fused form
    fused: Callable | None = None  # (y, z) -> (L, ∂L/∂z, ŷ), z the output layer's pre-activation


LOSSES: dict[str, Loss] = by_name(
    [
        Loss("mse", "Mean squared error", "(1/n)·Σ(y − ŷ)²", mse, mse_grad),
        Loss(
            "cross_entropy",
            "Cross-entropy",
            "−(1/N)·Σ y·log ŷ",
            cross_entropy,
            cross_entropy_grad,
            fused_with="softmax",
            fused=softmax_cross_entropy,
        ),
    ]
)


def get_loss(name: str) -> Loss:
    return lookup(LOSSES, name, "loss")
