"""Any landscape a request names: a registry entry with its parameters, or a typed formula on a domain.

`resolve` is the one place that turns (name, params, expression, domain) into a `Landscape`, for the
API, the tools and the CLI alike. A typed formula's landscape is cached: a request is validated and
then used, and the minima search behind it (tens of milliseconds) is paid once.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from core.landscape.expression import custom_landscape
from core.landscape.landscapes import LANDSCAPES, Landscape, get_landscape

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
