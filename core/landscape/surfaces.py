"""What a plot of a landscape needs: the surface on a grid, colour scaling, the gradient field."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.landscape.landscapes import Landscape, max_curvature


@dataclass(frozen=True)
class Surface:
    x: np.ndarray  # (nx,) grid coordinates
    y: np.ndarray  # (ny,)
    z: np.ndarray  # (ny, nx) f on the grid
    color: np.ndarray  # (ny, nx) what to colour by: z, or log10(z − min + δ) where the range is wide
    log_scale: bool
    arrow_x: np.ndarray  # (k,) arrow tails on a coarser grid
    arrow_y: np.ndarray
    arrow_u: np.ndarray  # (k,) −∇f direction, unit length (0 where ∇f = 0)
    arrow_v: np.ndarray
    arrow_norm: np.ndarray  # (k,) |∇f|


def surface(landscape: Landscape, resolution: int = 120, arrows: int = 20) -> Surface:
    """f on a resolution × resolution grid over the domain, and −∇f on an arrows × arrows grid."""
    (x0, x1), (y0, y1) = landscape.domain
    x, y = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    z = landscape.f(*np.meshgrid(x, y))
    low, high = float(z.min()), float(z.max())
    # wide range: most of the map would sit in the lowest colour, so colour by orders of magnitude
    log_scale = high - low > 10 * (float(np.median(z)) - low)
    color = np.log10(z - low + 1e-6 * (high - low)) if log_scale else z

    pad_x, pad_y = (x1 - x0) / (2 * max(arrows, 1)), (y1 - y0) / (2 * max(arrows, 1))
    ax, ay = np.meshgrid(
        np.linspace(x0 + pad_x, x1 - pad_x, arrows), np.linspace(y0 + pad_y, y1 - pad_y, arrows)
    )
    gx, gy = landscape.grad(ax, ay)
    norm = np.hypot(gx, gy)
    scale = np.divide(-1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    return Surface(
        x,
        y,
        z,
        color,
        log_scale,
        ax.ravel(),
        ay.ravel(),
        (gx * scale).ravel(),
        (gy * scale).ravel(),
        norm.ravel(),
    )


@dataclass(frozen=True)
class Stability:
    curvature: float | None  # largest Hessian eigenvalue λmax at the point; None if it overflows
    lr_limit: float | None  # 2/λmax: plain GD oscillates or diverges above it; None if λmax <= 0


def stability(landscape: Landscape, x: float, y: float) -> Stability:
    with np.errstate(all="ignore"):
        lam = float(max_curvature(landscape, x, y))
    if not math.isfinite(lam):
        return Stability(None, None)
    return Stability(lam, 2 / lam if lam > 0 else None)
