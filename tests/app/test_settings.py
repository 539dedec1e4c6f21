"""Settings from the environment: a bad value stops `descent serve` before it starts, with one line
that names the variable and its valid range (exit status 2)."""

import os
import subprocess
import sys

import pytest

from app import settings
from app.cli import main
from app.runs import Limits


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
        ("DESCENT_ALLOWED_HOSTS", "descent.lan:8000", "host names without ports"),
        ("DESCENT_JOB_EXECUTOR", "no_such_module:factory", "DESCENT_JOB_EXECUTOR"),
        ("DESCENT_JOB_EXECUTOR", "no colon", "package.module:callable"),
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
