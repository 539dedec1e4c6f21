import numpy as np
import pytest

from core.landscape.landscapes import LANDSCAPES, get_landscape
from core.landscape.surfaces import surface


@pytest.mark.parametrize("name", list(LANDSCAPES))
def test_surface_covers_the_domain_and_stays_finite(name):
    ls = get_landscape(name)
    s = surface(ls, resolution=40, arrows=8)
    (x0, x1), (y0, y1) = ls.domain
    assert (s.x[0], s.x[-1], s.y[0], s.y[-1]) == (x0, x1, y0, y1)
    assert s.z.shape == s.color.shape == (40, 40)
    assert s.z[3, 7] == pytest.approx(float(ls.f(s.x[7], s.y[3])))
    assert np.isfinite(s.color).all() and np.isfinite(s.arrow_u).all()
    assert s.arrow_x.shape == (64,)
    length = np.hypot(s.arrow_u, s.arrow_v)
    np.testing.assert_allclose(length[s.arrow_norm > 0], 1.0)


def test_arrows_point_down_the_gradient():
    ls = get_landscape("booth")
    s = surface(ls, resolution=10, arrows=5)
    gx, gy = ls.grad(s.arrow_x, s.arrow_y)
    assert (s.arrow_u * gx + s.arrow_v * gy < 0).all()


def test_wide_ranges_are_coloured_by_orders_of_magnitude():
    assert surface(get_landscape("goldstein_price"), 60).log_scale
    assert surface(get_landscape("rosenbrock"), 60).log_scale
    plain = surface(get_landscape("mccormick"), 60)
    assert not plain.log_scale and (plain.color == plain.z).all()


def test_no_arrows():
    s = surface(get_landscape("mccormick"), resolution=10, arrows=0)
    assert s.arrow_x.shape == s.arrow_u.shape == (0,)
