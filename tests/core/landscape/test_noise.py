import numpy as np
import pytest
from scipy import stats

from core.landscape.noise import GradientNoise, fast_noise, literal_noise


def _draws(make, noise, n, seed=1):
    """n batch-mean gradients around g = (2, -3): n paths, one step each."""
    perturb = make(noise, 1, seed)
    grad = np.tile(np.array([[2.0], [-3.0]]), (1, n))
    return perturb(grad, 0)


@pytest.mark.parametrize("batch", [1, 25])
def test_fast_and_literal_noise_agree_in_distribution(batch):
    """Two-sample KS on 50,000 draws per axis: the direct draw has the literal process's law."""
    noise = GradientNoise(16.0, 4.0, dataset_size=200, batch_size=batch)
    n = 50_000
    perturb = fast_noise(noise, n, 1)  # one path, n steps: every step is a fresh draw
    fast = np.hstack([perturb(np.array([[2.0], [-3.0]]), k) for k in range(n)])
    literal = np.concatenate([_draws(literal_noise, noise, 5_000, seed=s) for s in range(10)], axis=1)
    for axis in (0, 1):
        assert stats.ks_2samp(fast[axis], literal[axis]).pvalue > 1e-3
    # and both have the predicted spread σ·√(1/b − 1/N)
    expected = np.array([16.0, 4.0]) * np.sqrt(1 / batch - 1 / 200)
    np.testing.assert_allclose(literal.std(axis=1), expected, rtol=0.02)
    np.testing.assert_allclose(literal.mean(axis=1), [2.0, -3.0], atol=0.02 * expected.max() + 1e-12)


def test_fast_noise_uses_independent_draws_per_path_only_with_per_path_seeds():
    noise = GradientNoise(16.0, 4.0, 2000, 4)
    shared = _draws(fast_noise, noise, 3)
    assert (shared == shared[:, :1]).all(), "one seed: every path sees the same noise"
    perturb = fast_noise(noise, 1, [5, 6, 5])
    lanes = perturb(np.zeros((2, 3)), 0)
    alone = fast_noise(noise, 1, 6)(np.zeros((2, 1)), 0)
    np.testing.assert_array_equal(lanes[:, 1:2], alone)
    np.testing.assert_array_equal(lanes[:, 0], lanes[:, 2])
    assert not np.array_equal(lanes[:, 0], lanes[:, 1])


def test_fast_noise_for_step_k_does_not_depend_on_the_run_length():
    noise = GradientNoise(1.0, 1.0, 100, 10)
    short, long = fast_noise(noise, 300, 3), fast_noise(noise, 5000, 3)
    for k in range(300):
        np.testing.assert_array_equal(short(np.zeros((2, 1)), k), long(np.zeros((2, 1)), k))


def test_literal_noise_is_deterministic_per_seed():
    noise = GradientNoise(16.0, 4.0, 50, 4)
    a = literal_noise(noise, 3, 9)(np.ones((2, 1)), 0)
    b = literal_noise(noise, 3, 9)(np.ones((2, 1)), 0)
    np.testing.assert_array_equal(a, b)


def test_batches_follow_the_seed_loop():
    noise = GradientNoise(dataset_size=10, batch_size=4)
    assert noise.steps_per_epoch == 3
    assert noise.batch_sizes(7).tolist() == [4, 4, 2, 4, 4, 2, 4]
    assert GradientNoise(dataset_size=2000, batch_size=4).steps_per_epoch == 500


def test_full_batch_is_the_true_gradient():
    noise = GradientNoise(16.0, 4.0, dataset_size=40, batch_size=40)
    for make in (fast_noise, literal_noise):
        grad = make(noise, 5, 0)(np.array([[1.5], [-0.5]]), 2)
        np.testing.assert_allclose(grad, [[1.5], [-0.5]], atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 3000}, r"batch_size must be in \[1, dataset_size = 2000\]"),
        ({"batch_size": 0}, r"batch_size must be in \[1, 1000000\]"),
        ({"sigma_x": -1.0}, r"sigma_x must be in \[0, 1000\]"),
        ({"sigma_y": float("nan")}, "sigma_y must be finite"),
        ({"dataset_size": 2.5}, "dataset_size must be a whole number"),
    ],
)
def test_bad_noise_settings_name_the_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GradientNoise(**kwargs)
