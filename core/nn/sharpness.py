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

ReLU and leaky ReLU have kinks, where the gradient jumps: a difference that carries a unit across
its kink adds a jump over h to H·v (on MNIST, λmax read 3,000 where torch's double backward, which
takes ReLU″ = 0, gives 10). So a base pass at θ records the piece each unit is on, and the shifted
passes stay on those pieces (a = s·z with the base pass's slope s): the network is then smooth
around θ, and the differences give the Hessian of the piece θ is on, which is the Hessian wherever
it exists, as autograd computes it.

λmax comes from Lanczos iteration with full reorthogonalization: its largest Ritz value converges to
the largest algebraic eigenvalue in far fewer products than power iteration needs, and, unlike power
iteration, never mistakes a large negative eigenvalue (common early in training) for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from core.nn.layers import ActivationLayer, Dense
from core.nn.network import Network
from core.params import by_name

STEP = 1e-4  # h of the central differences, along a unit vector
ITERATIONS = 20  # Lanczos steps: λmax to about 1e-6 relative on the networks here
FORWARD_STEP = 1e-6  # h of the probe's forward differences, along a unit vector
EXAMPLES = 512  # the probe's examples: a whole edge-of-stability training set (see SharpnessProbe)
PROBE_ITERATIONS = 20  # the most Lanczos steps of one probe: a cold start's
TOLERANCE = 2e-2  # a warm probe stops once its top Ritz pair's residual is below this fraction of λmax


PIECEWISE_LINEAR = ("relu", "leaky_relu")  # activations whose pieces a probe holds fixed


class _HeldPieces:
    """A piecewise-linear activation that, once `hold` is set, stays on the pieces of the last pass
    made without it: a = s·z, ∂a/∂z = s, with that pass's slopes s."""

    def __init__(self, act):
        self.act, self.name = act, act.name
        self.hold = False
        self.slopes: np.ndarray | None = None

    def forward(self, z):
        if self.hold and self.slopes is not None and self.slopes.shape == z.shape:
            return z * self.slopes
        self.slopes = np.asarray(self.act.derivative(z, None), dtype=z.dtype)
        return self.act.forward(z)

    def backward(self, dout, z, a):
        return dout * self.slopes


def _twin(net: Network) -> tuple[Network, list[_HeldPieces]]:
    """A float64 copy of `net`'s shape (dropout off: the loss must be one function of the weights)
    whose piecewise-linear activations can hold their pieces."""
    twin = Network(replace(net.spec, dropout=0.0), dtype=np.float64)
    held = []
    for layer in twin.layers:
        if isinstance(layer, Dense | ActivationLayer) and layer.act.name in PIECEWISE_LINEAR:
            pieces = _HeldPieces(layer.act)
            layer.act = pieces  # the same protocol: name, forward, backward
            held.append(pieces)
    return twin, held


def _hold(held: list[_HeldPieces], on: bool) -> None:
    for act in held:
        act.hold = on


def hessian_vector_product(net: Network, x, y) -> Callable[[np.ndarray], np.ndarray]:
    """v ↦ H·v for the data loss of `net` on (x, y) at its current weights, in float64, on the
    pieces of the piecewise-linear activations that the current weights are on."""
    twin, held = _twin(net)
    theta = net.params.astype(np.float64)

    def gradient_at(point: np.ndarray) -> np.ndarray:
        twin.params[:] = point
        twin.loss_and_grad(x, y)
        return twin.grad.copy()

    gradient_at(theta)  # records the pieces
    _hold(held, True)

    def product(v: np.ndarray) -> np.ndarray:
        return (gradient_at(theta + STEP * v) - gradient_at(theta - STEP * v)) / (2 * STEP)

    return product


def lanczos(
    product: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    iterations: int = ITERATIONS,
    tolerance: float = 0.0,
) -> tuple[float, np.ndarray]:
    """(the largest Ritz value, its unit Ritz vector) of the symmetric operator `product`, by Lanczos
    iteration with full reorthogonalization from `start`; (NaN, start) where a product is not finite.

    Stops after `iterations` products, at an invariant subspace, or once the top Ritz pair's residual
    ‖A·y − θ·y‖ (= β·|last component of its eigenvector in the tridiagonal|, no extra product) is at
    most `tolerance`·|θ|: then an eigenvalue lies within that residual of θ, and θ's own error is of
    the order of residual²/gap. A start near the top eigenvector stops in a few products.
    """
    basis: list[np.ndarray] = []  # the Lanczos vectors (a list: no n-wide matrix to allocate per call)
    alphas: list[float] = []
    betas: list[float] = []
    v = start / np.linalg.norm(start)
    for _ in range(min(iterations, start.size)):
        basis.append(v)
        w = product(v)
        if not np.isfinite(w).all():
            return float("nan"), start
        alphas.append(float(v @ w))
        for u in basis:  # full reorthogonalization (modified Gram-Schmidt)
            w -= (u @ w) * u
        beta = float(np.linalg.norm(w))
        values, vectors = _ritz(alphas, betas)
        top = vectors[:, -1]
        if beta < 1e-12 * max(1.0, abs(alphas[-1])) or beta * abs(top[-1]) <= tolerance * abs(values[-1]):
            break  # an invariant subspace (the Ritz values are exact), or converged
        betas.append(beta)
        v = w / beta
    ritz = sum(c * u for c, u in zip(top, basis, strict=True))
    return float(values[-1]), ritz / np.linalg.norm(ritz)


def _ritz(alphas: list[float], betas: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of the Lanczos tridiagonal matrix."""
    k = len(alphas)
    tridiagonal = np.diag(alphas) + np.diag(betas[: k - 1], 1) + np.diag(betas[: k - 1], -1)
    return np.linalg.eigh(tridiagonal)


def top_eigenvalue(
    product: Callable[[np.ndarray], np.ndarray], n: int, iterations: int = ITERATIONS, seed: int = 0
) -> float:
    """The largest eigenvalue of the symmetric n×n operator `product`, by Lanczos iteration from a
    random start; NaN where a product is not finite (a network that has diverged has no sharpness to
    show)."""
    start = np.random.default_rng(seed).standard_normal(n)
    return lanczos(product, start, iterations)[0]


def sharpness(net: Network, x, y, iterations: int = ITERATIONS, seed: int = 0) -> float:
    """λmax of the data loss's Hessian on (x, y) at the network's current weights."""
    return top_eigenvalue(hessian_vector_product(net, x, y), net.params.size, iterations, seed)


def stability_threshold(optimizer: str, hyper: Mapping[str, float]) -> float | None:
    """The sharpness λmax(H) above which the optimizer's step is unstable on a quadratic of that
    curvature: 2/η for gradient descent, (2 + 2γ)/η for heavy-ball momentum (v ← γv + ηg; θ ← θ − v),
    (2 + 2γ)/((1 + 2γ)η) for Nesterov's; None for rules without a fixed threshold in λmax(H) (the
    preconditioned rules' threshold bounds λmax(P⁻¹H) instead: see STABILITY)."""
    rule = STABILITY.get(optimizer)
    if rule is None or rule.preconditioner is not None:
        return None
    return rule.threshold(hyper)


class SharpnessProbe:
    """λmax(H) of the data loss on a network's first EXAMPLES training examples, and for preconditioned
    rules λmax(P⁻¹H), measured again and again while the network trains.

    Each measurement costs about (1 + k) gradient passes over those examples in float64, k the
    Lanczos products: the gradient at θ once, then one forward difference per product,

        H·v ≈ (∇L(θ + h·v) − ∇L(θ)) / h,   |v| = 1, h = FORWARD_STEP,

    half the passes of central differences; in float64 the error stays near 1e-7 of H·v (truncation
    h/2·|∇³L[v, v]|, rounding about 1e-16·|∇L|/h). Lanczos starts from the previous measurement's top
    Ritz vector (the top eigenvector moves slowly between probes) and stops once the top Ritz pair's
    residual is below TOLERANCE of it, so a probe typically takes 2 to 4 products where a cold start
    takes about ten; λ then lies within 0.5 % of a 40-step Lanczos from a random start (median 0.05 %;
    TOLERANCE = 1e-2 would cost 15 % more products for 0.1 %). When a second eigenvalue overtakes the
    first (at the edge, where the top few crowd together at 2/η) a warm start can read the former top
    one for a probe or two: about 1 % low.

    EXAMPLES = 512: gradient descent's stability is that of the loss it descends, so a full-batch run
    of up to 512 examples (bench/edge_of_stability.py trains on 500) is probed on its whole training
    set; a larger set is probed on its first 512 examples, an estimate of the whole set's λmax. The
    passes are in float64, about 2.5 times a float32 pass, so a probe of 1 + 3 passes every 100 steps
    costs under 10 % where a batch has about 512 examples or more; at batch 16 it nearly triples the
    time (bench/sharpness_cost.py): probe less often there.
    """

    def __init__(self, net: Network, x, y, optimizer: str, seed: int = 0):
        rows = slice(0, EXAMPLES)
        self.net, self.stability = net, STABILITY.get(optimizer)
        self.x = np.asarray(x[rows], dtype=np.float64)
        targets = np.asarray(y[rows])
        self.y = targets.astype(np.float64) if targets.dtype.kind == "f" else targets  # labels stay ints
        self.twin, self.held = _twin(net)
        self.rng = np.random.default_rng(seed)
        self.theta = np.empty(net.params.size)  # the network's weights, in float64
        self.base = np.empty(net.params.size)  # ∇L(θ)
        self.starts: dict[str, np.ndarray] = {}  # the last top Ritz vector of each operator
        self.products = 0  # gradient passes so far (the base gradients included)

    def measure(
        self, hyper: Mapping[str, float], state: Mapping[str, np.ndarray], t: int
    ) -> dict[str, float | None]:
        """At the network's current weights: {"sharpness": λmax(H), "threshold": the rule's threshold
        or None, and for preconditioned rules also "preconditioned": λmax(P⁻¹H)}.

        `hyper`, `state` and `t` are the optimizer's hyperparameters, its state (as its generator yields
        it) and the number of steps it has taken. λmax(P⁻¹H) is computed as λmax of the symmetric
        P^(-1/2)·H·P^(-1/2) (the same eigenvalues). Before the first step (t = 0) an adaptive rule has
        no preconditioner yet: "preconditioned" is None. Any value that is not finite is None.
        """
        rule = self.stability
        result: dict[str, float | None] = {"sharpness": None, "threshold": None}
        if rule is not None:
            result["threshold"] = _finite(rule.threshold(hyper))
            if rule.preconditioner is not None:
                result["preconditioned"] = None
        np.copyto(self.theta, self.net.params)
        if not np.isfinite(self.theta).all():
            return result
        _hold(self.held, False)  # the base pass records the pieces the products then keep
        np.copyto(self.twin.params, self.theta)
        loss = self._pass()
        np.copyto(self.base, self.twin.grad)
        _hold(self.held, True)
        if not (np.isfinite(loss) and np.isfinite(self.base).all()):
            return result
        result["sharpness"] = self._top("sharpness", self.product)
        if rule is not None and rule.preconditioner is not None and t > 0:
            with np.errstate(all="ignore"):
                scale = 1 / np.sqrt(rule.preconditioner(state, hyper, t))
            if np.isfinite(scale).all():
                result["preconditioned"] = self._top(
                    "preconditioned", lambda v: scale * self.product(scale * v)
                )
        return result

    def _pass(self) -> float:
        """The loss at the twin's weights, its gradient left in `twin.grad`."""
        with np.errstate(all="ignore"):  # a diverging network overflows: reported as None
            loss = self.twin.loss_and_grad(self.x, self.y)
        self.products += 1
        return loss

    def product(self, v: np.ndarray) -> np.ndarray:
        """H·v at the weights of the last `measure`, by a forward difference along v/|v| (v need not be
        a unit vector): one gradient pass."""
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            return np.zeros_like(v)
        shifted = self.twin.params  # θ + h·v/|v|, written in place
        np.multiply(v, FORWARD_STEP / norm, out=shifted)
        shifted += self.theta
        self._pass()
        out = np.subtract(self.twin.grad, self.base)
        out *= norm / FORWARD_STEP
        return out

    def _top(self, key: str, product: Callable[[np.ndarray], np.ndarray]) -> float | None:
        """λmax of `product`, warm-started from this operator's previous top Ritz vector."""
        start, tolerance = self.starts.get(key), TOLERANCE
        if start is None:  # a cold start, once: converged further, it gives the next probes a better start
            start, tolerance = self.rng.standard_normal(self.theta.size), TOLERANCE / 10
        value, vector = lanczos(product, start, PROBE_ITERATIONS, tolerance)
        if not np.isfinite(value):
            self.starts.pop(key, None)
            return None
        self.starts[key] = vector
        return value


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


# --- each rule's stability on a quadratic --------------------------------------------------------------


def _gd(hyper: Mapping[str, float]) -> float:
    return 2 / hyper["lr"]


def _heavy_ball(hyper: Mapping[str, float]) -> float:
    return (2 + 2 * hyper["gamma"]) / hyper["lr"]


def _nesterov(hyper: Mapping[str, float]) -> float:
    return (2 + 2 * hyper["gamma"]) / ((1 + 2 * hyper["gamma"]) * hyper["lr"])


def _adam(hyper: Mapping[str, float]) -> float:
    return (2 + 2 * hyper["b1"]) / ((1 - hyper["b1"]) * hyper["lr"])


def _adam_p(state: Mapping[str, np.ndarray], hyper: Mapping[str, float], t: int) -> np.ndarray:
    """√v̂ + ε, v̂ = v/(1 − β2ᵗ): ε outside the root, as core.optimizers.adam has it."""
    return np.sqrt(state["v"].astype(np.float64) / (1 - hyper["b2"] ** t)) + hyper["eps"]


def _amsgrad_p(state: Mapping[str, np.ndarray], hyper: Mapping[str, float], t: int) -> np.ndarray:
    """√(max v)/√(1 − β2ᵗ) + ε: Adam's with the running maximum of v."""
    return np.sqrt(state["v_max"].astype(np.float64) / (1 - hyper["b2"] ** t)) + hyper["eps"]


def _rmsprop_p(state: Mapping[str, np.ndarray], hyper: Mapping[str, float], t: int) -> np.ndarray:
    """√(E + ε): ε inside the root, as core.optimizers.rmsprop has it."""
    return np.sqrt(state["E"].astype(np.float64) + hyper["eps"])


def _adagrad_p(state: Mapping[str, np.ndarray], hyper: Mapping[str, float], t: int) -> np.ndarray:
    """√(G + ε): ε inside the root, as core.optimizers.adagrad has it."""
    return np.sqrt(state["G"].astype(np.float64) + hyper["eps"])


Preconditioner = Callable[[Mapping[str, np.ndarray], Mapping[str, float], int], np.ndarray]


@dataclass(frozen=True)
class Stability:
    """Where an update rule stops being stable on a quadratic with Hessian H: λmax(H) < threshold for
    the gradient-descent rules; λmax(P⁻¹H) < threshold for a preconditioned rule, its preconditioner
    P (a diagonal, from the optimizer's state) held fixed."""

    name: str  # the optimizer's
    condition: str  # in one line
    threshold: Callable[[Mapping[str, float]], float]  # of the hyperparameters
    preconditioner: Preconditioner | None = None  # P's diagonal from (state, hyperparameters, t)
    reference: str = ""


_EOS = (
    "Cohen et al. (ICLR 2021), Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability"
)
_AEOS = "Cohen et al. (2022), Adaptive Gradient Methods at the Edge of Stability"

STABILITY: dict[str, Stability] = by_name(
    [
        Stability("sgd", "λmax(H) < 2/η", _gd, reference=_EOS),
        Stability("momentum", "λmax(H) < (2 + 2γ)/η", _heavy_ball, reference=_EOS),
        Stability("nesterov", "λmax(H) < (2 + 2γ)/((1 + 2γ)η)", _nesterov),
        Stability("adagrad", "λmax(P⁻¹H) < 2/η, P = √(G + ε)", _gd, _adagrad_p),
        Stability("rmsprop", "λmax(P⁻¹H) < 2/η, P = √(E + ε)", _gd, _rmsprop_p, _AEOS),
        Stability("adam", "λmax(P⁻¹H) < (2 + 2β1)/((1 − β1)η), P = √v̂ + ε", _adam, _adam_p, _AEOS),
        Stability("adamw", "as Adam's (the decay left out)", _adam, _adam_p, _AEOS),
        Stability("amsgrad", "as Adam's, with v̂ the running maximum", _adam, _amsgrad_p, _AEOS),
    ]
)
