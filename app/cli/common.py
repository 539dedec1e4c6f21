"""What every `descent` subcommand shares: one-line usage errors and number parsing."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Sequence


class UsageError(Exception):
    """A bad flag or value: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "-1.5,2.5" is a value (a start point), not an option
        self._negative_number_matcher = re.compile(r"^-\.?\d")

    def error(self, message):
        raise UsageError(message)


def pairs(values: Sequence[str], flag: str) -> dict[str, float]:
    """NAME=VALUE strings as a dict of floats."""
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"{flag} takes NAME=VALUE, got {item!r}")
        out[name.strip()] = number(value, f"{flag} {name}")
    return out


def number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{what} must be finite, got {text!r}")
    return value


def point(text: str, what: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise UsageError(f"{what} takes X,Y, got {text!r}")
    return number(parts[0], what), number(parts[1], what)
