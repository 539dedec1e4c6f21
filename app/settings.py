"""Every DESCENT_* environment variable, declared once with its default, valid values and meaning.

A bad value is refused before anything starts: `descent serve` prints one line naming the variable
and its valid range and exits with status 2 (see `check`). README's table of settings is `table()`
(a test keeps the two the same).
"""

from __future__ import annotations

import importlib
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from core.data import mnist

DAY = 86_400.0
T = TypeVar("T")


class SettingsError(ValueError):
    """An environment variable holds a value outside its range."""


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One variable. A number has a range (`low`, `high`); any other value is text that `parse` turns
    into the value or refuses with a ValueError saying what it takes."""

    name: str
    default: T  # the value when the variable is unset or empty
    meaning: str
    low: float | None = None
    high: float | None = None
    integer: bool = True
    parse: Callable[[str], T] | None = None
    shown: str = ""  # the default as README shows it, where the value itself says little
    takes: str = ""  # what a text setting takes, for README

    @property
    def valid(self) -> str:
        if self.parse:
            return self.takes
        kind = "an integer" if self.integer else "a number"
        return f"{kind} in [{self.low:g}, {self.high:g}]"

    def read(self) -> T:
        """The variable's value, or the default when it is unset or empty; SettingsError when invalid."""
        text = os.environ.get(self.name, "").strip()
        if not text:
            return self.default
        if self.parse:
            try:
                return self.parse(text)
            except (ValueError, ImportError, AttributeError) as e:
                raise SettingsError(f"{self.name}: {e}") from None
        assert self.low is not None and self.high is not None  # a setting without `parse` is a number
        try:
            value: float = int(text) if self.integer else float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise SettingsError(f"{self.name} must be {self.valid} ({self.meaning}), got {text!r}")
        return cast(T, value)  # a number setting's T is int (`integer`) or float, as its default is


