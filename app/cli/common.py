"""What every `descent` subcommand shares: one-line usage errors, number parsing and users' data files."""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Sequence

from app import settings
from core.data import own
from core.data.store import DataStore
from core.data.uploads import LIMITS, DataError, read_table
from core.nn.training import SEED

SHOWN = 40  # characters of a bad value echoed back in an error


class UsageError(Exception):
    """A bad flag or value: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "-1.5,2.5" is a value (a start point), not an option
        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def error(self, message):
        raise UsageError(message)


def shown(text: str) -> str:
    """`text` quoted for an error message, cut short so the message stays one readable line."""
    return repr(text) if len(text) <= SHOWN else repr(text[:SHOWN]) + "..."


def pairs(values: Sequence[str], flag: str) -> dict[str, float]:
    """NAME=VALUE strings as a dict of floats."""
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"{flag} takes NAME=VALUE, got {shown(item)}")
        out[name.strip()] = number(value, f"{flag} {name}")
    return out


def number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number, got {shown(text)}") from None
    if not math.isfinite(value):
        raise UsageError(f"{what} must be finite, got {shown(text)}")
    return value


def whole(text: str, flag: str, low: int, high: int) -> int:
    """An integer in [low, high], or a UsageError naming the range."""
    try:
        value = int(text)
    except ValueError:  # not an integer, or more digits than Python converts
        value = None
    if value is None or not low <= value <= high:
        raise UsageError(f"{flag} must be a whole number in [{low}, {high}], got {shown(text)}")
    return value


def seed(text: str) -> int:
    """--seed, bounded as the API bounds it."""
    return whole(text, "--seed", int(SEED.low), int(SEED.high))


def point(text: str, what: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise UsageError(f"{what} takes X,Y, got {shown(text)}")
    return number(parts[0], what), number(parts[1], what)


def store_file(path: str, label_column: str, regression: bool) -> str:
    """Read a .csv or .npz as the server reads an upload (a table whose label column is `label_column`;
    a points CSV x1,x2,label is one), keep it in the data folder's store (as the server does, so the
    server can train on it too) and return its hash; a UsageError says what is wrong with the file."""
    try:
        size = os.path.getsize(path)
        if size > LIMITS.max_bytes:
            cap = LIMITS.max_bytes
            raise UsageError(f"{path}: the file has {size:,} bytes; at most {cap:,} are accepted")
        with open(path, "rb") as f:
            body = f.read()
    except OSError as e:
        raise UsageError(f"--data-file: cannot read {shown(path)}: {e.strerror or e}") from None
    try:
        table = read_table(body, path, label_column, regression=regression)
        return DataStore(own.uploads_folder(), settings.UPLOAD_STORE_BYTES.read()).put(table)
    except DataError as e:
        raise UsageError(f"{path}: {e}") from None
    except (OSError, settings.SettingsError) as e:
        raise UsageError(f"cannot keep the data in {own.uploads_folder()}: {e}") from None
