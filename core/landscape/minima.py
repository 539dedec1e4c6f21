"""Local minima of a 2D function in a rectangle, found numerically.

A dense grid finds every basin wider than a few grid cells; from each grid point no higher than its
eight neighbours a trust-region Newton method (its first step within one cell, so it stays in that
basin) runs downhill, then plain Newton steps pin the minimum down to rounding. A point is kept when
the Newton step from it is negligible (∇f ≈ 0) and the Hessian is positive definite.

All of it runs on every candidate at once: `f`, `grad` and `hessian` take arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

GRID = 601  # points per side of the search grid
STATIONARY = 1e-9  # a minimum's last Newton step is below this fraction of the domain's diagonal
SAME = 1e-7  # minima closer than this fraction of the diagonal are one


@dataclass(frozen=True)
class Search:
    lowest: float  # lowest finite f on the grid (NaN if there is none)
    lowest_at: tuple[float, float]  # where on the grid
    minima: tuple[tuple[float, float, float], ...]  # (x, y, f) of every minimum found, lowest first
    complete: bool  # False: there were more candidates than `limit`; the highest were not followed


def lowest_on_grid(z: np.ndarray) -> np.ndarray:
    """Grid points no higher than any of their eight neighbours (NaN counts as +∞ and is never one)."""
    z = np.where(np.isnan(z), np.inf, z)
    padded = np.pad(z, 1, constant_values=np.inf)
    low = np.isfinite(z)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx or dy:
                low &= z <= padded[1 + dy : 1 + dy + z.shape[0], 1 + dx : 1 + dx + z.shape[1]]
    return low


def newton_step(g: np.ndarray, h: np.ndarray, shift: bool = False) -> np.ndarray:
    """−(H + μI)⁻¹∇f for each column of g (2, K) and h = (fxx, fxy, fyy) (3, K).

    μ = 0 gives the plain Newton step. With `shift`, μ lifts the smallest eigenvalue of H to a small
    positive value, so the step goes downhill even at a saddle or a maximum.
    """
    a, b, c = h
    mu: float | np.ndarray = 0.0
    if shift:
        mid, rad = (a + c) / 2, np.hypot((a - c) / 2, b)
        floor = 1e-10 * (np.abs(mid) + rad)
        mu = np.where(mid - rad > floor, 0.0, floor - (mid - rad))
    a, c = a + mu, c + mu
    det = a * c - b * b
    return -np.array([c * g[0] - b * g[1], a * g[1] - b * g[0]]) / det


def polish(
    f: Callable, grad: Callable, hessian: Callable, x, y, radius: float, iterations: int = 100
) -> np.ndarray:
    """(2, K) the points a trust-region Newton method reaches from (x, y), then five Newton steps."""
    p = np.array([x, y], dtype=float).reshape(2, -1)
    with np.errstate(all="ignore"):
        fp = f(p[0], p[1])
        r = np.full(p.shape[1], float(radius))
        for _ in range(iterations):
            g = np.array(grad(p[0], p[1]))
            s = newton_step(g, np.array(hessian(p[0], p[1])), shift=True)
            flat = ~np.isfinite(s).all(axis=0)  # H = 0 or worse: go straight downhill
            s[:, flat] = -g[:, flat] * (r[flat] / np.hypot(*g[:, flat]))
            norm = np.hypot(*s)
            s *= np.minimum(1.0, r / norm)
            q = p + s
            fq = f(q[0], q[1])
            better = fq < fp
            p, fp = np.where(better, q, p), np.where(better, fq, fp)
            r = np.where(better, np.where(norm > r, 2 * r, r), np.minimum(norm, r) / 4)
            tiny = 1e-15 * (1 + np.abs(p).max(axis=0))
            if not ((norm > tiny) & (r > tiny) & np.isfinite(fp)).any():
                break
        for _ in range(5):
            p = p + newton_step(np.array(grad(p[0], p[1])), np.array(hessian(p[0], p[1])))
    return p


def search(
    f: Callable,
    grad: Callable,
    hessian: Callable,
    domain: tuple[tuple[float, float], tuple[float, float]],
    grid: int = GRID,
    limit: int | None = None,
) -> Search:
    """Every local minimum strictly inside `domain`, from the `limit` lowest candidates on the grid."""
    (x0, x1), (y0, y1) = domain
    x, y = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    with np.errstate(all="ignore"):
        z = np.broadcast_to(np.asarray(f(x, y), dtype=float), x.shape)
    finite = np.isfinite(z)
    if not finite.any():
        return Search(float("nan"), (float("nan"), float("nan")), (), True)
    k = np.flatnonzero(finite)[np.argmin(z[finite])]
    lowest, lowest_at = float(z.flat[k]), (float(x.flat[k]), float(y.flat[k]))

    rows, cols = np.nonzero(lowest_on_grid(z))
    order = np.argsort(z[rows, cols], kind="stable")
    complete = limit is None or len(order) <= limit
    rows, cols = rows[order[:limit]], cols[order[:limit]]
    p = polish(f, grad, hessian, x[rows, cols], y[rows, cols], radius=(x1 - x0) / grid)

    diagonal = np.hypot(x1 - x0, y1 - y0)
    with np.errstate(all="ignore"):
        g, h = np.array(grad(p[0], p[1])), np.array(hessian(p[0], p[1]))
        fxx, fxy, fyy = h
        step = np.hypot(*newton_step(g, h))
        values = np.asarray(f(p[0], p[1]), dtype=float).reshape(-1)
    keep = (
        (x0 < p[0]) & (p[0] < x1) & (y0 < p[1]) & (p[1] < y1)
        & (fxx > 0) & (fxx * fyy - fxy**2 > 0)  # positive definite
        & ((step <= STATIONARY * diagonal) | (np.hypot(*g) == 0))
        & np.isfinite(values)
    )  # fmt: skip
    found: list[tuple[float, float, float]] = []
    for i in np.flatnonzero(keep)[np.argsort(values[keep], kind="stable")]:
        px, py = float(p[0, i]), float(p[1, i])
        if all(np.hypot(px - qx, py - qy) > SAME * diagonal for qx, qy, _ in found):
            found.append((px, py, float(values[i])))
    return Search(lowest, lowest_at, tuple(found), complete)
