"""Sharpness: λmax, the largest eigenvalue of the training loss's Hessian, and the step size's
stability threshold it is compared with (Cohen et al., ICLR 2021, "Gradient Descent on Neural Networks
Typically Occurs at the Edge of Stability").

Hessian-vector products are central differences of gradients, in float64:

    H·v ≈ (∇L(θ + h·v) − ∇L(θ − h·v)) / 2h,   |v| = 1

Chosen over Pearlmutter's exact R-op because they need nothing but each layer's own backward pass:
every activation, norm and loss the networks have works at once, with no second-derivative code to
keep in step with it. In float64 their error is far below what a comparison with 2/η needs: the
truncation error is h²/6·|∇³L[v, v, v]| and the rounding error about 1e-16·|∇L|/h; with h = 1e-4 both
are around 1e-8 of λmax on the networks here (tests check H·v against a dense Hessian and λmax against
numpy's eigvalsh).

λmax comes from Lanczos iteration with full reorthogonalization: its largest Ritz value converges to
the largest algebraic eigenvalue in far fewer products than power iteration needs, and, unlike power
iteration, never mistakes a large negative eigenvalue (common early in training) for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np

from core.nn.network import Network

STEP = 1e-4  # h of the central differences, along a unit vector
ITERATIONS = 20  # Lanczos steps: λmax to about 1e-6 relative on the networks here


def hessian_vector_product(net: Network, x, y) -> Callable[[np.ndarray], np.ndarray]:
    """v ↦ H·v for the data loss of `net` on (x, y) at its current weights, in float64 (dropout off:
    the loss must be one function of the weights)."""
    twin = Network(replace(net.spec, dropout=0.0), dtype=np.float64)
    theta = net.params.astype(np.float64)

    def gradient_at(point: np.ndarray) -> np.ndarray:
        twin.params[:] = point
        twin.loss_and_grad(x, y)
        return twin.grad.copy()

    def product(v: np.ndarray) -> np.ndarray:
        return (gradient_at(theta + STEP * v) - gradient_at(theta - STEP * v)) / (2 * STEP)

    return product


def top_eigenvalue(
    product: Callable[[np.ndarray], np.ndarray], n: int, iterations: int = ITERATIONS, seed: int = 0
):
    """The largest eigenvalue of the symmetric n×n operator `product`, by Lanczos iteration; NaN where
    a product is not finite (a network that has diverged has no sharpness to show)."""
    rng = np.random.default_rng(seed)
    basis = np.zeros((min(iterations, n), n))
    alphas, betas = [], []
    v = rng.standard_normal(n)
    v /= np.linalg.norm(v)
    for k in range(len(basis)):
        basis[k] = v
        w = product(v)
        if not np.isfinite(w).all():
            return float("nan")
        alphas.append(float(v @ w))
        w -= basis[: k + 1].T @ (basis[: k + 1] @ w)  # full reorthogonalization
        beta = float(np.linalg.norm(w))
        if beta < 1e-12 * max(1.0, abs(alphas[-1])):
            break  # an invariant subspace: the Ritz values are exact
        betas.append(beta)
        v = w / beta
    k = len(alphas)
    tridiagonal = np.diag(alphas) + np.diag(betas[: k - 1], 1) + np.diag(betas[: k - 1], -1)
    return float(np.linalg.eigvalsh(tridiagonal)[-1])


def sharpness(net: Network, x, y, iterations: int = ITERATIONS, seed: int = 0) -> float:
    """λmax of the data loss's Hessian on (x, y) at the network's current weights."""
    return top_eigenvalue(hessian_vector_product(net, x, y), net.params.size, iterations, seed)


def stability_threshold(optimizer: str, hyper: Mapping[str, float]) -> float | None:
    """The sharpness above which the optimizer's step is unstable on a quadratic of that curvature:
    2/η for gradient descent, (2 + 2γ)/η for heavy-ball momentum (v ← γv + ηg; θ ← θ − v); None for
    rules without a fixed threshold in λmax."""
    lr = hyper["lr"]
    if optimizer == "sgd":
        return 2 / lr
    if optimizer == "momentum":
        return (2 + 2 * hyper["gamma"]) / lr
    return None
