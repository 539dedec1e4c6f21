"""Landscapes from typed formulas: built-ins typed in match themselves; minima, starts and domains."""

import dataclasses
import math

import numpy as np
import pytest

from core.landscape import custom
from core.landscape.custom import custom_landscape
from core.landscape.expression import ExpressionError, parse
from core.landscape.landscapes import get_landscape
from core.landscape.minima import search
from core.landscape.paths import Steps, path
from core.optimizers import OPTIMIZERS, get_optimizer

TYPED = {
    "rosenbrock": "(1 - x)**2 + 100*(y - x**2)**2",
    "himmelblau": "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
    "mccormick": "sin(x + y) + (x - y)**2 - 1.5*x + 2.5*y + 3",
}


def _typed(name):
    builtin = get_landscape(name)
    return builtin, custom_landscape(TYPED[name], builtin.domain)


@pytest.mark.parametrize("name", TYPED)
def test_built_ins_typed_in_give_their_values_and_gradients(name):
    builtin, typed = _typed(name)
    (x0, x1), (y0, y1) = builtin.domain
    x, y = np.meshgrid(np.linspace(x0, x1, 101), np.linspace(y0, y1, 101))
    scale = np.abs(builtin.f(x, y)).max()
    np.testing.assert_allclose(typed.f(x, y), builtin.f(x, y), rtol=1e-12, atol=1e-12 * scale)
    for ours, theirs in zip(typed.grad(x, y), builtin.grad(x, y), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12 * scale)
    assert typed.formula == TYPED[name]


@pytest.mark.parametrize("name", TYPED)
def test_built_ins_typed_in_have_their_minima(name):
    builtin, typed = _typed(name)
    assert len(typed.minima) == len(builtin.minima) and not typed.many_minima
    for m in builtin.minima:
        (match,) = [t for t in typed.minima if math.hypot(t.x - m.x, t.y - m.y) < 1e-12]
        assert match.value == pytest.approx(m.value, abs=1e-12)
        assert match.is_global == m.is_global


@pytest.mark.parametrize("name", TYPED)
@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_built_ins_typed_in_give_the_same_optimizer_paths(name, optimizer):
    builtin, typed = _typed(name)
    spec = get_optimizer(optimizer)
    hyper = spec.hyperparameters(lr=builtin.lr[spec.family])
    ours, theirs = (
        list(path(ls, spec, hyper, builtin.start, builtin.steps, seed=3)) for ls in (typed, builtin)
    )
    # the same outcome at the same step, by the same minimum (listed in another order)
    mine, built = ours[-1], theirs[-1]
    assert dataclasses.replace(mine, distance=built.distance, minimum=built.minimum) == built
    assert mine.distance == pytest.approx(built.distance, rel=1e-12)
    near, other = typed.minima[mine.minimum], builtin.minima[built.minimum]
    assert (near.x, near.y) == pytest.approx((other.x, other.y), abs=1e-12)
    ours_steps, theirs_steps = Steps.join(ours[:-1]), Steps.join(theirs[:-1])
    np.testing.assert_array_equal(ours_steps.step, theirs_steps.step)
    for column in ("x", "y", "loss", "gx", "gy"):
        np.testing.assert_allclose(
            getattr(ours_steps, column), getattr(theirs_steps, column), rtol=1e-12, atol=1e-12
        )


def test_a_custom_landscape_is_complete():
    ls = custom_landscape("x**2 + 3*y**2 + sin(3*x)")
    assert (ls.name, ls.formula, ls.domain) == (
        "custom",
        "x**2 + 3*y**2 + sin(3*x)",
        ((-3.0, 3.0), (-3.0, 3.0)),
    )
    assert ls.label and ls.reference
    (x0, x1), (y0, y1) = ls.domain
    assert x0 <= ls.start[0] <= x1 and y0 <= ls.start[1] <= y1 and np.isfinite(ls.f(*ls.start))
    assert set(ls.lr) == set(get_landscape("rosenbrock").lr) and ls.steps > 0
    for spec in OPTIMIZERS.values():
        spec.hyperparameters(lr=ls.lr[spec.family])  # every suggestion is in range
    # f = x² + 3y² + sin 3x: minima on y = 0 where 2x + 3cos 3x = 0 and 2 − 9 sin 3x > 0
    glob, local = ls.minima
    assert glob.is_global and not local.is_global and glob.value < local.value
    for m in ls.minima:
        assert m.y == 0.0 and 2 * m.x + 3 * math.cos(3 * m.x) == pytest.approx(0, abs=1e-14)
        assert 2 - 9 * math.sin(3 * m.x) > 0
    assert ls.bind() is ls and ls.global_minima == (glob,)


def test_many_minima_list_the_global_ones_only():
    ls = custom_landscape("sin(5*x)*sin(5*y)")
    assert ls.many_minima
    assert 0 < len(ls.minima) <= custom.MAX_MINIMA
    for m in ls.minima:
        assert m.is_global and m.value == pytest.approx(-1.0, abs=1e-12)
        fxx, fxy, fyy = parse(ls.formula).hessian(m.x, m.y)
        assert fxx > 0 and fxx * fyy > fxy**2 and math.hypot(*ls.grad(m.x, m.y)) < 1e-12


def test_the_search_follows_the_lowest_candidates_up_to_its_limit():
    expr = parse("sin(5*x)*sin(5*y) + 0.01*x")
    every = search(expr.f, expr.grad, expr.hessian, custom.DEFAULT_DOMAIN)
    some = search(expr.f, expr.grad, expr.hessian, custom.DEFAULT_DOMAIN, limit=3)
    assert every.complete and len(every.minima) > 10 and not some.complete
    assert some.minima == every.minima[: len(some.minima)]  # the lowest ones
    assert [value for *_, value in every.minima] == sorted(value for *_, value in every.minima)


def test_without_a_strict_minimum_the_lowest_grid_point_stands_in():
    (m,) = custom_landscape("x**4 + y**4").minima  # a zero Hessian at the bottom
    assert (m.x, m.y, m.value, m.is_global) == (0.0, 0.0, 0.0, True)
    (m,) = custom_landscape("x + 2*y", ((-1, 1), (0, 4))).minima  # falls toward a corner
    assert (m.x, m.y, m.value) == (-1.0, 0.0, -1.0)


def test_domains_and_formulas_a_landscape_cannot_have():
    assert custom_landscape("x**2 + y**2", [[-1, 2], [0.5, 4]]).domain == ((-1.0, 2.0), (0.5, 4.0))
    for domain in [
        ((1, -1), (0, 1)),
        ((0, 0), (0, 1)),
        ((0, 1), (0, math.inf)),
        ((0, 1), (-2e4, 0)),
        (1, 2),
        "ab",
    ]:
        with pytest.raises(ValueError, match=r"range|domain"):
            custom_landscape("x**2 + y**2", domain)
    with pytest.raises(ExpressionError, match="neither x nor y"):
        custom_landscape("2*pi")
    with pytest.raises(ExpressionError, match="not finite anywhere"):
        custom_landscape("log(-1 - x**2 - y**2)")
    with pytest.raises(ExpressionError, match="position 1"):
        custom_landscape("foo(x)")
