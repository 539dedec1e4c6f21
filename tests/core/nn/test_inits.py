import numpy as np
import pytest

from core.nn.inits import INITS, get_init

NAMES = list(INITS)

# The seed draws a 512 x 256 matrix with each method and prints its statistics. Individual draws
# differ (the seed used the global np.random), the distribution does not: the mean is within a few
# standard errors of 0, the standard deviation within about 1% of its exact value.
SEED_STATS = {  # name: (exact standard deviation, bound on |w| or None)
    "gaussian": (1.0, None),  # seed: SD 1.0009, min -4.4978, max 4.1724
    "xavier": (np.sqrt(6 / 768) / np.sqrt(3), np.sqrt(6 / 768)),  # seed: SD 0.0511, limits ±0.0884
    "he": (np.sqrt(2 / 512), None),  # seed: SD 0.0625, min -0.2562, max 0.2892
}


@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_and_determinism(name):
    init = get_init(name)
    a = init.sample(np.random.default_rng(7), 30, 20)
    assert a.shape == (30, 20) and a.dtype == np.float64
    np.testing.assert_array_equal(a, init.sample(np.random.default_rng(7), 30, 20))
    assert not np.array_equal(a, init.sample(np.random.default_rng(8), 30, 20))


@pytest.mark.parametrize("name", NAMES)
def test_never_touches_the_global_random_state(name):
    before = np.random.get_state()[1].copy()  # noqa: NPY002 (checking the legacy state is untouched)
    get_init(name).sample(np.random.default_rng(0), 10, 10)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002


@pytest.mark.parametrize("name", NAMES)
def test_seed_statistics(name):
    assert name in SEED_STATS, "add the new init's statistics to SEED_STATS"
    std, limit = SEED_STATS[name]
    w = get_init(name).sample(np.random.default_rng(2022), 512, 256)
    assert abs(w.mean()) < 4 * std / np.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.01)
    if limit is not None:
        assert np.abs(w).max() <= limit
        assert round(w.min(), 4) == -round(limit, 4) and round(w.max(), 4) == round(limit, 4)


def test_seed_printed_values():
    assert round(np.sqrt(6 / (512 + 256)), 4) == 0.0884
    assert round(SEED_STATS["xavier"][0], 4) == 0.0510  # the seed's sample gave 0.0511
    assert round(SEED_STATS["he"][0], 4) == 0.0625


@pytest.mark.parametrize("name", NAMES)
def test_registry_entries_are_described(name):
    init = INITS[name]
    assert init.name == name and init.label and init.formula


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="gaussian, xavier, he"):
        get_init("orthogonal")
