"""Users' own data as a dataset: the "upload" entry every network run, race and job can train on.

A table validated by core/data/uploads.py is kept in a `DataStore` under the data folder
(`uploads_folder`: `<data dir>/uploads`), named by its content hash; a training configuration names it
by that hash (`TrainConfig.data_id`) and sets how it is split (`PARAMS`: test fraction, whether the
features are standardized on the training part, the split's seed). `load` reads it back from the
store in whatever process trains, so the same hash and parameters give the same arrays on this
server. Data the store no longer holds (evicted when it was full) is a `DataGone`, which the server
answers with 409 and its message.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data import mnist
from core.data.datasets import Split, plain
from core.data.splits import RegressionSplit, split_counts, to_regression_split, to_split
from core.data.store import HASH, DataStore, table_bytes
from core.data.uploads import Table
from core.params import Param, resolve

NAME = "upload"  # the dataset's name in a TrainConfig
LABEL = "Your data"
DESCRIPTION = "a CSV or .npz uploaded to this server (or points drawn on the playground)"
FOLDER = "uploads"  # under the data dir
LABEL_COLUMN = "label"  # a table's label column unless one is named
READ_ONLY = 2**62  # a store opened to read never evicts: its cap is the writer's business
PARAMS = (
    Param("test_fraction", "test fraction", 0.2, 0.05, 0.5, help="share of rows held out"),
    Param("standardize", "standardize", 1, 0, 1, integer=True, help="1: features scaled on the train part"),
    Param("seed", "seed", 0, 0, 2**32 - 1, integer=True, help="the split's"),
)
Data = Split | RegressionSplit


class DataGone(mnist.DataError):
    """The data a configuration names is not (or no longer) stored on this server."""

    def __init__(self, data_id: str):
        super().__init__(gone_message(data_id))
        self.data_id = data_id

    def __reduce__(self):  # from a job's worker process: rebuilt from its id, not from its message
        return DataGone, (self.data_id,)


def gone_message(data_id: str) -> str:
    return (
        f"the data {data_id[:12]}… is no longer on this server (uploaded data is evicted when the store "
        "is full); upload the file again"
    )


def check_id(data_id: object) -> str:
    """A data hash as given, or a ValueError saying what one is."""
    if not isinstance(data_id, str) or not HASH.fullmatch(data_id):
        raise ValueError(f"data_id must be 64 lowercase hexadecimal digits (a SHA-256), got {data_id!r}")
    return data_id


def uploads_folder(root: str | os.PathLike | None = None) -> Path:
    """Where uploaded tables are stored: `uploads` in the data dir (`root`, else mnist.data_dir())."""
    return Path(mnist.data_dir() if root is None else root) / FOLDER


def data_key(table: Table) -> str:
    """The hash a store keeps `table` under (without storing it)."""
    return hashlib.sha256(table_bytes(table)).hexdigest()


def read_table(data_id: str, root: str | os.PathLike | None = None) -> Table:
    """The stored table, or DataGone."""
    table = DataStore(uploads_folder(root), READ_ONLY).get(check_id(data_id))
    if table is None:
        raise DataGone(data_id)
    return table


def split_of(table: Table, data: Mapping[str, float]) -> Data:
    """The table cut into train and test by the "upload" parameters `data` (checked: a ValueError
    names one out of range)."""
    v = resolve(PARAMS, plain(dict(data)), f"dataset {NAME!r}")
    cut = to_regression_split if table.regression else to_split
    return cut(table, v["test_fraction"], v["seed"], bool(v["standardize"]))


def load(data_id: str, data: Mapping[str, float], root: str | os.PathLike | None = None) -> Data:
    """The stored table `data_id` split by `data`; DataGone when the store no longer holds it."""
    return split_of(read_table(data_id, root), data)


@dataclass(frozen=True)
class Shape:
    """What a stored table is, without its rows: enough to bound the work of a run on it."""

    features: int
    classes: int  # 0: a regression
    counts: tuple[int, ...]  # rows per class; a regression's rows as one count

    def sizes(self, data: Mapping[str, float]) -> tuple[int, int]:
        """(training rows, test rows) of the split by `data`."""
        v = resolve(PARAMS, plain(dict(data)), f"dataset {NAME!r}")
        return split_counts(self.counts, v["test_fraction"])


@functools.lru_cache(maxsize=64)  # content-addressed: a key's table never changes, only whether it is kept
def _shape(folder: Path, data_id: str) -> Shape:
    table = read_table(data_id, folder.parent)  # DataGone is raised, never cached
    counts = np.bincount(table.y, minlength=table.classes) if not table.regression else [len(table.y)]
    return Shape(table.x.shape[1], table.classes, tuple(int(c) for c in counts))


def shape(data_id: str, root: str | os.PathLike | None = None) -> Shape:
    """The stored table's shape, or DataGone (checked anew each time: the store may have evicted it)."""
    folder = uploads_folder(root)
    if not DataStore(folder, READ_ONLY).has(check_id(data_id)):
        raise DataGone(data_id)
    return _shape(folder, data_id)
