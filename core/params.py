"""Hyperparameter specs: what a user may set, its default and its valid range.

Every registry (landscapes, optimizers, schedules, networks) describes its knobs with `Param`, so
the CLI, the API's validation and the browser's sliders all come from one place.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np


@dataclass(frozen=True)
class Param:
    """One numeric hyperparameter: default, closed range [low, high], slider scale."""

    name: str
    label: str
    default: float
    low: float
    high: float
    log: bool = False  # slider on a log scale
    integer: bool = False
    help: str = ""

    def check(self, value: float) -> float | int:
        """Return `value` as a number in range, or raise ValueError naming the valid range."""
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            raise ValueError(f"{self.name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{self.name} must be finite, got {value}")
        if self.integer and value != int(value):
            raise ValueError(f"{self.name} must be a whole number, got {value}")
        if not self.low <= value <= self.high:
            shown = (lambda v: f"{int(v)}") if self.integer else (lambda v: f"{v:g}")
            raise ValueError(f"{self.name} must be in [{shown(self.low)}, {shown(self.high)}], got {value:g}")
        return int(value) if self.integer else float(value)


def resolve(params: tuple[Param, ...], given: Mapping[str, float], what: str) -> dict[str, Any]:
    """Defaults overlaid with `given`, each value checked; unknown names are an error.

    A value is an int where its `Param` is `integer`, else a float (hence `Any`: the type depends on
    the name).
    """
    known = {p.name: p for p in params}
    unknown = sorted(set(given) - set(known))
    if unknown:
        valid = ", ".join(known) or "none"
        raise ValueError(f"{what} has no parameter {unknown[0]!r}; valid: {valid}")
    return {name: p.check(given[name]) if name in given else p.default for name, p in known.items()}


class Named(Protocol):
    @property
    def name(self) -> str: ...


Entry = TypeVar("Entry", bound=Named)


def by_name(entries: Iterable[Entry]) -> dict[str, Entry]:
    """A registry: its entries by their `name`, in the order given."""
    return {entry.name: entry for entry in entries}


def lookup(registry: Mapping[str, object], name: str, what: str):
    """registry[name], or a ValueError that lists the valid names."""
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; valid: {', '.join(registry)}") from None