def _hosts(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if any(c in name for c in "/@ ") or name.count(":") == 1:
            raise ValueError(f"takes host names without ports, comma-separated, got {name!r}")
    return names


def _factory(text: str) -> Callable:
    if text == "dask":
        try:
            from app.dask_pool import DaskFactory
        except ImportError as e:
            raise ValueError(f"=dask needs the dask extra: pip install 'descent[dask]' ({e})") from None
        return DaskFactory.from_env()
    module, _, attribute = text.partition(":")
    if not module or not attribute:
        raise ValueError(f"must read dask or package.module:callable, got {text!r}")
    return getattr(importlib.import_module(module), attribute)


def _address(text: str) -> str:
    if not re.fullmatch(r"(tcp|tls)://[^\s/:]+:\d{1,5}", text):
        raise ValueError(f"must read tcp://host:port (or tls://), got {text!r}")
    return text


def _folder(text: str) -> str:
    return text  # created when first needed; a folder that cannot be used is reported then


def _urls(text: str) -> list[str]:
    return [url for url in re.split(r"[\s,]+", text) if url]  # as core.data.mnist.mirrors_for reads it


def _mirrors(name: str) -> Setting[list[str]]:
    spec = mnist.get_image_set(name)
    return Setting(
        spec.mirror_env, [], f"where `descent data {name}` downloads {spec.label} from", parse=_urls,
        shown="the public mirrors", takes="URLs of folders, comma- or space-separated",
    )  # fmt: skip


# Runs (app.runs.Limits)
MAX_RUNS = Setting("DESCENT_MAX_RUNS", 6, "runs training at once", 1, 64)
IDLE_SECONDS = Setting("DESCENT_IDLE_SECONDS", 60.0, "seconds an unwatched run goes on", 1, DAY, False)
KEEP_SECONDS = Setting("DESCENT_KEEP_SECONDS", 600.0, "seconds a finished run is kept", 0, 7 * DAY, False)
MAX_KEPT = Setting("DESCENT_MAX_KEPT", 32, "finished runs kept", 0, 1000)
# Jobs of the network tools (app.jobs.JobLimits)
JOB_WORKERS = Setting(
    "DESCENT_JOB_WORKERS", os.cpu_count() or 1, "job pool workers", 1, 1024, shown="one per core"
)
MAX_JOBS = Setting("DESCENT_MAX_JOBS", 2, "jobs running at once", 1, 64)
JOB_MAX_SPECS = Setting("DESCENT_JOB_MAX_SPECS", 64, "trainings in one job", 1, 64)
JOB_IDLE_SECONDS = Setting(
    "DESCENT_JOB_IDLE_SECONDS", 60.0, "seconds a job nobody asks about goes on", 1, DAY, False
)
JOB_KEEP_SECONDS = Setting(
    "DESCENT_JOB_KEEP_SECONDS", 600.0, "seconds a finished job is kept", 0, 7 * DAY, False
)
JOB_MAX_KEPT = Setting("DESCENT_JOB_MAX_KEPT", 32, "finished jobs kept", 0, 1000)
JOB_EXECUTOR = Setting(
    "DESCENT_JOB_EXECUTOR", None, "where jobs run (see Many runs)", parse=_factory,
    shown="a process pool", takes="dask, or package.module:callable",
)  # fmt: skip
DASK_ADDRESS = Setting(
    "DESCENT_DASK_ADDRESS", None, "the Dask scheduler jobs run on (with DESCENT_JOB_EXECUTOR=dask)",
    parse=_address, shown="a local Dask cluster", takes="tcp://host:port",
)  # fmt: skip
# Where things are, and who may ask
ALLOWED_HOSTS: Setting[list[str]] = Setting(
    "DESCENT_ALLOWED_HOSTS", [], "host names the server answers to besides localhost and its address",
    parse=_hosts, shown="none", takes="host names without ports, comma-separated",
)  # fmt: skip
HOME = Setting(
    "DESCENT_HOME", None, "the folder of the run log", parse=_folder,
    shown="`$XDG_DATA_HOME/descent`, else `~/.local/share/descent`", takes="a folder",
)  # fmt: skip
DATA_DIR = Setting(
    mnist.DATA_DIR_ENV, None, "where MNIST and Fashion-MNIST are read from and downloaded to",
    parse=_folder, shown="`$XDG_CACHE_HOME/descent`, else `~/.cache/descent`", takes="a folder",
)  # fmt: skip
UPLOAD_STORE_BYTES = Setting(
    "DESCENT_UPLOAD_STORE_BYTES", 512 * 2**20,
    "bytes of uploaded data kept in `uploads` under `DESCENT_DATA_DIR`; the least recently used go first",
    1, 10**12, shown="536870912 (512 MiB)",
)  # fmt: skip
SETTINGS: tuple[Setting[Any], ...] = (
    MAX_RUNS,
    IDLE_SECONDS,
    KEEP_SECONDS,
    MAX_KEPT,
    JOB_WORKERS,
    MAX_JOBS,
    JOB_MAX_SPECS,
    JOB_IDLE_SECONDS,
    JOB_KEEP_SECONDS,
    JOB_MAX_KEPT,
    DASK_ADDRESS,
    JOB_EXECUTOR,
    ALLOWED_HOSTS,
    HOME,
    DATA_DIR,
    UPLOAD_STORE_BYTES,
    *(_mirrors(name) for name in mnist.IMAGE_SETS),
)


def allowed_hosts() -> list[str]:
    """The names in $DESCENT_ALLOWED_HOSTS (besides localhost and the address served)."""
    return ALLOWED_HOSTS.read()


def check() -> None:
    """Read every setting once, so a bad one is reported before the server starts."""
    for setting in SETTINGS:
        setting.read()


def table() -> str:
    """The settings as README's Markdown table."""
    rows = ["| Variable | Default | Valid | Meaning |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        default = s.shown or f"{s.default:g}"
        rows.append(f"| `{s.name}` | {default} | {s.valid} | {s.meaning} |")
    return "\n".join(rows)
