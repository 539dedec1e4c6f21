"""Users' tables cut into train and test: stratified, seeded, standardized on the train part."""

import numpy as np
import pytest

from core.data.datasets import Split, one_hot
from core.data.splits import RegressionSplit, Scaling, split_rows, to_regression_split, to_split
from core.data.uploads import DataError, read_points

POINTS = b"x1,x2,label\n0.5,-1,a\n2,3e-1,b\n-.5,4.,a\n"


def drawn_points(counts=(50, 30, 20), seed=1) -> bytes:
    """Points of three classes around different centres, as a user would upload them."""
    rng = np.random.default_rng(seed)
    rows = [
        f"{rng.normal(3 * k, 1):.6f},{rng.normal(-2 * k, 0.5):.6f},class {k}"
        for k, count in enumerate(counts)
        for _ in range(count)
    ]
    order = rng.permutation(len(rows))
    return ("x1,x2,label\n" + "\n".join(rows[i] for i in order) + "\n").encode()


def test_round_trip_stratified_and_standardized_on_the_train_part():
    table = read_points(drawn_points())
    assert table.class_names == ("class 0", "class 1", "class 2")
    split = to_split(table, test_fraction=0.2, seed=7, standardize=True)
    assert isinstance(split, Split) and split.classes == 3
    assert split.x_train.dtype == np.float32 and split.y_train.dtype == np.int64
    assert np.bincount(split.y_test).tolist() == [10, 6, 4]
    assert np.bincount(split.y_train).tolist() == [40, 24, 16]
    # standardized with the train part's statistics only: the train part has mean 0 and std 1 ...
    np.testing.assert_allclose(split.x_train.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(split.x_train.std(axis=0), 1, rtol=1e-6)
    # ... and both parts are the raw rows scaled by them, which the whole table's would not give
    train, test = split_rows(table, 0.2, 7)
    mean, std = table.x[train].mean(axis=0), table.x[train].std(axis=0)
    np.testing.assert_allclose(split.x_test, (table.x[test] - mean) / std, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(split.y_test, table.y[test])
    assert not np.allclose(mean, table.x.mean(axis=0), rtol=1e-3)
    one_hot(split.y_train, split.classes)  # what the training loop makes of it


def test_splits_are_seeded_and_partition_the_rows():
    table = read_points(drawn_points())
    train, test = split_rows(table, 0.3, 5)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(100))
    again = split_rows(table, 0.3, 5)
    np.testing.assert_array_equal(train, again[0])
    np.testing.assert_array_equal(test, again[1])
    assert not np.array_equal(test, split_rows(table, 0.3, 6)[1])
    plain = to_split(table, 0.3, 5)
    np.testing.assert_array_equal(plain.x_test, table.x[test].astype(np.float32))
    assert len(split_rows(table, 0.0, 0)[1]) == 0


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_each_class_is_split_in_proportion_and_keeps_a_row_for_training(fraction):
    counts = (1, 2, 3, 7, 40)
    table = read_points(drawn_points(counts))
    split = to_split(table, fraction, 3)
    for label, count in enumerate(counts):
        expected = min(int(count * fraction + 0.5), count - 1)
        assert (split.y_test == label).sum() == expected
        assert (split.y_train == label).sum() == count - expected >= 1


def test_split_arguments_are_checked():
    table = read_points(POINTS)
    with pytest.raises(ValueError, match=r"test_fraction must be in \[0, 0\.5\], got 0\.7"):
        to_split(table, test_fraction=0.7)
    with pytest.raises(ValueError, match=r"seed must be a whole number"):
        to_split(table, seed=1.5)


def test_a_constant_column_stays_finite():
    table = read_points(b"x1,x2,label\n1,5,a\n2,5,b\n3,5,a\n4,5,b\n5,5,a\n")
    split = to_split(table, 0.4, 0, standardize=True)
    assert np.isfinite(split.x_train).all() and np.isfinite(split.x_test).all()
    assert (split.x_train[:, 1] == 0).all() and (split.x_test[:, 1] == 0).all()


def test_standardizing_refuses_what_would_overflow_float32():
    scaling = Scaling(np.zeros(2), np.array([1.0, 1e-300]))
    with pytest.raises(DataError, match="column 2 cannot be standardized"):
        scaling.apply(np.array([[1.0, 1e-10]]))


def test_a_regression_travels_as_a_regression_split():
    table = read_points(
        b"x1,x2,label\n" + b"".join(b"%d,%d,%d.5\n" % (i, -i, 2 * i) for i in range(10)), regression=True
    )
    split = to_regression_split(table, 0.2, 0, standardize=True)
    assert isinstance(split, RegressionSplit) and split.target_name == "label"
    assert split.y_train.dtype == split.x_train.dtype == np.float32
    assert len(split.y_test) == 2 and len(split.y_train) == 8
    # the target is not standardized: each row keeps its own value
    train, _ = split_rows(table, 0.2, 0)
    np.testing.assert_array_equal(split.y_train, table.y[train].astype(np.float32))
    with pytest.raises(DataError, match="holds a regression target; use to_regression_split"):
        to_split(table)
    with pytest.raises(DataError, match="holds classes; use to_split"):
        to_regression_split(read_points(POINTS))
