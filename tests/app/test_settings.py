"""Settings from the environment: a bad value stops `descent serve` before it starts, with one line
that names the variable and its valid range (exit status 2)."""

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app import jobs, runs, settings
from app.cli import main
from app.jobs import JobLimits
from app.runs import Limits
from core.data.mnist import IMAGE_SETS


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("DESCENT_MAX_RUNS", "abc", "an integer in [1, 64]"),
        ("DESCENT_MAX_RUNS", "0", "an integer in [1, 64]"),
        ("DESCENT_IDLE_SECONDS", "nan", "a number in [1, 86400]"),
        ("DESCENT_IDLE_SECONDS", "inf", "a number in [1, 86400]"),
        ("DESCENT_KEEP_SECONDS", "-1", "a number in [0, 604800]"),
        ("DESCENT_MAX_KEPT", "1e3", "an integer in [0, 1000]"),
        ("DESCENT_JOB_WORKERS", "0", "an integer in [1, 1024]"),
        ("DESCENT_MAX_JOBS", "2.5", "an integer in [1, 64]"),
        ("DESCENT_JOB_MAX_SPECS", "65", "an integer in [1, 64]"),
        ("DESCENT_JOB_IDLE_SECONDS", "0", "a number in [1, 86400]"),
        ("DESCENT_JOB_KEEP_SECONDS", "1e9", "a number in [0, 604800]"),
        ("DESCENT_JOB_MAX_KEPT", "-3", "an integer in [0, 1000]"),
        ("DESCENT_ALLOWED_HOSTS", "descent.lan:8000", "host names without ports"),
        ("DESCENT_JOB_EXECUTOR", "no_such_module:factory", "DESCENT_JOB_EXECUTOR"),
        ("DESCENT_JOB_EXECUTOR", "no colon", "dask or package.module:callable"),
        ("DESCENT_DASK_ADDRESS", "10.0.0.5:8786", "tcp://host:port"),
        ("DESCENT_DASK_ADDRESS", "http://10.0.0.5:8786", "tcp://host:port"),
    ],
)
def test_a_bad_setting_stops_the_server_with_one_line(monkeypatch, capsys, name, value, says):
    monkeypatch.setenv(name, value)
    assert main(["serve", "--port", "1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and says in lines[0], lines


def test_the_command_itself_exits_2_without_a_traceback():
    env = {**os.environ, "DESCENT_MAX_RUNS": "abc"}
    command = [sys.executable, "-m", "app.cli", "serve", "--port", "1"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "descent: error: DESCENT_MAX_RUNS must be an integer in [1, 64] (runs training at once), got 'abc'"
    )


def test_dask_is_a_named_executor(monkeypatch):
    from app.dask_pool import DaskFactory  # the dask extra, which the tests install

    monkeypatch.setenv("DESCENT_JOB_EXECUTOR", "dask")
    assert settings.JOB_EXECUTOR.read() == DaskFactory(None)
    monkeypatch.setenv("DESCENT_DASK_ADDRESS", "tcp://10.0.0.5:8786")
    factory = settings.JOB_EXECUTOR.read()
    assert factory == DaskFactory("tcp://10.0.0.5:8786") and factory.label == "Dask at tcp://10.0.0.5:8786"


def test_settings_are_read_with_their_defaults(monkeypatch):
    for name in ("DESCENT_MAX_RUNS", "DESCENT_IDLE_SECONDS", "DESCENT_KEEP_SECONDS", "DESCENT_MAX_KEPT"):
        monkeypatch.delenv(name, raising=False)
    assert Limits.from_env() == Limits()
    monkeypatch.setenv("DESCENT_MAX_RUNS", " 7 ")
    monkeypatch.setenv("DESCENT_IDLE_SECONDS", "2.5")
    assert Limits.from_env() == Limits(max_active=7, idle_seconds=2.5)


def test_allowed_hosts_are_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("DESCENT_ALLOWED_HOSTS", " descent.lan, lab.example ,,")
    assert settings.allowed_hosts() == ["descent.lan", "lab.example"]


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--port", "99999"], "--port must be a whole number in [1, 65535]"),
        (["--port", "-1"], "--port must be a whole number in [1, 65535]"),
        (["--host", ""], "--host takes an interface address or name"),
    ],
)
def test_bad_serve_flags_are_one_line(capsys, argv, says):
    assert main(["serve", *argv]) == 2
    assert says in capsys.readouterr().err


ROOT = Path(__file__).resolve().parents[2]


def test_every_variable_the_code_reads_is_declared_once():
    """Each DESCENT_* name in core/ and app/ is a declared setting (the tests' own switches aside)."""
    declared = [s.name for s in settings.SETTINGS]
    assert len(declared) == len(set(declared))
    used = set()
    for folder in ("core", "app"):
        for module in (ROOT / folder).rglob("*.py"):
            used |= set(re.findall(r"\bDESCENT_[A-Z_]+[A-Z]\b", module.read_text()))
    # core/data/mnist.py spells the mirrors' variables from each image set's name
    used = {name for name in used if not name.endswith("_MIRRORS") or name in declared}
    assert used - set(declared) == set()
    assert {s.name for s in settings.SETTINGS if s.name.endswith("_MIRRORS")} == {
        spec.mirror_env for spec in IMAGE_SETS.values()
    }


@pytest.mark.parametrize("limits, env", [(Limits, runs.ENV), (JobLimits, jobs.ENV)])
def test_every_limit_has_its_setting_and_reads_it(monkeypatch, limits, env):
    assert set(env) == {f.name for f in dataclasses.fields(limits)}
    for name, setting in env.items():
        assert getattr(limits(), name) == setting.default, name
    for setting in env.values():
        monkeypatch.setenv(setting.name, str(setting.high))
    assert limits.from_env() == limits(**{name: setting.high for name, setting in env.items()})


def test_readme_shows_the_declared_settings():
    assert settings.table() in (ROOT / "README.md").read_text()
