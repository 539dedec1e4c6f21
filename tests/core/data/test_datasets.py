import inspect
import math
import re

import numpy as np
import pytest

from core.data.datasets import (
    CIRCLE_RADII,
    DATASETS,
    XOR_MARGIN,
    blob_centers,
    get_dataset,
    make_dataset,
    one_hot,
)

NAMES = list(DATASETS)


def _all(split):
    return np.concatenate([split.x_train, split.x_test]), np.concatenate([split.y_train, split.y_test])


@pytest.mark.parametrize("name", NAMES)
def test_shapes_dtypes_and_labels(name):
    spec = get_dataset(name)
    split = make_dataset(name)
    n = spec.params[0].default
    n_test = round(n * 0.2)
    assert split.x_train.shape == (n - n_test, 2) and split.x_test.shape == (n_test, 2)
    assert split.x_train.dtype == split.x_test.dtype == np.float32
    assert split.y_train.shape == (n - n_test,) and split.y_test.shape == (n_test,)
    assert split.y_train.dtype == split.y_test.dtype == np.int64
    assert split.classes == spec.classes == len(spec.class_names) == len(split.class_names)
    _, y = _all(split)
    assert set(np.unique(y)) == set(range(spec.classes))
    assert np.isfinite(split.x_train).all()


@pytest.mark.parametrize("name", NAMES)
def test_signature_defaults_match_the_registry(name):
    spec = get_dataset(name)
    signature = inspect.signature(spec.make).parameters
    assert list(signature) == [p.name for p in spec.params]
    for p in spec.params:
        assert signature[p.name].default == p.default
        assert p.low <= p.default <= p.high


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("samples", "fraction"), [(101, 0.3), (20, 0.5), (1000, 0.0), (37, 0.2)])
def test_classes_balanced_and_split_stratified(name, samples, fraction):
    split = make_dataset(name, samples=samples, test_fraction=fraction, seed=3)
    k = split.classes
    n_test = round(samples * fraction)
    assert len(split.y_test) == n_test and len(split.y_train) == samples - n_test
    assert split.x_test.shape == (n_test, 2)
    for y in (_all(split)[1], split.y_train, split.y_test):
        counts = np.bincount(y, minlength=k)
        assert counts.max() - counts.min() <= 1, counts


@pytest.mark.parametrize("name", NAMES)
def test_train_and_test_are_shuffled(name):
    split = make_dataset(name, samples=400)
    assert not np.all(np.diff(split.y_train) >= 0)
    assert not np.all(np.diff(split.y_test) >= 0)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_per_seed(name):
    a, b, c = make_dataset(name, seed=7), make_dataset(name, seed=7), make_dataset(name, seed=8)
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)


@pytest.mark.parametrize("name", NAMES)
def test_noise_is_the_standard_deviation_of_the_jitter(name):
    # The same seed draws the same shape, jitter directions and split at any noise level.
    clean = make_dataset(name, samples=20000, noise=0.0, seed=1)
    noisy = make_dataset(name, samples=20000, noise=0.2, seed=1)
    np.testing.assert_array_equal(clean.y_train, noisy.y_train)
    jitter = (noisy.x_train - clean.x_train).astype(np.float64)
    assert np.std(jitter[:, 0]) == pytest.approx(0.2, rel=0.03)
    assert np.std(jitter[:, 1]) == pytest.approx(0.2, rel=0.03)
    assert np.abs(np.mean(jitter, axis=0)).max() < 0.01


def _moons(x, y):
    centre = np.where(y[:, None] == 0, [0.0, 0.0], [1.0, 0.5])
    r = np.hypot(*(x - centre).T)
    upper = np.where(y == 0, x[:, 1] >= 0, x[:, 1] <= 0.5)
    return np.allclose(r, 1, atol=1e-6) and upper.all()


def _circles(x, y):
    return np.allclose(np.hypot(*x.T), np.take(CIRCLE_RADII, y), atol=1e-6)


def _xor(x, y):
    inside = (np.abs(x) >= XOR_MARGIN - 1e-6).all() and (np.abs(x) <= 1).all()
    return inside and np.array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(int))


