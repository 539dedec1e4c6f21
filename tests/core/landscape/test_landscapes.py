import math

import numpy as np
import pytest

from core.landscape.landscapes import LANDSCAPES, get_landscape, hessian, max_curvature
from core.landscape.surfaces import stability

NAMES = list(LANDSCAPES)


def _points(landscape, n=25, seed=0):
    (x0, x1), (y0, y1) = landscape.domain
    rng = np.random.default_rng(seed)
    return rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    ls = get_landscape(name)
    x, y = _points(ls)
    h = 1e-6
    fd_x = (ls.f(x + h, y) - ls.f(x - h, y)) / (2 * h)
    fd_y = (ls.f(x, y + h) - ls.f(x, y - h)) / (2 * h)
    gx, gy = ls.grad(x, y)
    scale = np.abs(ls.f(x, y)) + 1  # differences of f lose digits in proportion to |f|
    np.testing.assert_allclose(gx, fd_x, rtol=1e-6, atol=1e-7 * scale.max())
    np.testing.assert_allclose(gy, fd_y, rtol=1e-6, atol=1e-7 * scale.max())


@pytest.mark.parametrize("name", NAMES)
def test_works_on_scalars_and_grids(name):
    ls = get_landscape(name)
    (x0, x1), (y0, y1) = ls.domain
    gx, gy = np.meshgrid(np.linspace(x0, x1, 7), np.linspace(y0, y1, 5))
    grid = ls.f(gx, gy)
    assert grid.shape == (5, 7)
    assert float(ls.f(gx[2, 3], gy[2, 3])) == pytest.approx(grid[2, 3])
    dx, dy = ls.grad(gx, gy)
    assert dx.shape == dy.shape == (5, 7)
    assert np.isfinite(grid).all() and np.isfinite(dx).all() and np.isfinite(dy).all()


@pytest.mark.parametrize("name", NAMES)
def test_registry_entry_is_complete(name):
    ls = LANDSCAPES[name]
    assert ls.name == name and ls.label and ls.formula and ls.reference
    (x0, x1), (y0, y1) = ls.domain
    assert x0 <= ls.start[0] <= x1 and y0 <= ls.start[1] <= y1
    assert set(ls.lr) == {"gd", "adaptive", "adagrad", "adadelta", "sign"}
    assert ls.steps > 0


def test_seed_mccormick():
    ls = get_landscape("mccormick")
    (m,) = ls.global_minima
    assert (m.x, m.y, m.value) == pytest.approx((-0.54719, -1.54719, 0.08678), abs=1e-5)
    assert ls.domain == ((-1.5, 4.0), (-3.0, 4.0))
    assert ls.start == (-1.0, 2.75)
    # the original McCormick has intercept 1 and minimum -1.91322
    assert m.value - 2 == pytest.approx(-1.91322, abs=1e-5)
    # ∂f/∂y carries +2.5 (the code's sign, not the text's)
    assert ls.grad(0.0, 0.0)[1] == pytest.approx(1 + 2.5)


def test_hessian_of_quadratic_has_eigenvalues_one_and_kappa():
    for kappa in (1.0, 10.0, 250.0):
        ls = get_landscape("quadratic", kappa=kappa)
        fxx, fxy, fyy = hessian(ls, 0.7, -1.3)
        eig = np.linalg.eigvalsh([[fxx, fxy], [fxy, fyy]])
        np.testing.assert_allclose(eig, [1.0, kappa], rtol=1e-7)
        assert stability(ls, 0.7, -1.3).lr_limit == pytest.approx(2 / kappa, rel=1e-7)


def test_hessian_matches_second_differences_of_f():
    ls = get_landscape("rosenbrock")
    x, y, h = -0.8, 1.9, 1e-4
    fxx = (ls.f(x + h, y) - 2 * ls.f(x, y) + ls.f(x - h, y)) / h**2
    fyy = (ls.f(x, y + h) - 2 * ls.f(x, y) + ls.f(x, y - h)) / h**2
    fxy = (ls.f(x + h, y + h) - ls.f(x + h, y - h) - ls.f(x - h, y + h) + ls.f(x - h, y - h)) / (4 * h * h)
    np.testing.assert_allclose(hessian(ls, x, y), (fxx, fxy, fyy), rtol=1e-5)
    # analytic: fxx = 2 - 400(y - 3x²), fxy = -400x, fyy = 200
    np.testing.assert_allclose(hessian(ls, x, y), (2 - 400 * (y - 3 * x * x), -400 * x, 200), rtol=1e-7)


def test_stability_lr_predicts_where_gd_starts_to_oscillate():
    """Plain GD on the quadratic converges just below 2/λmax and blows up just above it."""
    ls = get_landscape("quadratic", kappa=20.0)
    limit = stability(ls, 1.0, 1.0).lr_limit
    for lr, grows in ((0.95 * limit, False), (1.05 * limit, True)):
        x, y = 1.0, -1.0
        for _ in range(200):
            gx, gy = ls.grad(x, y)
            x, y = x - lr * gx, y - lr * gy
        assert (math.hypot(x, y) > 1.0) == grows


def test_stability_at_a_saddle_follows_the_upward_direction():
    s = stability(get_landscape("saddle"), 0.0, 0.0)  # fxx = 2, fyy = -1
    assert (s.curvature, s.lr_limit) == pytest.approx((2.0, 1.0))
    assert float(max_curvature(get_landscape("saddle"), 0.0, 0.0)) == pytest.approx(2.0)


def test_no_lr_limit_where_the_surface_curves_down_everywhere():
    s = stability(get_landscape("rastrigin"), 0.5, 0.5)  # a local maximum: f'' = 2 − 40π² per axis
    assert s.curvature == pytest.approx(2 - 40 * math.pi**2, rel=1e-6)
    assert s.lr_limit is None


def test_bind_and_lookup_errors_name_the_valid_choices():
    with pytest.raises(ValueError, match="valid: mccormick, rosenbrock"):
        get_landscape("nope")
    with pytest.raises(ValueError, match=r"kappa must be in \[1, 10000\]"):
        get_landscape("quadratic", kappa=0.5)
    with pytest.raises(ValueError, match="has no parameter 'kappa'"):
        get_landscape("mccormick", kappa=3)


def test_nearest_minimum_and_far_outside():
    ls = get_landscape("himmelblau")
    i, d = ls.nearest_minimum(np.array([3.1, -2.7]), np.array([2.0, 3.0]))
    assert list(i) == [0, 1]
    np.testing.assert_allclose(d, [0.1, math.hypot(0.105118086952745, 0.131312518250573)], rtol=1e-9)
    assert not ls.far_outside(20.0, 0.0)
    assert ls.far_outside(200.0, 0.0) and ls.far_outside(0.0, -106.0)
