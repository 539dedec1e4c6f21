"""A network's own loss surface: the data loss on a line or a plane through weight space.

    interpolation    L(θ₀ + α·(θ₁ − θ₀)) along the straight line to each end (Goodfellow, Vinyals
                     and Saxe, ICLR 2015, "Qualitatively characterizing neural network optimization")
    pca_directions   the top two principal directions of the racers' weight snapshots around a centre
    filter_normalized_directions   two Gaussian directions, each filter rescaled to the centre's norm
                     (Li et al., NeurIPS 2018, "Visualizing the Loss Landscape of Neural Nets")
    project          plane coordinates (a, b) of weight vectors, by least squares
    loss_grid        L(c + a·d₁ + b·d₂) over a whole grid
    surface          all of it in one call: directions, axes, grid, projected paths, the centre's loss

The loss is the training loss as a function of the weights alone: dropout off, batch norm on the
statistics of the evaluation batch (as `Network.loss_and_grad` computes it, and core.nn.sharpness
measures it), no regularization term.

What a projection hides: a racer's path lives in P dimensions and is drawn at its least-squares
coordinates (a, b) in the plane. The loss the contours show at (a, b) is the loss at that point of
the plane, c + a·d₁ + b·d₂, not at the racer's weights, which lie off the plane by the residual of the
projection. A path can cross a contour it never met, or sit in a valley the plane cuts through while
its own loss is high. PCA's explained-variance ratios say how much of the paths' spread the plane
holds; random directions in high dimensions hold almost none of it (Li et al., section 7).

Speed: the first dense layer is linear in its weights, so for a whole grid
X·(W + a·D₁ + b·D₂) = X·W + a·X·D₁ + b·X·D₂ takes three matrix products instead of one per point;
the rest of the network runs per point on those products, in blocks of examples small enough to
stay in cache (`fast=False` evaluates every point from scratch: the reference the tests hold the fast
path to). PCA works on the snapshots' Gram matrix rather than an SVD of them all (see
`pca_directions`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from core.nn.layers import Layer
from core.nn.network import Network
from core.nn.norms import BatchNorm1d
from core.params import Param, by_name, lookup

RESOLUTION = Param(
    "resolution", "grid points per axis", 21, 3, 101, integer=True, help="odd, so the centre is a grid point"
)
MARGIN = 0.25  # each axis reaches 25% beyond the farthest projected snapshot
RANDOM_SPAN = 1.0  # random directions: at least [−1, 1] on each axis, Li et al.'s range
CHUNK_BYTES = 256 * 2**20  # about what one chunk of examples may hold: bounds memory for a large x
BLOCK_BYTES = 2 * 2**20  # about what one block of examples may hold: keeps its work arrays in cache
PCA_BLOCK_BYTES = 64 * 2**20  # about what one block of snapshot columns may hold in float64
SPREAD = 1e-12  # a PCA direction must hold more than this fraction of the squared deviation

Progress = Callable[[int, int], None]


# --- the network as a function of its flat weights ---------------------------------------------------


def _twin(net: Network, dtype) -> Network:
    """A private copy of the architecture to evaluate in: dropout off, its own buffer."""
    return Network(replace(net.spec, dropout=0.0), dtype=dtype)


def _layout(net: Network) -> list[tuple[Layer, str, slice]]:
    """Where each layer's parameter sits in the flat buffer: (layer, key, slice of `net.params`)."""
    start, size = net.params.ctypes.data, net.params.itemsize
    places = []
    for layer in net.layers:
        for key, view in layer.params.items():
            offset = (view.ctypes.data - start) // size
            places.append((layer, key, slice(offset, offset + view.size)))
    return places


