"""Any landscape a request names: a registry entry with its parameters, or a typed formula on a domain.

`resolve` is the one place that turns (name, params, expression, domain) into a `Landscape`, for the
API, the tools and the CLI alike. A typed formula's landscape is cached: a request is validated and
then used, and the minima search behind it (tens of milliseconds) is paid once.

`custom_landscape` builds a typed formula's landscape: its exact derivatives come from the parsed
`Expression`; its minima, start, learning rates and step count are found numerically on the domain.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from core.landscape.expression import Expression, ExpressionError, parse
from core.landscape.landscapes import LANDSCAPES, Landscape, Minimum, get_landscape
from core.landscape.minima import search

DEFAULT_DOMAIN = ((-3.0, 3.0), (-3.0, 3.0))
DOMAIN_LIMIT = 1e4  # |bound| of a domain
MAX_MINIMA = 20  # more than this: list the global minima only, and set many_minima
CANDIDATES = 400  # grid candidates followed downhill, lowest first


def custom_domain(domain) -> tuple[tuple[float, float], tuple[float, float]]:
    """`domain` checked: finite, low < high and within ±DOMAIN_LIMIT on each axis; None: the default."""
    if domain is None:
        return DEFAULT_DOMAIN
    try:
        (x0, x1), (y0, y1) = domain
        ranges = ((float(x0), float(x1)), (float(y0), float(y1)))
    except (TypeError, ValueError):
        raise ValueError(f"domain must be ((x low, x high), (y low, y high)), got {domain!r}") from None
    for axis, (low, high) in zip("xy", ranges, strict=True):
        if not (-DOMAIN_LIMIT <= low < high <= DOMAIN_LIMIT):
            limit = f"within ±{DOMAIN_LIMIT:g}"
            raise ValueError(f"the {axis} range must be finite, low < high, {limit}; got [{low:g}, {high:g}]")
    return ranges


def _minima(expr: Expression, domain) -> tuple[tuple[Minimum, ...], bool]:
    found = search(expr.f, expr.grad, expr.hessian, domain, limit=CANDIDATES)
    if not found.minima:  # a flat minimum (x⁴ + y⁴), or f falls toward the edge: its lowest point there
        if not math.isfinite(found.lowest):
            raise ExpressionError(f"{expr.text} is not finite anywhere in the domain")
        return (Minimum(*found.lowest_at, found.lowest),), False
    best = found.minima[0][2]
    ties = 1e-9 * max(1.0, abs(best))
    minima = [Minimum(x, y, value, is_global=value <= best + ties) for x, y, value in found.minima]
    many = len(minima) > MAX_MINIMA or not found.complete
    if many:
        minima = [m for m in minima if m.is_global][:MAX_MINIMA]
    return tuple(minima), many


def _start(expr: Expression, domain, target: Minimum) -> tuple[float, float]:
    """Four fifths of the way from the global minimum toward the farthest corner where f is finite."""
    (x0, x1), (y0, y1) = domain
    corners = sorted(
        ((cx, cy) for cx in (x0, x1) for cy in (y0, y1)),
        key=lambda c: -math.hypot(c[0] - target.x, c[1] - target.y),
    )
    digits = max(0, 2 - math.floor(math.log10(max(x1 - x0, y1 - y0))))
    for cx, cy in [*corners, ((x0 + x1) / 2, (y0 + y1) / 2)]:
        x = round(target.x + 0.8 * (cx - target.x), digits)
        y = round(target.y + 0.8 * (cy - target.y), digits)
        if np.isfinite([expr.f(x, y), *expr.grad(x, y)]).all() and (x, y) != (target.x, target.y):
            return (float(x), float(y))
    raise ExpressionError(
        f"{expr.text} has no point in the domain with finite value and gradient to start at"
    )


def _round_down(value: float, low: float, high: float) -> float:
    """`value` rounded down to 1, 2 or 5 times a power of ten, within [low, high]."""
    if not math.isfinite(value) or value <= 0:
        return high
    power = math.floor(math.log10(value))
    mantissa = next(m for m in (5, 2, 1) if m * 10.0**power <= value * (1 + 1e-12))
    return min(max(float(f"{mantissa}e{power}"), low), high)


def _suggestions(expr: Expression, domain, start, target: Minimum) -> tuple[dict[str, float], int]:
    """Learning rates per optimizer family, and a number of steps.

    Gradient descent gets 1/L, L the largest curvature between the start and the minimum; the
    adaptive families take steps of about η per coordinate, so theirs follow the domain's size.
    """
    (x0, x1), (y0, y1) = domain
    diagonal = math.hypot(x1 - x0, y1 - y0)
    x, y = np.meshgrid(np.linspace(start[0], target.x, 21), np.linspace(start[1], target.y, 21))
    fxx, fxy, fyy = expr.hessian(x, y)
    sharpest = (fxx + fyy) / 2 + np.hypot((fxx - fyy) / 2, fxy)
    sharpest = sharpest[np.isfinite(sharpest)]
    curvature = float(sharpest.max()) if sharpest.size else math.nan
    lr = {
        "gd": _round_down(1 / curvature, 1e-7, 1.0) if curvature > 0 else 0.01,
        "adaptive": _round_down(diagonal / 500, 1e-7, 10.0),
        "adagrad": _round_down(diagonal / 20, 1e-7, 10.0),
        "adadelta": 1.0,
        "sign": _round_down(diagonal / 2000, 1e-7, 10.0),
    }
    # gradient descent at 1/L shrinks the distance along the flattest direction by λmin/L a step
    hxx, hxy, hyy = expr.hessian(target.x, target.y)
    flattest = (hxx + hyy) / 2 - math.hypot((hxx - hyy) / 2, hxy)
    steps = 5000
    if flattest > 0 and curvature > 0:
        steps = int(min(max(500 * math.ceil(7 * curvature / flattest / 500), 500), 5000))
    return lr, steps


def custom_landscape(text: str, domain=None) -> Landscape:
    """The landscape of a typed formula f(x, y), on `domain` (default: ((-3, 3), (-3, 3))).

    Its minima are found numerically (`core.landscape.minima.search`): every local minimum strictly
    inside the domain with a positive definite Hessian, the lowest marked global. Past MAX_MINIMA,
    only the global ones are listed and `many_minima` is set. Where none is found (a flat minimum such
    as x⁴ + y⁴, or f falling toward the edge), the lowest point of the search grid stands in.
    """
    expr = parse(text)
    ranges = custom_domain(domain)
    if not expr.variables:
        raise ExpressionError(f"{expr.text} depends on neither x nor y")
    minima, many = _minima(expr, ranges)
    start = _start(expr, ranges, minima[0])
    lr, steps = _suggestions(expr, ranges, start, minima[0])
    return Landscape(
        "custom",
        "Custom",
        expr.text,
        expr.f,
        expr.grad,
        ranges,
        minima,
        start,
        lr,
        steps,
        reference="typed in; derivatives exact (forward mode), minima found numerically",
        many_minima=many,
        exact_hessian=expr.hessian,
    )


CUSTOM = "custom"  # the name a typed formula goes by
NAMES = (*LANDSCAPES, CUSTOM)  # every name `resolve` accepts
CACHED = 64  # typed landscapes kept


@functools.lru_cache(maxsize=CACHED)
def _custom(text: str, domain: tuple[tuple[float, float], tuple[float, float]] | None) -> Landscape:
    return custom_landscape(text, domain)


def flat_domain(domain: Sequence[float] | None):
    """[x low, x high, y low, y high] as ((x low, x high), (y low, y high)); None stays None."""
    if domain is None:
        return None
    if len(domain) != 4:
        raise ValueError(f"domain must be [x low, x high, y low, y high], got {len(domain)} numbers")
    x0, x1, y0, y1 = (float(v) for v in domain)
    return ((x0, x1), (y0, y1))


def resolve(
    name: str,
    params: Mapping[str, float] | None = None,
    expression: str | None = None,
    domain: Sequence[float] | None = None,
) -> Landscape:
    """The landscape `name` with `params` bound, or (name "custom") the formula `expression` on `domain`
    ([x low, x high, y low, y high]; None: ±3 on both axes). A ValueError says what is wrong."""
    if name == CUSTOM:
        if expression is None:
            raise ValueError("landscape 'custom' needs an expression f(x, y), such as x**2 + 3*y**2")
        if params:
            raise ValueError(f"landscape 'custom' takes no parameters, got {', '.join(params)}")
        return _custom(expression, flat_domain(domain))
    if expression is not None or domain is not None:
        given = " and ".join(k for k, v in (("expression", expression), ("domain", domain)) if v is not None)
        raise ValueError(f"{given} go{'es' if ' and ' not in given else ''} with landscape 'custom' only")
    return get_landscape(name, **(params or {}))
