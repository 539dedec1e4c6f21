"""The building blocks one at a time: what the /blocks page plots, computed from the core registries.

Small pure functions, float64 throughout, every output finite (a value the naive softmax cannot
represent comes back as None, never as NaN):

    activation_curves  f(z) and f′(z) of an element-wise activation, and where |f′| < threshold
    softmax_report     the stable softmax of a vector beside the naive formula that overflows
    loss_curves        every loss and its gradient for one target as the prediction ŷ sweeps (0, 1)
    init_report        sampled weights of every initialization: min, max, mean, SD and a histogram
    xavier_range       Xavier's limit √(6/(m+n)) against the layer size m + n
    normalize          one of the four normalizations with the mean and variance before and after

`NORM_DEMOS` lists the four normalizations with the seed's example batches: core.nn.norms.NORMS holds the
two a fully connected network uses (batch, layer), the two image-shaped ones are added here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.nn.activations import ACTIVATIONS, get_activation
from core.nn.inits import INITS
from core.nn.losses import CLIP, LOSSES
from core.nn.norms import EPS, NORMS, GroupNorm, InstanceNorm, Norm
from core.params import Param, by_name, lookup, resolve

# Element-wise activations have a derivative to plot; softmax normalizes a row and has its own section.
ELEMENTWISE = {name: act for name, act in ACTIVATIONS.items() if act.derivative is not None}
VANISHING = Param("threshold", "vanishing below |f′| <", 0.1, 1e-3, 0.5, log=True)


# --- activations -------------------------------------------------------------------------------------


def _runs(mask: np.ndarray, z: np.ndarray) -> list[tuple[float, float]]:
    """The intervals of z where `mask` holds, each inner edge halfway to the neighbouring sample."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts, ends = idx[np.r_[0, breaks + 1]], idx[np.r_[breaks, idx.size - 1]]
    mid = (z[:-1] + z[1:]) / 2  # mid[i] lies between z[i] and z[i + 1]
    lows = np.where(starts == 0, z[0], mid[np.maximum(starts - 1, 0)])
    highs = np.where(ends == len(z) - 1, z[-1], mid[np.minimum(ends, len(mid) - 1)])
    return [(float(a), float(b)) for a, b in zip(lows, highs, strict=True)]


@dataclass(frozen=True)
class ActivationCurves:
    name: str
    z: np.ndarray
    f: np.ndarray  # f(z)
    df: np.ndarray  # f′(z)
    vanishing: list[tuple[float, float]]  # intervals of z where |f′(z)| < threshold


def activation_curves(name: str, low: float, high: float, points: int = 401, threshold: float = 0.1):
    """f and f′ of an element-wise activation on `points` evenly spaced z in [low, high]."""
    if not low < high:
        raise ValueError(f"the input range needs low < high, got [{low:g}, {high:g}]")
    act = lookup(ELEMENTWISE, name, "element-wise activation")
    z = np.linspace(low, high, points)
    a = act.forward(z)
    df = np.asarray(act.derivative(z, a), dtype=np.float64)  # ReLU's is a boolean mask
    return ActivationCurves(name, z, a, df, _runs(np.abs(df) < threshold, z))


# --- softmax -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoftmaxReport:
    z: np.ndarray
    probs: np.ndarray  # e^(z − max z) / Σ e^(z − max z): the stable form core.nn.activations uses
    total: float  # Σ probs
    shifted: np.ndarray  # z − max z, every entry ≤ 0, so no exponent overflows
    naive_exp: list[float | None]  # e^z as the naive formula takes it; None where it overflows to inf
    naive: list[float | None]  # e^z / Σ e^z; None where that is NaN (inf / inf)
    overflow: bool  # whether the naive formula fails


def softmax_report(z) -> SoftmaxReport:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1 or z.size == 0:
        raise ValueError(f"softmax takes a non-empty vector, got shape {z.shape}")
    probs = get_activation("softmax").forward(z[None, :])[0]
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        naive = e / e.sum()
    finite = lambda a: [float(v) if np.isfinite(v) else None for v in a]  # noqa: E731
    return SoftmaxReport(
        z=z,
        probs=probs,
        total=float(probs.sum()),
        shifted=z - z.max(),
        naive_exp=finite(e),
        naive=finite(naive),
        overflow=not bool(np.isfinite(naive).all()),
    )


# --- losses ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    name: str
    label: str
    grid: Callable[[int], np.ndarray]  # points -> increasing ŷ in (0, 1]