def _vector(v, n: int, what: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.shape != (n,):
        raise ValueError(f"{what} must be a flat weight vector of {n} values, got shape {v.shape}")
    return v


def _axis_values(values, what: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or not len(values) or not np.isfinite(values).all():
        raise ValueError(f"{what} must be a non-empty 1-D array of finite numbers")
    return values


def _output(twin: Network, z) -> np.ndarray:
    """The last layer's pre-activation from the first dense layer's z: the forward of `loss_and_grad`."""
    first, last = twin.dense[0], twin.dense[-1]
    if first is last:
        return z
    out = first.act.forward(z)
    for layer in twin.layers[1:-1]:
        out = layer.forward(out, True)
    return last.linear(out)


def _loss(twin: Network, z, y) -> float:
    """The loss from the last layer's pre-activation z (fused with softmax where loss_and_grad fuses)."""
    last = twin.dense[-1]
    if twin.loss.fused is not None and twin.loss.fused_with == last.act.name:
        return twin.loss.fused(y, z)[0]
    return twin.loss.value(y, last.act.forward(z))


def _ranges(n: int, rows: int) -> list[slice]:
    return [slice(i, min(i + rows, n)) for i in range(0, n, max(1, rows))]


def _chunks(twin: Network, n: int, budget: int) -> list[slice]:
    """Example ranges whose work arrays take about `budget` bytes; one range when batch norm couples
    the examples. Chunks of a memory budget combine exactly, weighted by their size (every loss is a
    mean over examples); blocks of a cache budget are evaluated apart and joined before the loss."""
    if any(isinstance(layer, BatchNorm1d) for layer in twin.layers):
        return [slice(0, n)]
    widths = [layer.params["W"].shape[1] for layer in twin.dense]
    per_example = twin.dtype.itemsize * (6 * widths[0] + 3 * sum(widths[1:]))
    return _ranges(n, budget // per_example)


def _span(x) -> tuple[int, int]:
    """(lo, hi): the input columns outside [lo, hi) are zero in every row (MNIST's border pixels)."""
    used = x.any(axis=0)
    if not used.any():
        return 0, 0
    return int(used.argmax()), len(used) - int(used[::-1].argmax())


def _plane_general(twin, x, y, c, u, v, a, b, progress) -> np.ndarray:
    grid = np.empty((len(b), len(a)))
    for j, bj in enumerate(b):
        for i, ai in enumerate(a):
            twin.params[:] = c + ai * u + bj * v
            grid[j, i] = twin.loss_and_grad(x, y)
        if progress is not None:
            progress(j + 1, len(b))
    return grid


def _first_layer(x, first, own: dict[str, slice], p):
    """x·W + b of the first dense layer with its parameters taken from the flat vector p."""
    lo, hi = _span(x)  # skip the columns that are zero in every row (MNIST's border pixels)
    dtype = first.params["W"].dtype
    weights = p[own["W"]].reshape(first.params["W"].shape)[lo:hi].astype(dtype)
    return x[:, lo:hi] @ weights + p[own["b"]].astype(dtype)


def _through(twin: Network, z1, base, step, blocks: list[slice], z, out) -> np.ndarray:
    """The output pre-activation for first-layer z = base + step·z1, computed block by block of
    examples so that each block's arrays stay in cache; written into `out`."""
    for rows in blocks:
        zb = z[: rows.stop - rows.start]
        np.multiply(z1[rows], step, out=zb)
        zb += base[rows]
        out[rows] = _output(twin, zb)
    return out


def _plane_fast(twin, x, y, c, u, v, a, b, progress) -> np.ndarray:
    """Three products for the first layer, X·W, X·D₁, X·D₂ (with its bias in each), then the rest of
    the network per grid point, its parameters written into the twin's views."""
    dtype = twin.dtype
    x = twin._inputs(x)  # the network's own checks and label encoding, as loss_and_grad applies them
    y = twin._targets(y, len(x))
    first, places = twin.dense[0], _layout(twin)
    own = {key: s for layer, key, s in places if layer is first}
    rest = []  # (the twin's view, its part of c, of u, of v) for every parameter after the first layer
    for layer, key, s in places:
        if layer is not first:
            view = layer.params[key]
            rest.append((view, *(p[s].reshape(view.shape).astype(dtype) for p in (c, u, v))))
    tilted = bool(np.any(b != 0))
    chunks = _chunks(twin, len(x), CHUNK_BYTES)
    grid = np.zeros((len(b), len(a)))
    for k, rows in enumerate(chunks):
        xs, ys, weight = x[rows], y[rows], (rows.stop - rows.start) / len(x)
        z0, z1 = _first_layer(xs, first, own, c), _first_layer(xs, first, own, u)
        z2 = _first_layer(xs, first, own, v) if tilted else z0
        blocks = _chunks(twin, len(xs), BLOCK_BYTES)
        z = np.empty((blocks[0].stop, z0.shape[1]), dtype)
        out = np.empty((len(xs), twin.spec.outputs), dtype)
        for j, bj in enumerate(b):
            tilt = dtype.type(bj)
            base = z0 + tilt * z2 if bj else z0
            row = [(view, cs + tilt * vs, us) for view, cs, us, vs in rest]
            for i, ai in enumerate(a):
                step = dtype.type(ai)
                for view, fixed, us in row:
                    np.multiply(us, step, out=view)
                    view += fixed
                grid[j, i] += weight * _loss(twin, _through(twin, z1, base, step, blocks, z, out), ys)
            if progress is not None:
                progress(k * len(b) + j + 1, len(chunks) * len(b))
    return grid


def loss_grid(
    net: Network,
    x,
    y,
    centre,
    d1,
    d2,
    a,
    b,
    progress: Progress | None = None,
    *,
    dtype=None,
    fast: bool = True,
) -> np.ndarray:
    """L(centre + aᵢ·d1 + bⱼ·d2) on (x, y) for every i, j → array (len(b), len(a)): row j is bⱼ.

    Computed in `dtype` (default: the network's own) in a twin network, never touching `net`;
    `progress(done, total)` is called as rows finish. Non-finite losses stay NaN or inf here. Work
    arrays take about CHUNK_BYTES whatever the number of examples, except with batch norm, whose
    statistics need every example at once.
    """
    twin = _twin(net, net.dtype if dtype is None else dtype)
    n = twin.params.size
    c, u, v = (_vector(p, n, what) for p, what in ((centre, "centre"), (d1, "d1"), (d2, "d2")))
    a, b = _axis_values(a, "a"), _axis_values(b, "b")
    evaluate = _plane_fast if fast else _plane_general
    with np.errstate(all="ignore"):  # a far grid point may overflow: its loss is inf or NaN
        return evaluate(twin, x, y, c, u, v, a, b, progress)


def loss_at(net: Network, x, y, point, dtype=None) -> float:
    """The data loss at one weight vector (the reference the grid is checked against)."""
    twin = _twin(net, net.dtype if dtype is None else dtype)
    twin.params[:] = _vector(point, twin.params.size, "point")
    with np.errstate(all="ignore"):
        return float(twin.loss_and_grad(x, y))


def interpolation(net: Network, x, y, start, ends, alphas) -> np.ndarray:
    """L(start + α·(end − start)) for each end (one per racer) and α → array (len(ends), len(alphas)).

    In float64 with dropout off; α = 0 is `start`, α = 1 the end, values outside extrapolate.
    """
    twin = _twin(net, np.float64)
    n = twin.params.size
    start = _vector(start, n, "start")
    alphas = _axis_values(alphas, "alphas")
    zero, line = np.zeros(n), np.zeros(1)
    rows = []
    with np.errstate(all="ignore"):
        for end in ends:
            step = _vector(end, n, "each end") - start
            rows.append(_plane_fast(twin, x, y, start, step, zero, alphas, line, None)[0])
    return np.array(rows).reshape(len(rows), len(alphas))


# --- directions --------------------------------------------------------------------------------------


def _deviations(snapshots: list[np.ndarray], keep: list[np.ndarray], centre: np.ndarray):
    """(columns, block): the kept snapshots minus centre in float64, PCA_BLOCK_BYTES of columns at a time."""
    count = sum(int(k.sum()) for k in keep)
    width = max(1, PCA_BLOCK_BYTES // (8 * max(count, 1)))
    for lo in range(0, centre.size, width):
        columns = slice(lo, min(lo + width, centre.size))
        block = np.concatenate([t[k, columns] for t, k in zip(snapshots, keep, strict=True)])
        yield columns, block.astype(np.float64) - centre[columns]


def pca_directions(trajectories: Sequence, centre) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """(d₁, d₂, ratios): the top two principal directions of every snapshot minus `centre`, as unit
    vectors, and the fraction of the total squared deviation Σ‖θ − centre‖² along each (Li et al.).

    Snapshots are stacked across racers, so the plane is shared; those with a non-finite weight are
    left out. Signs are fixed so that the first snapshot has coordinates ≤ 0: paths run up and to the
    right. Fewer than two directions holding more than SPREAD of the deviation (one snapshot, all
    equal, all on one line) is a ValueError.

    The right singular vectors of the (K, P) deviations M come from the eigenvectors of the K×K Gram
    matrix MMᵀ = UΣ²Uᵀ, as dₖ = Mᵀuₖ/σₖ, accumulated in float64 over blocks of columns: a direct
    SVD of M takes tens of seconds for 200 snapshots of the seed's MNIST network, this about one, and
    M is never held whole.
    """
    centre = np.asarray(centre, np.float64).ravel()
    snapshots = [np.atleast_2d(np.asarray(t)) for t in trajectories]
    if any(t.ndim != 2 or t.shape[1] != centre.size for t in snapshots):
        raise ValueError(f"each trajectory must be an array (snapshots, {centre.size})")
    keep = [np.isfinite(t).all(axis=1) for t in snapshots]  # a diverged snapshot has no direction
    count = sum(int(k.sum()) for k in keep)
    gram = np.zeros((count, count))
    for _, block in _deviations(snapshots, keep, centre) if count else ():
        gram += block @ block.T
    variances, vectors = np.linalg.eigh(gram)  # ascending
    total = float(np.trace(gram))
    spread = int(np.sum(variances > SPREAD * total)) if total > 0 else 0
    if spread < 2:
        raise ValueError(
            "PCA needs finite snapshots that spread in at least two directions around the centre; "
            f"{count} snapshot(s) span {spread}"
        )
    top = vectors[:, [-1, -2]]
    top *= np.where(top[0] > 0, -1.0, 1.0)  # the first snapshot's coordinate σₖ·u₀ₖ ≤ 0
    d = np.zeros((2, centre.size))
    for columns, block in _deviations(snapshots, keep, centre):
        d[:, columns] = top.T @ block
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return d[0], d[1], [float(variances[-1] / total), float(variances[-2] / total)]


def filter_normalized_directions(net: Network, centre, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian directions with each filter scaled to the norm of the same filter in `centre`.

    A filter is one neuron's incoming weights, a column of a dense layer's W (inputs, neurons); biases
    and norm parameters (γ, β) are set to 0, as in Li et al. Deterministic from `seed`.
    """
    centre = _vector(centre, net.params.size, "centre")
    rng = np.random.default_rng(seed)
    directions = []
    for _ in range(2):
        d = np.zeros_like(centre)
        noise = rng.standard_normal(centre.size)
        for layer, key, s in _layout(net):
            if key not in layer.decay:
                continue  # biases, γ and β stay 0
            shape = layer.params[key].shape
            w, r = centre[s].reshape(shape), noise[s].reshape(shape)
            norms = np.linalg.norm(r, axis=0)
            scale = np.divide(np.linalg.norm(w, axis=0), norms, out=np.zeros_like(norms), where=norms > 0)
            d[s] = (r * scale).ravel()
        directions.append(d)
    return directions[0], directions[1]


def project(points, centre, d1, d2) -> np.ndarray:
    """Plane coordinates (a, b) minimizing ‖point − centre − a·d1 − b·d2‖, per point: (k, 2), or (2,)
    for one point. The directions need not be orthogonal, only independent."""
    d1, d2 = np.asarray(d1, np.float64), np.asarray(d2, np.float64)
    basis = np.stack([d1, d2], axis=1)
    gram = basis.T @ basis
    if gram[0, 0] * gram[1, 1] * (1 - 1e-12) <= gram[0, 1] ** 2:  # cos² of their angle ≈ 1, or a zero
        raise ValueError("d1 and d2 must be independent to span a plane")
    points = np.asarray(points)
    flat = np.atleast_2d(points)
    offset = np.asarray(centre, np.float64) @ basis
    rhs = np.concatenate([flat[i : i + 64].astype(np.float64) @ basis for i in range(0, len(flat), 64)])
    coords = np.linalg.solve(gram, (rhs - offset).T).T
    return coords[0] if points.ndim == 1 else coords


# --- one call for the server and the CLI -------------------------------------------------------------


@dataclass(frozen=True)
class Directions:
    name: str
    label: str
    reference: str
    make: Callable  # (net, trajectories, centre, seed) -> (d1, d2, explained ratios or None)
    span: float = 0.0  # each axis reaches at least ±span


def _pca(net, trajectories, centre, seed):
    return pca_directions(trajectories, centre)


def _random(net, trajectories, centre, seed):
    return (*filter_normalized_directions(net, centre, seed), None)


def _half_width(values: list[np.ndarray], span: float) -> float:
    finite = np.concatenate([np.abs(v[np.isfinite(v)]) for v in values]) if values else np.zeros(0)
    reach = float(finite.max()) * (1 + MARGIN) if finite.size else 0.0
    return max(reach, span) or RANDOM_SPAN


def finite_lists(values) -> Any:
    """Nested lists of floats, a non-finite value as None (never a NaN in JSON)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0:
        return float(values) if np.isfinite(values) else None
    return [finite_lists(v) for v in values]


@dataclass(frozen=True)
class Plane:
    """The plane a surface is drawn on, centre + a·d1 + b·d2, and how its directions were chosen."""

    centre: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    kind: str
    explained: list[float] | None  # PCA's two variance ratios

    def project(self, points) -> np.ndarray:
        """Plane coordinates of weight vectors (see `project`)."""
        return project(points, self.centre, self.d1, self.d2)


def plane(net: Network, trajectories: Sequence = (), centre=None, kind: str = "pca", seed: int = 0) -> Plane:
    """The plane through `centre` (default: the network's weights) spanned by the trajectories' top two
    principal directions ("pca") or two filter-normalized random directions ("random")."""
    directions = lookup(DIRECTIONS, kind, "direction kind")
    centre = _vector(net.params if centre is None else centre, net.params.size, "centre")
    d1, d2, explained = directions.make(net, trajectories, centre, seed)
    return Plane(centre, d1, d2, kind, explained)


def surface(
    net: Network,
    x,
    y,
    trajectories: Sequence = (),
    centre=None,
    kind: str = "pca",
    resolution: int = 21,
    seed: int = 0,
    progress: Progress | None = None,
    on: Plane | None = None,
) -> dict[str, Any]:
    """The loss surface around `centre` (default: the network's weights) for the page and the CLI, on
    the plane `on` if given (else the `kind` of plane, see `plane`).

    trajectories: one array (snapshots, P) per racer. Returns plain lists: kind, explained (PCA's two
    variance ratios, None for random directions), the axes a and b (symmetric about the centre, which
    is the middle grid point, covering every projected snapshot with a margin), loss (len(b) rows of
    len(a), None where not finite), paths (each racer's [[a, b], …]) and centre_loss.
    """
    resolution = int(RESOLUTION.check(resolution))
    if resolution % 2 == 0:
        raise ValueError(f"resolution must be odd so that the centre is a grid point, got {resolution}")
    on = on or plane(net, trajectories, centre, kind, seed)
    paths = [
        np.atleast_2d(on.project(np.asarray(t))) if np.size(t) else np.zeros((0, 2)) for t in trajectories
    ]
    span = DIRECTIONS[on.kind].span
    axes = []
    for k in range(2):
        axis = _half_width([p[:, k] for p in paths], span) * np.linspace(-1.0, 1.0, resolution)
        axis[resolution // 2] = 0.0
        axes.append(axis)
    grid = loss_grid(net, x, y, on.centre, on.d1, on.d2, axes[0], axes[1], progress)
    return {
        "kind": on.kind,
        "explained": on.explained,
        "a": axes[0].tolist(),
        "b": axes[1].tolist(),
        "loss": finite_lists(grid),
        "paths": [finite_lists(p) for p in paths],
        "centre_loss": finite_lists(loss_at(net, x, y, on.centre)),
    }


DIRECTIONS: dict[str, Directions] = by_name(
    [
        Directions("pca", "PCA of the paths", "Li et al. (2018), section 7", _pca),
        Directions(
            "random", "Random, filter-normalized", "Li et al. (2018), section 4", _random, span=RANDOM_SPAN
        ),
    ]
)
