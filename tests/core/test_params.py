import numpy as np
import pytest

from core.params import Param, resolve

P = Param("width", "width", 16, 1, 1024, integer=True)
R = Param("rate", "rate", 0.5, 0.0, 1.0)


def test_numbers_of_any_numeric_type_pass():
    assert P.check(np.int64(5)) == 5 and isinstance(P.check(np.int64(5)), int)
    assert R.check(np.float32(0.25)) == 0.25 and isinstance(R.check(1), float)


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        (R, True, "rate must be a number, got True"),
        (R, np.bool_(False), "rate must be a number"),
        (R, "0.5", "rate must be a number, got '0.5'"),
        (R, float("inf"), "rate must be finite, got inf"),
        (P, 2.5, "width must be a whole number, got 2.5"),
        (P, 0, r"width must be in \[1, 1024\], got 0"),
    ],
)
def test_bad_values_are_named_with_the_valid_range(param, value, message):
    with pytest.raises(ValueError, match=message):
        param.check(value)


def test_resolve_fills_defaults_and_refuses_unknown_names():
    assert resolve((P, R), {"rate": 0.1}, "layer") == {"width": 16, "rate": 0.1}
    with pytest.raises(ValueError, match="layer has no parameter 'depth'; valid: width, rate"):
        resolve((P, R), {"depth": 3}, "layer")
