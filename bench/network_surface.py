"""A network's loss surface and one Hessian-vector product on the seed's network (784-600-10, ReLU,
softmax, cross-entropy; float32 weights) with 1,000 MNIST training examples, one BLAS thread.

1. The 21×21 grid of core.nn.surface.loss_grid (filter-normalized directions, a = b in [−1, 1], float32)
   against
   - the GEMM floor: the matrix products a plain evaluation of every grid point needs (X·W₁ at
     1000×784×600 and A·W₂ at 1000×600×10, 441 times each), each timed alone at its shape with the same
     BLAS. The grid's first layer is linear in its weights, so ours needs three of the big products
     instead of 441; the floor of that factorized algorithm (3 big + 441 small products) is printed
     too, to show what the rest of the work (element-wise passes, softmax, loss) costs.
   - PyTorch CPU (one thread, float32, no autograd) on the same grid: point by point as one would
     write it (weights formed, then the forward pass), and with the same three-product factorization.
   The grids are checked to agree.
2. One H·v: the sharpness probe's (core.nn.sharpness.SharpnessProbe.product: a forward difference, one
   float64 gradient pass; what training's sharpness probes use) and core.nn.sharpness.
   hessian_vector_product (central differences, two passes) against PyTorch's double-backward H·v
   (autograd.grad of g·v, float64), all on the same weights and on the probe's examples (the first
   512), checked to agree.

    OPENBLAS_NUM_THREADS=1 DESCENT_DATA_DIR=... python bench/network_surface.py [--repeat 3]
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from core.data.mnist import load
from core.nn.network import Network, NetworkSpec
from core.nn.sharpness import EXAMPLES as PROBE_EXAMPLES
from core.nn.sharpness import SharpnessProbe, hessian_vector_product
from core.nn.surface import filter_normalized_directions, loss_grid

SPEC = NetworkSpec(784, 10, hidden=((600, "relu"),))
EXAMPLES = 1000
RESOLUTION = 21


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def interleaved(repeat: int, runs: dict) -> tuple[dict[str, float], dict]:
    """Best time and last result of each run, the runs taking turns (a burst of load hits them all)."""
    best, results = dict.fromkeys(runs, float("inf")), {}
    for _ in range(repeat):
        for name, fn in runs.items():
            seconds, results[name] = best_of(1, fn)
            best[name] = min(best[name], seconds)
    return best, results


def product_time(shape_a, shape_b, repeat: int = 20) -> float:
    """Seconds of one float32 matrix product at these shapes (best of `repeat`)."""
    rng = np.random.default_rng(0)
    a, b = rng.random(shape_a, np.float32), rng.random(shape_b, np.float32)
    out = np.empty((shape_a[0], shape_b[1]), np.float32)
    return best_of(repeat, lambda: np.matmul(a, b, out=out))[0]


def layout(net: Network):
    """(slice, shape) of W₁, b₁, W₂, b₂ in the flat parameter vector (W as (inputs, neurons))."""
    start = net.params.ctypes.data
    for layer in net.dense:
        for key in ("W", "b"):
            view = layer.params[key]
            offset = (view.ctypes.data - start) // net.params.itemsize
            yield slice(offset, offset + view.size), view.shape


def weights(net: Network, flat: np.ndarray) -> list[torch.Tensor]:
    return [torch.from_numpy(flat[s].reshape(shape)) for s, shape in layout(net)]


def torch_grid(net, x, labels, centre, d1, d2, axis, factorized: bool) -> np.ndarray:
    """The same grid in PyTorch, float32, no autograd."""
    xt, yt = torch.from_numpy(x), torch.from_numpy(labels)
    c, u, v = (weights(net, p.astype(np.float32)) for p in (centre, d1, d2))
    grid = np.empty((len(axis), len(axis)))
    with torch.no_grad():
        if factorized:
            z0, z1, z2 = (xt @ p[0] + p[1] for p in (c, u, v))
        for j, b in enumerate(axis.tolist()):
            for i, a in enumerate(axis.tolist()):
                w1, b1, w2, b2 = (cp + a * up + b * vp for cp, up, vp in zip(c, u, v, strict=True))
                hidden = torch.relu(z0 + a * z1 + b * z2 if factorized else xt @ w1 + b1)
                grid[j, i] = torch.nn.functional.cross_entropy(hidden @ w2 + b2, yt).item()
    return grid


def torch_hvp(net, x, labels, v):
    """H·v by double backward: the gradient of g·v, float64."""
    theta = torch.from_numpy(net.params.astype(np.float64)).requires_grad_(True)
    vt = torch.from_numpy(v)
    xt, yt = torch.from_numpy(x.astype(np.float64)), torch.from_numpy(labels)

    def product():
        w1, b1, w2, b2 = (theta[s].reshape(shape) for s, shape in layout(net))  # views of one leaf
        loss = torch.nn.functional.cross_entropy(torch.relu(xt @ w1 + b1) @ w2 + b2, yt)
        (g,) = torch.autograd.grad(loss, theta, create_graph=True)
        (hv,) = torch.autograd.grad(g @ vt, theta)
        return hv.numpy()

    return product


def grid_race(net, x, labels, repeat: int) -> dict[str, float]:
    centre = net.params.astype(np.float64)
    d1, d2 = filter_normalized_directions(net, centre, seed=0)
    axis = np.linspace(-1.0, 1.0, RESOLUTION)
    best, grids = interleaved(
        repeat,
        {
            "ours": lambda: loss_grid(net, x, labels, centre, d1, d2, axis, axis),
            "torch": lambda: torch_grid(net, x, labels, centre, d1, d2, axis, factorized=False),
            "torch factorized": lambda: torch_grid(net, x, labels, centre, d1, d2, axis, factorized=True),
        },
    )
    for name in ("torch", "torch factorized"):
        np.testing.assert_allclose(grids["ours"], grids[name], rtol=1e-4)
    best["big"] = product_time((EXAMPLES, 784), (784, 600))
    best["small"] = product_time((EXAMPLES, 600), (600, 10))
    return best


def hvp_race(net, x, labels, repeat: int) -> dict[str, float]:
    start = time.perf_counter()
    product = hessian_vector_product(net, x, labels)
    twin_seconds = time.perf_counter() - start
    v = np.random.default_rng(1).standard_normal(net.params.size)
    v /= np.linalg.norm(v)
    twin = Network(SPEC, dtype=np.float64)
    twin.params[:] = net.params
    probe = SharpnessProbe(net, x, labels, "sgd")
    probe.measure({"lr": 1.0}, {}, 1)  # its base gradient at these weights
    best, results = interleaved(
        repeat,
        {
            "probe": lambda: probe.product(v),
            "ours": lambda: product(v),
            "gradient": lambda: twin.loss_and_grad(x, labels),
            "torch": torch_hvp(net, x, labels, v),
        },
    )
    error = np.linalg.norm(results["ours"] - results["torch"]) / np.linalg.norm(results["torch"])
    assert error < 1e-6, error
    forward = np.linalg.norm(results["probe"] - results["torch"]) / np.linalg.norm(results["torch"])
    assert forward < 1e-4, forward
    return best | {"twin": twin_seconds, "error": error, "forward error": forward}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    threadpool_limits(1)
    torch.set_num_threads(1)
    split = load("mnist", train_size=EXAMPLES, progress=False)
    x, labels = np.array(split.x_train), np.array(split.y_train)
    net = Network(SPEC, seed=0)
    load_before = os.getloadavg()[0]
    grid = grid_race(net, x, labels, args.repeat)
    hvp = hvp_race(net, x[:PROBE_EXAMPLES], labels[:PROBE_EXAMPLES], args.repeat)  # the probe's subset
    points = RESOLUTION**2
    floor = points * (grid["big"] + grid["small"])
    factorized = 3 * grid["big"] + points * grid["small"]
    ours = grid["ours"]

    print(f"784-600-10 on {EXAMPLES} MNIST examples, one thread; best of {args.repeat}")
    print(f"  load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"1. {RESOLUTION}x{RESOLUTION} loss grid, float32                    seconds   ours / it   goal")
    print(f"   ours (core.nn.surface.loss_grid)             {ours:7.3f}")
    print(f"   GEMM floor of a plain per-point evaluation   {floor:7.3f}   {ours / floor:9.2f}   <= 1.3")
    print(f"   GEMM floor of the factorized algorithm       {factorized:7.3f}   {ours / factorized:9.2f}")
    print(
        f"   PyTorch CPU, point by point                  {grid['torch']:7.3f}"
        f"   {ours / grid['torch']:9.2f}   <= 1.0"
    )
    print(
        f"   PyTorch CPU, the same factorization          {grid['torch factorized']:7.3f}"
        f"   {ours / grid['torch factorized']:9.2f}"
    )
    print(
        f"   (products alone: X·W₁ {grid['big'] * 1e3:.2f} ms, A·W₂ {grid['small'] * 1e3:.3f} ms;"
        f" plain: {points} of each, factorized: 3 and {points})"
    )
    print(
        f"2. one Hessian-vector product on {PROBE_EXAMPLES} examples, float64      ms   ours / torch   goal"
    )
    print(
        f"   ours, the probe's (forward difference)       {hvp['probe'] * 1e3:7.1f}"
        f"   {hvp['probe'] / hvp['torch']:9.2f}   <= 1.0"
    )
    print(
        f"   ours, central differences                    {hvp['ours'] * 1e3:7.1f}"
        f"   {hvp['ours'] / hvp['torch']:9.2f}"
    )
    print(f"   PyTorch double backward                      {hvp['torch'] * 1e3:7.1f}")
    print(
        f"   (one float64 gradient pass {hvp['gradient'] * 1e3:.1f} ms: central differences take two, a"
        f" forward difference one; the float64 twin is built once, {hvp['twin'] * 1e3:.0f} ms;"
        f" relative difference from torch {hvp['forward error']:.1e} and {hvp['error']:.1e})"
    )


if __name__ == "__main__":
    main()