# How ŷ sweeps: evenly over (0, 1), or log-spaced from 1e-20 to 1 so that cross-entropy's clip at 1e-15 shows.
SWEEPS: dict[str, Sweep] = by_name(
    [
        Sweep("linear", "linear (0, 1)", lambda n: np.arange(1, n + 1) / (n + 1)),  # 3/5 is the float 0.6
        Sweep("log", "log 10⁻²⁰ … 1", lambda n: np.logspace(-20, 0, n)),
    ]
)


@dataclass(frozen=True)
class LossCurves:
    pred: np.ndarray  # the ŷ swept
    value: dict[str, np.ndarray]  # loss name -> L(y, ŷ) at each ŷ
    grad: dict[str, np.ndarray]  # loss name -> ∂L/∂ŷ at each ŷ
    clip: float  # cross-entropy holds ŷ inside [clip, 1 − clip]


def loss_curves(target: float, sweep: str = "linear", points: int = 400) -> LossCurves:
    """Every loss of a single output with target y, and its gradient, as ŷ sweeps (0, 1) or [1e-20, 1].

    Each point is its own batch of one: L([[y]], [[ŷ]]), so the mean over the batch is that one term.
    """
    pred = lookup(SWEEPS, sweep, "sweep").grid(points)
    y = np.array([[target]])
    value, grad = {}, {}
    for name, loss in LOSSES.items():
        value[name] = np.array([loss.value(y, np.array([[p]])) for p in pred])
        grad[name] = np.array([loss.grad(y, np.array([[p]]))[0, 0] for p in pred])
    return LossCurves(pred, value, grad, CLIP)


# --- initializations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InitSample:
    name: str
    min: float
    max: float
    mean: float
    std: float
    edges: np.ndarray  # histogram bin edges (bins + 1)
    counts: np.ndarray  # weights per bin


def init_report(inputs: int, neurons: int, seed: int = 0, bins: int = 60) -> list[InitSample]:
    """An (inputs × neurons) weight matrix from every initialization, each from its own seeded stream."""
    out = []
    for i, (name, init) in enumerate(INITS.items()):
        w = init.sample(np.random.default_rng([seed, i]), inputs, neurons)
        counts, edges = np.histogram(w, bins=bins)
        out.append(InitSample(name, w.min(), w.max(), w.mean(), w.std(), edges, counts))
    return out


def xavier_limit(inputs, neurons):
    """√(6/(m + n)): core.nn.inits.xavier draws from U(−limit, limit)."""
    return np.sqrt(6 / (np.asarray(inputs) + np.asarray(neurons)))


