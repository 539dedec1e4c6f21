"""A user's table cut into train and test, as `core.data.datasets` cuts its generated sets.

`to_split` (classes) and `to_regression_split` (a target) hold out a seeded share of rows, stratified
by class, and standardize the features on the train part if asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.data.datasets import Split, plain
from core.data.uploads import FLOAT32_MAX, DataError, Table
from core.params import Param, resolve

SPLIT = (
    Param("test_fraction", "test fraction", 0.2, 0.0, 0.5, help="share of rows held out"),
    Param("seed", "seed", 0, 0, 2**32 - 1, integer=True),
)


@dataclass(frozen=True, eq=False)
class RegressionSplit:
    """Train and test arrays for a regression: x float32 (n, features), y float32 (n,), the target."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    target_name: str
    class_names: tuple[str, ...] = ()  # none: as a `Split`'s, for code that serves both

    @property
    def classes(self) -> int:
        return 0

    @property
    def regression(self) -> bool:
        return True


@dataclass(frozen=True, eq=False)
class Scaling:
    """Standardization: (x - mean) / std per column, both float64 (features,) and fitted on the train
    part; a constant column has std 1, so it maps to zeros."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Scaling:
        std = x.std(axis=0)
        return cls(x.mean(axis=0), np.where(std > 0, std, 1.0))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """float32 standardized rows, or a DataError when one would overflow float32."""
        z = (x - self.mean) / self.std
        bad = np.flatnonzero(~(np.abs(z) <= FLOAT32_MAX).all(axis=0))
        if bad.size:
            raise DataError(f"column {int(bad[0]) + 1} cannot be standardized: its spread is too small")
        return z.astype(np.float32)


def _held_out(rows: int, test_fraction: float) -> int:
    """Test rows of a class (or of a regression) of `rows` rows: round half up, one kept to train."""
    return min(int(rows * test_fraction + 0.5), max(rows - 1, 0))


def split_counts(counts: Sequence[int], test_fraction: float) -> tuple[int, int]:
    """(training rows, test rows) that `split_rows` gives a table of `counts` rows per class (a
    regression: its one count of rows), without the table."""
    test = sum(_held_out(int(c), test_fraction) for c in counts)
    return sum(counts) - test, test


def split_rows(table: Table, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, test), each shuffled. A classification is stratified: each class puts
    round(test_fraction · its rows) in the test part (half up), but keeps one row for training; a
    regression holds out round(test_fraction · rows) rows, at most all but one. The same table and
    arguments give the same rows; bad arguments raise ValueError naming the valid range."""
    v = resolve(SPLIT, plain({"test_fraction": test_fraction, "seed": seed}), "the split")
    rng = np.random.default_rng(v["seed"])
    n = len(table.y)
    if table.regression:
        order = rng.permutation(n)
        cut = _held_out(n, v["test_fraction"])
        return rng.permutation(order[cut:]), rng.permutation(order[:cut])
    train, test = [], []
    for label in range(table.classes):
        rows = rng.permutation(np.flatnonzero(table.y == label))
        cut = _held_out(len(rows), v["test_fraction"])
        test.append(rows[:cut])
        train.append(rows[cut:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _parts(table: Table, test_fraction: float, seed: int, standardize: bool):
    train, test = split_rows(table, test_fraction, seed)
    x_train, x_test = table.x[train], table.x[test]
    if standardize:
        scaling = Scaling.fit(x_train)
        return scaling.apply(x_train), scaling.apply(x_test), train, test
    return x_train.astype(np.float32), x_test.astype(np.float32), train, test


def to_split(table: Table, test_fraction: float = 0.2, seed: int = 0, standardize: bool = False) -> Split:
    """A classification table as a `Split` (float32 x, int64 y), stratified as `split_rows` says;
    `standardize`: each column scaled by `Scaling.fit` on the train part, applied to both parts."""
    if table.regression:
        raise DataError(f"column {table.label_name!r} holds a regression target; use to_regression_split")
    x_train, x_test, train, test = _parts(table, test_fraction, seed, standardize)
    return Split(x_train, table.y[train], x_test, table.y[test], table.class_names)


def to_regression_split(
    table: Table, test_fraction: float = 0.2, seed: int = 0, standardize: bool = False
) -> RegressionSplit:
    """A regression table as a `RegressionSplit` (float32 x and y); the target is never standardized."""
    if not table.regression:
        raise DataError(f"column {table.label_name!r} holds classes; use to_split")
    x_train, x_test, train, test = _parts(table, test_fraction, seed, standardize)
    y = table.y.astype(np.float32)
    return RegressionSplit(x_train, y[train], x_test, y[test], table.label_name)
