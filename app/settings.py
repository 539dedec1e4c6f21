"""The server's settings from DESCENT_* environment variables, each checked against its range.

A bad value is refused before anything starts: `descent serve` prints one line naming the variable
and its valid range and exits with status 2 (see `check`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

DAY = 86_400.0


class SettingsError(ValueError):
    """An environment variable holds a value outside its range."""


@dataclass(frozen=True)
class Setting:
    name: str
    low: float
    high: float
    integer: bool = True
    meaning: str = ""

    def read(self, default: float) -> float:
        """The variable's value, or `default` when it is unset or empty; SettingsError when invalid."""
        text = os.environ.get(self.name, "").strip()
        if not text:
            return default
        kind = "an integer" if self.integer else "a number"
        valid = f"{kind} in [{self.low:g}, {self.high:g}]"
        try:
            value = int(text) if self.integer else float(text)
        except ValueError:
            raise SettingsError(f"{self.name} must be {valid} ({self.meaning}), got {text!r}") from None
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise SettingsError(f"{self.name} must be {valid} ({self.meaning}), got {text!r}")
        return value


MAX_RUNS = Setting("DESCENT_MAX_RUNS", 1, 64, meaning="runs training at once")
IDLE_SECONDS = Setting("DESCENT_IDLE_SECONDS", 1, DAY, False, "seconds an unwatched run goes on")
KEEP_SECONDS = Setting("DESCENT_KEEP_SECONDS", 0, 7 * DAY, False, "seconds a finished run is kept")
MAX_KEPT = Setting("DESCENT_MAX_KEPT", 0, 1000, meaning="finished runs kept")
JOB_WORKERS = Setting("DESCENT_JOB_WORKERS", 1, 1024, meaning="job pool workers")
MAX_JOBS = Setting("DESCENT_MAX_JOBS", 1, 64, meaning="jobs running at once")

ALLOWED_HOSTS = "DESCENT_ALLOWED_HOSTS"  # extra host names the server answers to, comma-separated


def allowed_hosts() -> list[str]:
    """The names in $DESCENT_ALLOWED_HOSTS (besides localhost and the address served)."""
    names = [n.strip() for n in os.environ.get(ALLOWED_HOSTS, "").split(",") if n.strip()]
    for name in names:
        if any(c in name for c in "/@ ") or name.count(":") == 1:
            raise SettingsError(
                f"{ALLOWED_HOSTS} takes host names without ports, comma-separated, got {name!r}"
            )
    return names


def check() -> None:
    """Read every setting once, so a bad one is reported before the server starts."""
    from app.jobs import JobLimits, executor_factory_from_env
    from app.runs import Limits

    Limits.from_env()
    JobLimits.from_env()
    allowed_hosts()
    try:
        executor_factory_from_env()
    except (ImportError, AttributeError, ValueError) as e:
        raise SettingsError(f"DESCENT_JOB_EXECUTOR: {e}") from None
