"""Forward-mode derivatives for typed formulas: `Jet`s and the functions a formula may call.

A `Jet` is a truncated Taylor number: a value with its gradient in (x, y) and, when asked, its Hessian.
Each elementary function g(u) applies the chain rule: g'(u)·uᵢ and g''(u)·uᵢ·uⱼ + g'(u)·uᵢⱼ, so a
formula evaluated on Jets gives f, ∇f and the Hessian exactly, vectorized over numpy arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


class Jet:
    """u with its first derivatives d = (uₓ, u_y) and, when tracked, dd = (uₓₓ, uₓᵧ, u_yy).

    Components are floats or numpy arrays that broadcast together. Plain numbers mix in as constants.
    """

    __slots__ = ("d", "dd", "v")
    __array_ufunc__ = None  # ndarray + Jet: numpy hands over to Jet.__radd__

    def __init__(self, v, d, dd=None):
        self.v, self.d, self.dd = v, d, dd

    @classmethod
    def variable(cls, v, which: int, second: bool) -> Jet:
        d = (1.0, 0.0) if which == 0 else (0.0, 1.0)
        return cls(v, d, (0.0, 0.0, 0.0) if second else None)

    def _like(self, c) -> Jet:
        """The constant c as a Jet of the same order."""
        return Jet(c, (0.0, 0.0), None if self.dd is None else (0.0, 0.0, 0.0))

    def __pos__(self) -> Jet:
        return self

    def __neg__(self) -> Jet:
        dd = None if self.dd is None else tuple(-c for c in self.dd)
        return Jet(-self.v, (-self.d[0], -self.d[1]), dd)

    def __add__(self, other) -> Jet:
        if not isinstance(other, Jet):
            return Jet(self.v + other, self.d, self.dd)
        dd = None if self.dd is None else tuple(a + b for a, b in zip(self.dd, other.dd, strict=True))
        return Jet(self.v + other.v, (self.d[0] + other.d[0], self.d[1] + other.d[1]), dd)

    def __radd__(self, other) -> Jet:
        return Jet(other + self.v, self.d, self.dd)

    def __sub__(self, other) -> Jet:
        if not isinstance(other, Jet):
            return Jet(self.v - other, self.d, self.dd)
        dd = None if self.dd is None else tuple(a - b for a, b in zip(self.dd, other.dd, strict=True))
        return Jet(self.v - other.v, (self.d[0] - other.d[0], self.d[1] - other.d[1]), dd)

    def __rsub__(self, other) -> Jet:
        return self._like(other) - self

    def __mul__(self, other) -> Jet:
        if not isinstance(other, Jet):
            dd = None if self.dd is None else tuple(c * other for c in self.dd)
            return Jet(self.v * other, (self.d[0] * other, self.d[1] * other), dd)
        (ax, ay), (bx, by) = self.d, other.d
        a, b = self.v, other.v
        dd = None
        if self.dd is not None:
            (axx, axy, ayy), (bxx, bxy, byy) = self.dd, other.dd
            dd = (
                axx * b + 2 * ax * bx + a * bxx,
                axy * b + ax * by + ay * bx + a * bxy,
                ayy * b + 2 * ay * by + a * byy,
            )
        return Jet(a * b, (ax * b + a * bx, ay * b + a * by), dd)

    def __rmul__(self, other) -> Jet:
        return self * other

    def __truediv__(self, other) -> Jet:
        if not isinstance(other, Jet):
            dd = None if self.dd is None else tuple(c / other for c in self.dd)
            return Jet(self.v / other, (self.d[0] / other, self.d[1] / other), dd)
        b = other.v
        q = self.v / b
        (ax, ay), (bx, by) = self.d, other.d
        qx, qy = (ax - q * bx) / b, (ay - q * by) / b
        dd = None
        if self.dd is not None:  # q·b = a, differentiated twice
            (axx, axy, ayy), (bxx, bxy, byy) = self.dd, other.dd
            dd = (
                (axx - 2 * qx * bx - q * bxx) / b,
                (axy - qx * by - qy * bx - q * bxy) / b,
                (ayy - 2 * qy * by - q * byy) / b,
            )
        return Jet(q, (qx, qy), dd)

    def __rtruediv__(self, other) -> Jet:
        return self._like(other) / self

    def __pow__(self, other) -> Jet:
        if isinstance(other, Jet):  # a variable exponent: aᵇ = exp(b·log a)
            power = _exp(other * _log(self))
            power.v = self.v**other.v  # the value exactly as the value-only evaluation has it
            return power
        c = other  # the power rule, leaving out terms whose coefficient is 0 (u⁰ at u = 0 is 1)
        g1 = c * self.v ** (c - 1) if c != 0 else 0.0
        g2 = c * (c - 1) * self.v ** (c - 2) if c * (c - 1) != 0 else 0.0
        return _chain(self, self.v**c, g1, g2)

    def __rpow__(self, other) -> Jet:
        return self._like(other) ** self


def _times(g, c):
    """g·c, where c = 0.0 (a float, not an array) is a derivative known to be zero: it stays zero even
    where g is infinite, so ∂/∂y log(x) is 0 at x = 0."""
    return 0.0 if type(c) is float and c == 0.0 else g * c


def _chain(u: Jet, g, g1, g2) -> Jet:
    """g(u) from g = g(u.v), g1 = g'(u.v), g2 = g''(u.v)."""
    ux, uy = u.d
    d = (_times(g1, ux), _times(g1, uy))
    if u.dd is None:
        return Jet(g, d)
    uxx, uxy, uyy = u.dd
    return Jet(
        g,
        d,
        (
            _times(g2, ux * ux) + _times(g1, uxx),
            _times(g2, ux * uy) + _times(g1, uxy),
            _times(g2, uy * uy) + _times(g1, uyy),
        ),
    )


