"""Each landscape's list of minima against a search (`core.landscape.minima.search`): a dense grid
finds every basin in the domain, a trust-region Newton method pins its minimum down. Checked at each
parameter's default and its ends."""

import functools
import math

import numpy as np
import pytest

from core.landscape.landscapes import LANDSCAPES, get_landscape, hessian
from core.landscape.minima import search as find_minima

MANY = 10  # a landscape flagged many_minima has at least this many local minima in its domain
SAME = 1e-6  # a listed minimum matches a found one this closely, in position and in value


def _settings(name):
    params = LANDSCAPES[name].params
    return [{}] + [{p.name: v} for p in params for v in (p.low, p.high)]


def _cases(keep=lambda ls: True):
    return [
        pytest.param(name, values, id="-".join([name, *(f"{k}={v:g}" for k, v in values.items())]))
        for name, ls in LANDSCAPES.items()
        if keep(ls)
        for values in _settings(name)
    ]


def _curves_up(ls, x, y):
    fxx, fxy, fyy = hessian(ls, x, y)
    return fxx > 0 and fxx * fyy - fxy**2 > 0


@functools.cache
def _search(name, settings):
    """(lowest f on the grid, [(x, y, f)] of every local minimum strictly inside the domain)."""
    ls = get_landscape(name, **dict(settings))
    found = find_minima(ls.f, ls.grad, functools.partial(hessian, ls), ls.domain)
    return found.lowest, list(found.minima)


def search(name, values):
    return _search(name, tuple(sorted(values.items())))


def _same(m, point):
    x, y, value = point
    return math.hypot(m.x - x, m.y - y) < SAME and m.value == pytest.approx(value, rel=SAME, abs=SAME)


@pytest.mark.parametrize(("name", "values"), _cases(lambda ls: not ls.many_minima))
def test_every_minimum_in_the_domain_is_listed(name, values):
    ls = get_landscape(name, **values)
    _, found = search(name, values)
    for point in found:
        assert any(_same(m, point) for m in ls.minima), f"unlisted minimum {point}"
    for m in ls.minima:
        assert sum(_same(m, point) for point in found) == 1, f"{m} is not one of the minima found"


@pytest.mark.parametrize(("name", "values"), _cases(lambda ls: ls.many_minima))
def test_many_minima_means_many_and_lists_the_global_ones(name, values):
    ls = get_landscape(name, **values)
    lowest, found = search(name, values)
    assert len(found) >= MANY and len(found) > len(ls.minima)
    assert all(m.is_global for m in ls.minima)
    assert min(m.value for m in ls.minima) <= lowest + SAME


@pytest.mark.parametrize(("name", "values"), _cases())
def test_global_minima_are_the_lowest_in_the_domain(name, values):
    ls = get_landscape(name, **values)
    on_grid, found = search(name, values)
    lowest = min([on_grid] + [value for _, _, value in found])
    assert min(m.value for m in ls.minima) <= lowest + SAME, "a lower point than every listed minimum"
    for m in ls.minima:
        assert m.is_global == (m.value <= lowest + SAME), m


@pytest.mark.parametrize(("name", "values"), _cases())
def test_listed_minima_are_minima_inside_the_domain(name, values):
    ls = get_landscape(name, **values)
    (x0, x1), (y0, y1) = ls.domain
    angles = np.linspace(0, 2 * math.pi, 16, endpoint=False)
    for m in ls.minima:
        assert x0 < m.x < x1 and y0 < m.y < y1
        assert float(ls.f(m.x, m.y)) == pytest.approx(m.value, abs=1e-12)
        assert math.hypot(*ls.grad(m.x, m.y)) < 1e-8
        assert _curves_up(ls, m.x, m.y), f"{m} does not curve upward in every direction"
        ring = ls.f(m.x + 1e-3 * np.cos(angles), m.y + 1e-3 * np.sin(angles))
        assert (ring > m.value).all(), f"{m} has lower points around it"


def test_mccormick_has_a_local_minimum_pi_above_the_global_one():
    glob, local = get_landscape("mccormick").minima
    assert glob.is_global and not local.is_global
    assert (local.x, local.y) == pytest.approx((glob.x + math.pi, glob.y + math.pi), abs=1e-12)
    assert (local.x, local.y, local.value) == pytest.approx((2.59440, 1.59440, 3.22837), abs=1e-5)
    assert local.value - glob.value == pytest.approx(math.pi, abs=1e-12)