def _spiral(x, y):
    r = np.hypot(*x.T)
    expected = 2 * np.pi * (r + y / 3)
    diff = np.angle(np.exp(1j * (np.arctan2(x[:, 1], x[:, 0]) - expected)))
    return (r <= 1 + 1e-6).all() and np.allclose(diff[r > 1e-3], 0, atol=1e-4)


def _blobs(x, y):
    return np.allclose(x, blob_centers(3)[y], atol=1e-6)


CLEAN_SHAPES = {"moons": _moons, "circles": _circles, "xor": _xor, "spiral": _spiral, "blobs": _blobs}


def test_every_dataset_has_a_clean_shape_check():
    assert set(CLEAN_SHAPES) == set(DATASETS)


@pytest.mark.parametrize("name", NAMES)
def test_noise_zero_gives_the_clean_shape(name):
    x, y = _all(make_dataset(name, noise=0.0, samples=2000))
    assert CLEAN_SHAPES[name](x.astype(np.float64), y)


@pytest.mark.parametrize("name", NAMES)
def test_the_clean_shape_check_rejects_noisy_data(name):
    x, y = _all(make_dataset(name, noise=0.1, samples=2000))
    assert not CLEAN_SHAPES[name](x.astype(np.float64), y)


BAD = [
    ("samples", 5),
    ("samples", 1_000_000),
    ("samples", 100.5),
    ("noise", -0.1),
    ("noise", 1.5),
    ("noise", math.nan),
    ("noise", "0.1"),
    ("test_fraction", 0.9),
    ("test_fraction", -0.1),
    ("seed", -1),
    ("seed", 2**40),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("param", "value"), BAD)
def test_bad_inputs_raise_naming_the_range(name, param, value):
    spec = get_dataset(name)
    p = next(p for p in spec.params if p.name == param)
    with pytest.raises(ValueError, match=rf"^{param} must be") as info:
        spec.make(**{param: value})
    if isinstance(value, int | float) and math.isfinite(value) and value == int(value):
        bounds = (int(p.low), int(p.high)) if p.integer else (f"{p.low:g}", f"{p.high:g}")
        assert f"[{bounds[0]}, {bounds[1]}]" in str(info.value)  # integer bounds exactly
    with pytest.raises(ValueError, match=rf"^{param} must be"):
        make_dataset(name, **{param: value})


def test_numpy_scalars_are_accepted():
    a = make_dataset("moons", samples=np.int64(100), noise=np.float32(0.25), seed=np.uint32(4))
    b = make_dataset("moons", samples=100, noise=float(np.float32(0.25)), seed=4)
    np.testing.assert_array_equal(a.x_train, b.x_train)


def test_unknown_dataset_or_parameter_lists_the_valid_ones():
    with pytest.raises(
        ValueError, match="unknown dataset 'mnist'; valid: moons, circles, xor, spiral, blobs"
    ):
        make_dataset("mnist")
    with pytest.raises(ValueError, match=re.escape("has no parameter 'radius'; valid: samples, noise")):
        make_dataset("circles", radius=2)


def test_one_hot_matches_the_seed_example():
    expected = np.zeros((3, 10), np.float32)
    expected[[0, 1, 2], [5, 0, 9]] = 1
    out = one_hot(np.array([5, 0, 9]), 10)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_one_hot_width_is_explicit():
    assert one_hot([0, 1], 10).shape == (2, 10)
    assert one_hot(np.array([], np.int64), 3).shape == (0, 3)


@pytest.mark.parametrize(
    ("labels", "classes", "message"),
    [
        ([0, 10], 10, r"labels must be in \[0, 9\], got 10"),
        ([-1, 0], 10, r"labels must be in \[0, 9\], got -1"),
        ([[0, 1]], 10, "1-D array of integers"),
        ([0.0, 1.0], 10, "1-D array of integers"),
        ([0], 0, "classes must be a whole number >= 1"),
        ([0], 2.0, "classes must be a whole number >= 1"),
    ],
)
def test_one_hot_rejects_bad_input(labels, classes, message):
    with pytest.raises(ValueError, match=message):
        one_hot(labels, classes)
