import numpy as np
import pytest

from core.schedules import SCHEDULES, get_schedule


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_every_schedule_gives_a_positive_factor_per_step(name):
    factor = get_schedule(name, 500)(np.arange(500))
    assert factor.shape == (500,) and (factor >= 0).all() and (factor <= 1).all()
    spec = SCHEDULES[name]
    assert spec.label and spec.formula
    for p in spec.params:
        assert p.low <= p.default <= p.high


def test_schedule_values():
    k = np.array([0, 1, 99, 100, 250, 500])
    np.testing.assert_allclose(get_schedule("constant", 500)(k), 1.0)
    np.testing.assert_allclose(
        get_schedule("step", 500, every=100, gamma=0.5)(k), [1, 1, 1, 0.5, 0.25, 0.03125]
    )
    np.testing.assert_allclose(get_schedule("exponential", 500, gamma=0.99)(k), 0.99**k)
    np.testing.assert_allclose(get_schedule("cosine", 500, floor=0.1)(k)[[0, 4, 5]], [1.0, 0.55, 0.1])
    np.testing.assert_allclose(get_schedule("warmup", 500, warmup_steps=100)(k), [0.01, 0.02, 1, 1, 1, 1])


def test_bad_schedule_settings():
    with pytest.raises(ValueError, match="unknown schedule 'linear'; valid: constant, step"):
        get_schedule("linear", 10)
    with pytest.raises(ValueError, match="every must be a whole number"):
        get_schedule("step", 10, every=2.5)
    with pytest.raises(ValueError, match=r"gamma must be in \[0.9, 1\]"):
        get_schedule("exponential", 10, gamma=2)


def test_lr_range_grows_exponentially_from_lr_over_span_to_lr():
    factor = get_schedule("lr_range", 5, span=1e4)(np.arange(5))
    np.testing.assert_allclose(factor, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-12)
    np.testing.assert_allclose(
        np.diff(np.log(get_schedule("lr_range", 300)(np.arange(300)))), np.log(1e4) / 299
    )
    assert get_schedule("lr_range", 1, span=100)(np.arange(3)).tolist() == [0.01, 0.01, 0.01]  # one step