def xavier_range(max_size: int = 4096, points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Layer sizes m + n from 2 to `max_size` (log-spaced integers) and Xavier's limit at each."""
    sizes = np.unique(np.round(np.geomspace(2, max_size, points)).astype(np.int64))
    return sizes, xavier_limit(sizes, 0)


# --- normalization -----------------------------------------------------------------------------------

GROUPS = Param("groups", "groups G", 2, 1, 64, integer=True, help="must divide the number of channels C")

# The seed's batches: three samples of three features (N, C), and two 2 × 2 × 4 activations (N, H, W, C).
FEATURES = np.array([[1.4, 0.62, 0.21], [-0.2, 1.6, -1.35], [-0.97, 1.3, -2.1]])
IMAGES = np.array(
    [
        [[[0.43, 0.5, 0.2, 0.4], [0.8, 0.84, 0.5, 0.7]], [[0.1, 0.74, 0.8, 0.2], [0.42, 0.5, 0.8, 0.6]]],
        [[[0.97, 0.7, 0.3, 0.8], [0.7, 0.13, 0.9, 0.0]], [[0.5, 0.8, 0.17, 0.5], [0.1, 0.86, 0.7, 0.9]]],
    ]
)


@dataclass(frozen=True)
class NormDemo:
    norm: Norm  # label, formula, layer class (built as layer(C, eps=..., **params)), reference
    layout: str  # the input's axes, e.g. "N, C"
    kept: tuple[str, ...]  # the axes one mean and variance is kept for, e.g. ("sample", "channel")
    example: np.ndarray  # the seed's batch
    params: tuple[Param, ...] = field(default=())

    @property
    def rank(self) -> int:
        return self.example.ndim


NORM_DEMOS: dict[str, NormDemo] = {
    "batch": NormDemo(NORMS["batch"], "N, C", ("feature",), FEATURES),
    "layer": NormDemo(NORMS["layer"], "N, C", ("sample",), FEATURES),
    "instance": NormDemo(
        Norm(
            "instance",
            "Instance norm",
            "γ·(x − μ)/√(σ² + ε) + β, per example and channel over H, W",
            InstanceNorm,
            "Ulyanov et al. (2017)",
        ),
        "N, H, W, C",
        ("sample", "channel"),
        IMAGES,
    ),
    "group": NormDemo(
        Norm(
            "group",
            "Group norm",
            "γ·(x − μ)/√(σ² + ε) + β, per example over H, W and a group of C/G channels",
            GroupNorm,
            "Wu and He (2018)",
        ),
        "N, H, W, C",
        ("sample", "group"),
        IMAGES,
        (GROUPS,),
    ),
}


def _where(path: tuple[int, ...]) -> str:
    return "x" + "".join(f"[{i}]" for i in path)


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def tensor_shape(x, rank: int) -> tuple[int, ...]:
    """The shape of `x`, nested lists `rank` deep, or a ValueError saying where they are ragged."""
    shape: list[int] = []
    level: list[tuple[tuple[int, ...], Any]] = [((), x)]  # (index path, the nested list there)
    for depth in range(rank):
        first, size = level[0][0], len(level[0][1])
        for path, item in level:
            if len(item) != size:
                raise ValueError(
                    f"ragged: {_where(path)} has {_entries(len(item))} but {_where(first)} has"
                    f" {_entries(size)}; every row needs the same length"
                )
        shape.append(size)
        if depth < rank - 1:
            level = [((*path, i), sub) for path, item in level for i, sub in enumerate(item)]
    return tuple(shape)


@dataclass(frozen=True)
class NormReport:
    name: str
    y: np.ndarray  # the normalized batch, shaped like x
    kept: tuple[str, ...]  # one statistic per index of these axes ...
    stat_shape: tuple[int, ...]  # ... of these sizes
    before: np.ndarray  # x's values per statistic: (number of statistics, values each)
    after: np.ndarray  # y's values, grouped the same way
    mean_before: np.ndarray  # each shaped stat_shape
    var_before: np.ndarray
    mean_after: np.ndarray
    var_after: np.ndarray

    @property
    def labels(self) -> list[str]:
        """One per statistic, row-major: "sample 1 · channel 2" (counting from 1)."""
        return [
            " · ".join(f"{axis} {i + 1}" for axis, i in zip(self.kept, index, strict=True))
            for index in np.ndindex(*self.stat_shape)
        ]


def norm_layer(name: str, channels: int, /, eps: float = EPS.default, **params):
    """The float64 layer (γ = 1, β = 0) for `channels` channels; a ValueError names a bad setting."""
    demo = lookup(NORM_DEMOS, name, "normalization")
    settings = resolve(demo.params, params, demo.norm.label)
    return demo.norm.layer(channels, eps=EPS.check(eps), dtype=np.float64, **settings)


def normalize(name: str, x, /, eps: float = EPS.default, **params) -> NormReport:
    """A normalization (γ = 1, β = 0) of batch x, with mean and variance over the axes it averages over.

    The statistics come from the layer's own grouping, so they are exactly what it standardized with:
    after normalizing, each mean is ~0 and each variance σ²/(σ² + ε), just under 1.
    """
    demo = lookup(NORM_DEMOS, name, "normalization")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != demo.rank:
        raise ValueError(f"{demo.norm.label} takes a {demo.rank}-D batch ({demo.layout}), got {x.shape}")
    layer = norm_layer(name, x.shape[-1], eps, **params)
    y = layer.forward(x)

    def by_statistic(a):
        grouped, axes = layer._grouped(a)  # the axes the layer averages over
        kept = np.moveaxis(grouped, axes, range(-len(axes), 0))
        return kept.reshape(*kept.shape[: kept.ndim - len(axes)], -1)

    before, after = by_statistic(x), by_statistic(y)
    return NormReport(
        name=name,
        y=y,
        kept=demo.kept,
        stat_shape=before.shape[:-1],
        before=before.reshape(-1, before.shape[-1]),
        after=after.reshape(-1, after.shape[-1]),
        mean_before=before.mean(axis=-1),
        var_before=before.var(axis=-1),
        mean_after=after.mean(axis=-1),
        var_after=after.var(axis=-1),
    )
