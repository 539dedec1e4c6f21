"""Artificial loss landscapes: 2D test functions with analytic gradients.

Every `f(x, y)` and `grad(x, y)` is written with numpy ufuncs, so it takes scalars, paths and whole
plotting grids alike. `grad` returns the pair (∂f/∂x, ∂f/∂y).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from core.params import Param, by_name, lookup, resolve

TAU = 2 * math.pi


@dataclass(frozen=True)
class Minimum:
    x: float
    y: float
    value: float
    is_global: bool = True


@dataclass(frozen=True)
class Landscape:
    name: str
    label: str
    formula: str  # one line, for display
    f: Callable
    grad: Callable
    domain: tuple[tuple[float, float], tuple[float, float]]  # (x range, y range) for plots
    minima: tuple[Minimum, ...]
    start: tuple[float, float]  # a start point that shows something interesting
    lr: Mapping[str, float]  # suggested learning rate per optimizer family (OptimizerSpec.family)
    steps: int  # suggested number of steps from `start`
    params: tuple[Param, ...] = ()
    reference: str = ""
    many_minima: bool = False  # `minima` holds the global minima only; local ones are too many to list
    exact_hessian: Callable | None = None  # (x, y) -> (fxx, fxy, fyy); None: central differences

    def bind(self, /, **values: float) -> Landscape:
        """This landscape with its parameters (e.g. a condition number) fixed; defaults fill gaps."""
        if not self.params:
            resolve(self.params, values, f"landscape {self.name!r}")
            return self
        fixed = resolve(self.params, values, f"landscape {self.name!r}")
        return replace(
            self,
            f=functools.partial(self.f, **fixed),
            grad=functools.partial(self.grad, **fixed),
            params=(),
        )

    @property
    def global_minima(self) -> tuple[Minimum, ...]:
        return tuple(m for m in self.minima if m.is_global)

    def far_outside(self, x, y):
        """True where (x, y) is more than ten domain widths away: a path there has diverged."""
        (x0, x1), (y0, y1) = self.domain
        wx, wy = 10 * (x1 - x0), 10 * (y1 - y0)
        return (x < x0 - wx) | (x > x1 + wx) | (y < y0 - wy) | (y > y1 + wy)

    def nearest_minimum(self, x, y):
        """(index into `minima`, distance) of the known minimum nearest each point."""
        mx = np.array([m.x for m in self.minima])
        my = np.array([m.y for m in self.minima])
        d = np.hypot(np.asarray(x)[..., None] - mx, np.asarray(y)[..., None] - my)
        i = d.argmin(axis=-1)
        return i, np.take_along_axis(d, i[..., None], axis=-1)[..., 0]


def hessian(landscape: Landscape, x, y, h: float = 1e-5):
    """Hessian entries (fxx, fxy, fyy): the landscape's exact ones where it has them (a typed formula),
    else central differences of the analytic gradient."""
    if landscape.exact_hessian is not None:
        return landscape.exact_hessian(x, y)
    x, y = np.asarray(x, float), np.asarray(y, float)
    hx, hy = h * np.maximum(1.0, np.abs(x)), h * np.maximum(1.0, np.abs(y))
    gxp, gyp = landscape.grad(x + hx, y)
    gxm, gym = landscape.grad(x - hx, y)
    gx_yp, gy_yp = landscape.grad(x, y + hy)
    gx_ym, gy_ym = landscape.grad(x, y - hy)
    fxx = (gxp - gxm) / (2 * hx)
    fyy = (gy_yp - gy_ym) / (2 * hy)
    fxy = ((gyp - gym) / (2 * hx) + (gx_yp - gx_ym) / (2 * hy)) / 2
    return fxx, fxy, fyy


def max_curvature(landscape: Landscape, x, y):
    """Largest Hessian eigenvalue λmax at (x, y)."""
    fxx, fxy, fyy = hessian(landscape, x, y)
    return (fxx + fyy) / 2 + np.hypot((fxx - fyy) / 2, fxy)


# --- the functions -------------------------------------------------------------------------------


def mccormick(x, y):
    return np.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 3


def mccormick_grad(x, y):
    c = np.cos(x + y)
    return c + 2 * x - 2 * y - 1.5, c + 2 * y - 2 * x + 2.5


def rosenbrock(x, y, a=1.0, b=100.0):
    return (a - x) ** 2 + b * (y - x * x) ** 2


def rosenbrock_grad(x, y, a=1.0, b=100.0):
    r = y - x * x
    return -2 * (a - x) - 4 * b * x * r, 2 * b * r


def beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def beale_grad(x, y):
    t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
    dx = 2 * (t1 * (y - 1) + t2 * (y**2 - 1) + t3 * (y**3 - 1))
    dy = 2 * x * (t1 + 2 * t2 * y + 3 * t3 * y**2)
    return dx, dy


def himmelblau(x, y):
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


def himmelblau_grad(x, y):
    a, b = x * x + y - 11, x + y * y - 7
    return 4 * x * a + 2 * b, 2 * a + 4 * y * b


def rastrigin(x, y):
    return 20 + x * x - 10 * np.cos(TAU * x) + y * y - 10 * np.cos(TAU * y)


def rastrigin_grad(x, y):
    return 2 * x + 10 * TAU * np.sin(TAU * x), 2 * y + 10 * TAU * np.sin(TAU * y)


def ackley(x, y):
    r = np.sqrt(0.5 * (x * x + y * y))
    return -20 * np.exp(-0.2 * r) - np.exp(0.5 * (np.cos(TAU * x) + np.cos(TAU * y))) + math.e + 20


def ackley_grad(x, y):
    r = np.sqrt(0.5 * (x * x + y * y))
    # The cone tip at the origin has no gradient; 0 there is a valid subgradient.
    radial = np.divide(2 * np.exp(-0.2 * r), r, out=np.zeros_like(r * 1.0), where=r > 0)
    wave = np.exp(0.5 * (np.cos(TAU * x) + np.cos(TAU * y))) * math.pi
    return radial * x + wave * np.sin(TAU * x), radial * y + wave * np.sin(TAU * y)


def booth(x, y):
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def booth_grad(x, y):
    a, b = x + 2 * y - 7, 2 * x + y - 5
    return 2 * a + 4 * b, 4 * a + 2 * b


def camel(x, y):
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (4 * y**2 - 4) * y**2


def camel_grad(x, y):
    return 8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3


def goldstein_price(x, y):
    s, d = x + y + 1, 2 * x - 3 * y
    p = 19 - 14 * x + 3 * x * x - 14 * y + 6 * x * y + 3 * y * y
    q = 18 - 32 * x + 12 * x * x + 48 * y - 36 * x * y + 27 * y * y
    return (1 + s * s * p) * (30 + d * d * q)


def goldstein_price_grad(x, y):
    s, d = x + y + 1, 2 * x - 3 * y
    p = 19 - 14 * x + 3 * x * x - 14 * y + 6 * x * y + 3 * y * y
    q = 18 - 32 * x + 12 * x * x + 48 * y - 36 * x * y + 27 * y * y
    a, b = 1 + s * s * p, 30 + d * d * q
    da = 2 * s * p + s * s * (6 * x + 6 * y - 14)  # ∂a/∂x = ∂a/∂y
    db_dx = 4 * d * q + d * d * (24 * x - 36 * y - 32)
    db_dy = -6 * d * q + d * d * (54 * y - 36 * x + 48)
    return da * b + a * db_dx, da * b + a * db_dy


def saddle(x, y):
    return x * x + y**4 / 4 - y * y / 2


def saddle_grad(x, y):
    return 2 * x, y**3 - y


def quadratic(x, y, kappa=10.0):
    return ((x + y) ** 2 + kappa * (x - y) ** 2) / 4


def quadratic_grad(x, y, kappa=10.0):
    u, w = (x + y) / 2, kappa * (x - y) / 2
    return u + w, u - w


# McCormick's stationary points: x − y = 1 and cos(x + y) = −1/2. They are minima where
# sin(x + y) < 0, at x + y = −2π/3 + 2πk; two lie in the domain (k = 0: global, k = 1: local, π higher).
_MC_X = (1 - TAU / 3) / 2
_MC_MINIMA = tuple(
    Minimum(x, x - 1, float(mccormick(x, x - 1)), is_global=k == 0)
    for k, x in enumerate((_MC_X, _MC_X + math.pi))
)

LANDSCAPES: dict[str, Landscape] = by_name(
    [
        Landscape(
            "mccormick",
            "McCormick (modified)",
            "sin(x+y) + (x−y)² − 1.5x + 2.5y + 3",
            mccormick,
            mccormick_grad,
            ((-1.5, 4.0), (-3.0, 4.0)),
            _MC_MINIMA,
            (-1.0, 2.75),
            {"gd": 0.01, "adaptive": 0.01, "adagrad": 0.15, "adadelta": 1.0, "sign": 0.003},
            2000,
            reference="McCormick (1976), intercept 3 instead of 1 so the minimum is positive",
        ),
        Landscape(
            "rosenbrock",
            "Rosenbrock",
            "(1−x)² + 100(y−x²)²",
            rosenbrock,
            rosenbrock_grad,
            ((-2.0, 2.0), (-1.0, 3.0)),
            (Minimum(1.0, 1.0, 0.0),),
            (-1.5, 2.5),
            {"gd": 5e-4, "adaptive": 0.01, "adagrad": 0.3, "adadelta": 1.0, "sign": 0.001},
            5000,
            reference="Rosenbrock (1960), a = 1, b = 100",
        ),
        Landscape(
            "beale",
            "Beale",
            "(1.5−x+xy)² + (2.25−x+xy²)² + (2.625−x+xy³)²",
            beale,
            beale_grad,
            ((-4.5, 4.5), (-4.5, 4.5)),
            (Minimum(3.0, 0.5, 0.0),),
            (1.0, 1.5),
            {"gd": 0.005, "adaptive": 0.01, "adagrad": 0.3, "adadelta": 1.0, "sign": 0.003},
            3000,
            reference="Beale (1958)",
        ),
        Landscape(
            "himmelblau",
            "Himmelblau",
            "(x²+y−11)² + (x+y²−7)²",
            himmelblau,
            himmelblau_grad,
            ((-5.0, 5.0), (-5.0, 5.0)),
            (
                Minimum(3.0, 2.0, 0.0),
                Minimum(-2.805118086952745, 3.131312518250573, 0.0),
                Minimum(-3.779310253377747, -3.283185991286170, 0.0),
                Minimum(3.584428340330492, -1.848126526964404, 0.0),
            ),
            (-0.3, -0.9),
            {"gd": 0.005, "adaptive": 0.05, "adagrad": 1.0, "adadelta": 1.0, "sign": 0.01},
            1000,
            reference="Himmelblau (1972): four minima of equal value",
        ),
        Landscape(
            "rastrigin",
            "Rastrigin",
            "20 + x² − 10cos(2πx) + y² − 10cos(2πy)",
            rastrigin,
            rastrigin_grad,
            ((-5.12, 5.12), (-5.12, 5.12)),
            (Minimum(0.0, 0.0, 0.0),),
            (-4.2, 3.6),
            {"gd": 0.002, "adaptive": 0.1, "adagrad": 1.0, "adadelta": 1.0, "sign": 0.01},
            1000,
            reference="Rastrigin (1974): a grid of local minima around the global one",
            many_minima=True,
        ),
        Landscape(
            "ackley",
            "Ackley",
            "−20·exp(−0.2·√(½(x²+y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20",
            ackley,
            ackley_grad,
            ((-5.0, 5.0), (-5.0, 5.0)),
            (Minimum(0.0, 0.0, 0.0),),
            (-3.3, 2.7),
            {"gd": 0.01, "adaptive": 0.05, "adagrad": 0.5, "adadelta": 1.0, "sign": 0.01},
            1000,
            reference="Ackley (1987): nearly flat outside, a cone at the origin",
            many_minima=True,
        ),
        Landscape(
            "booth",
            "Booth",
            "(x+2y−7)² + (2x+y−5)²",
            booth,
            booth_grad,
            ((-10.0, 10.0), (-10.0, 10.0)),
            (Minimum(1.0, 3.0, 0.0),),
            (-8.0, -6.0),
            {"gd": 0.01, "adaptive": 0.1, "adagrad": 2.0, "adadelta": 1.0, "sign": 0.01},
            1000,
            reference="Booth: a convex quadratic",
        ),
        Landscape(
            "camel",
            "Six-hump camel",
            "(4 − 2.1x² + x⁴/3)x² + xy + (4y² − 4)y²",
            camel,
            camel_grad,
            ((-3.0, 3.0), (-2.0, 2.0)),
            (
                Minimum(0.08984201310031807, -0.7126564030207396, -1.0316284534898774),
                Minimum(-0.08984201310031807, 0.7126564030207396, -1.0316284534898774),
                Minimum(1.7036067149699805, -0.7960835686726251, -0.21546382438371792, False),
                Minimum(-1.7036067149699805, 0.7960835686726251, -0.21546382438371792, False),
                Minimum(1.6071047529201976, 0.5686514548841313, 2.1042503103112593, False),
                Minimum(-1.6071047529201976, -0.5686514548841313, 2.1042503103112593, False),
            ),
            (-2.2, 1.4),
            {"gd": 0.01, "adaptive": 0.02, "adagrad": 0.3, "adadelta": 1.0, "sign": 0.003},
            1000,
            reference="Six-hump camel back: two global and four local minima",
        ),
        Landscape(
            "goldstein_price",
            "Goldstein-Price",
            "[1 + (x+y+1)²(19−14x+3x²−14y+6xy+3y²)]·[30 + (2x−3y)²(18−32x+12x²+48y−36xy+27y²)]",
            goldstein_price,
            goldstein_price_grad,
            ((-2.0, 2.0), (-2.0, 2.0)),
            (
                Minimum(0.0, -1.0, 3.0),
                Minimum(-0.6, -0.4, 30.0, False),
                Minimum(1.8, 0.2, 84.0, False),
                Minimum(1.2, 0.8, 840.0, False),
            ),
            (1.0, -1.5),
            {"gd": 1e-5, "adaptive": 0.01, "adagrad": 0.1, "adadelta": 1.0, "sign": 0.001},
            2000,
            reference="Goldstein and Price (1971): values span six orders of magnitude",
        ),
        Landscape(
            "saddle",
            "Saddle",
            "x² + y⁴/4 − y²/2",
            saddle,
            saddle_grad,
            ((-2.0, 2.0), (-2.0, 2.0)),
            (Minimum(0.0, 1.0, -0.25), Minimum(0.0, -1.0, -0.25)),
            (-1.8, 0.01),
            {"gd": 0.05, "adaptive": 0.02, "adagrad": 0.3, "adadelta": 1.0, "sign": 0.003},
            500,
            reference="A saddle at the origin between two minima: escape is slow where ∇f ≈ 0",
        ),
        Landscape(
            "quadratic",
            "Ill-conditioned quadratic",
            "((x+y)² + κ(x−y)²)/4, Hessian eigenvalues 1 and κ",
            quadratic,
            quadratic_grad,
            ((-3.0, 3.0), (-3.0, 3.0)),
            (Minimum(0.0, 0.0, 0.0),),
            (-2.5, -1.0),
            {"gd": 0.1, "adaptive": 0.05, "adagrad": 0.5, "adadelta": 1.0, "sign": 0.01},
            500,
            params=(Param("kappa", "condition number κ", 10.0, 1.0, 1e4, log=True),),
            reference="A quadratic bowl rotated 45°, condition number κ",
        ),
    ]
)


def get_landscape(name: str, /, **params: float) -> Landscape:
    """The registry entry `name` with its parameters bound; a clear ValueError otherwise."""
    return lookup(LANDSCAPES, name, "landscape").bind(**params)