def _unary(value: Callable, rule: Callable) -> Callable:
    """g as a function of numbers or Jets; rule(u, g(u)) gives (g'(u), g''(u))."""

    def apply(u):
        if not isinstance(u, Jet):
            return value(u)
        g = value(u.v)
        return _chain(u, g, *rule(u.v, g))

    return apply


_exp = _unary(np.exp, lambda u, g: (g, g))
_log = _unary(np.log, lambda u, g: (1 / u, -1 / (u * u)))


def _pair(a, b) -> tuple[Jet, Jet]:
    like = a if isinstance(a, Jet) else b
    return (a if isinstance(a, Jet) else like._like(a)), (b if isinstance(b, Jet) else like._like(b))


def _select(pick, a: Jet, b: Jet, value) -> Jet:
    """The branch a where `pick`, else b: the derivative of whichever argument is active."""
    d = tuple(np.where(pick, p, q) for p, q in zip(a.d, b.d, strict=True))
    dd = None if a.dd is None else tuple(np.where(pick, p, q) for p, q in zip(a.dd, b.dd, strict=True))
    return Jet(value, d, dd)


def _min(a, b):
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return np.minimum(a, b)
    a, b = _pair(a, b)
    return _select(a.v <= b.v, a, b, np.minimum(a.v, b.v))  # a tie takes the first argument


def _max(a, b):
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return np.maximum(a, b)
    a, b = _pair(a, b)
    return _select(a.v >= b.v, a, b, np.maximum(a.v, b.v))


def _hypot(a, b):
    """√(a² + b²) without overflow: hᵢ = (a·aᵢ + b·bᵢ)/h, hᵢⱼ = (aᵢaⱼ + a·aᵢⱼ + bᵢbⱼ + b·bᵢⱼ − hᵢhⱼ)/h."""
    if not isinstance(a, Jet) and not isinstance(b, Jet):
        return np.hypot(a, b)
    a, b = _pair(a, b)
    h = np.hypot(a.v, b.v)
    (ax, ay), (bx, by) = a.d, b.d
    hx, hy = (a.v * ax + b.v * bx) / h, (a.v * ay + b.v * by) / h
    dd = None
    if a.dd is not None:
        (axx, axy, ayy), (bxx, bxy, byy) = a.dd, b.dd
        dd = (
            (ax * ax + a.v * axx + bx * bx + b.v * bxx - hx * hx) / h,
            (ax * ay + a.v * axy + bx * by + b.v * bxy - hx * hy) / h,
            (ay * ay + a.v * ayy + by * by + b.v * byy - hy * hy) / h,
        )
    return Jet(h, (hx, hy), dd)


@dataclass(frozen=True)
class Function:
    name: str
    arity: int
    apply: Callable  # on numbers or Jets
    formula: str  # what it is and its derivative, for a help text


def _tan_rule(u, t):
    s = 1 + t * t
    return s, 2 * t * s


def _atan_rule(u, g):
    s = 1 / (1 + u * u)
    return s, -2 * u * s * s


def _asin_rule(u, g):
    r = 1 / np.sqrt(1 - u * u)
    return r, u * r**3


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in [
        Function("sin", 1, _unary(np.sin, lambda u, g: (np.cos(u), -g)), "sin u; ′ = cos u"),
        Function("cos", 1, _unary(np.cos, lambda u, g: (-np.sin(u), -g)), "cos u; ′ = −sin u"),
        Function("tan", 1, _unary(np.tan, _tan_rule), "tan u; ′ = 1 + tan² u"),
        Function("asin", 1, _unary(np.arcsin, _asin_rule), "arcsin u; ′ = 1/√(1 − u²)"),
        Function(
            "acos",
            1,
            _unary(np.arccos, lambda u, g: tuple(-r for r in _asin_rule(u, g))),
            "arccos u; ′ = −1/√(1 − u²)",
        ),
        Function("atan", 1, _unary(np.arctan, _atan_rule), "arctan u; ′ = 1/(1 + u²)"),
        Function("sinh", 1, _unary(np.sinh, lambda u, g: (np.cosh(u), g)), "sinh u; ′ = cosh u"),
        Function("cosh", 1, _unary(np.cosh, lambda u, g: (np.sinh(u), g)), "cosh u; ′ = sinh u"),
        Function(
            "tanh",
            1,
            _unary(np.tanh, lambda u, g: (1 - g * g, -2 * g * (1 - g * g))),
            "tanh u; ′ = 1 − tanh² u",
        ),
        Function("exp", 1, _exp, "eᵘ; ′ = eᵘ"),
        Function("log", 1, _log, "ln u; ′ = 1/u"),
        Function(
            "log10",
            1,
            _unary(np.log10, lambda u, g: (1 / (u * math.log(10)), -1 / (u * u * math.log(10)))),
            "log₁₀ u; ′ = 1/(u ln 10)",
        ),
        Function("sqrt", 1, _unary(np.sqrt, lambda u, g: (0.5 / g, -0.25 / (g * u))), "√u; ′ = 1/(2√u)"),
        Function("abs", 1, _unary(np.abs, lambda u, g: (np.sign(u), 0.0)), "|u|; ′ = sign u (0 at 0)"),
        Function("hypot", 2, _hypot, "√(a² + b²) without overflow; ′ = (a·a′ + b·b′)/√(a² + b²)"),
        Function("min", 2, _min, "the smaller of a and b; ′ = that one's (a's at a tie)"),
        Function("max", 2, _max, "the larger of a and b; ′ = that one's (a's at a tie)"),
    ]
}
