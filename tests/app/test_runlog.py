import contextlib
import csv
import io
import json
import sqlite3
import threading

import numpy as np
import pytest

from app import log_entries, runlog
from app.log_entries import downsample
from app.runlog import HEADLINE, SCHEMA_VERSION, RunLog, RunLogError, ServerLog
from core.landscape.landscapes import get_landscape
from core.landscape.paths import Outcome, race
from core.optimizers import get_optimizer


def entry(**overrides):
    base = {
        "kind": "path",
        "problem": "rosenbrock",
        "optimizer": "adam",
        "lr": 0.01,
        "seed": 3,
        "status": "converged",
        "steps": 120,
        "steps_to_target": 120,
        "final_loss": 1e-9,
        "wall_seconds": 0.01,
        "config": {"landscape": "rosenbrock", "racers": [{"optimizer": "adam", "hyper": {"lr": 0.01}}]},
        "curves": {"loss": {"step": [0, 1, 2], "value": [3.0, 2.0, 1.0]}},
        "path": {"x": [0.0, 0.5, 1.0], "y": [0.0, 0.25, 1.0]},
    }
    return {**base, **overrides}


@pytest.fixture
def log(tmp_path):
    log = RunLog(tmp_path / "log.sqlite3")
    yield log
    log.close()


def test_home_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DESCENT_HOME", str(tmp_path / "h"))
    assert runlog.home() == tmp_path / "h"
    monkeypatch.delenv("DESCENT_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert runlog.home() == tmp_path / "xdg" / "descent"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert runlog.home() == tmp_path / "user" / ".local" / "share" / "descent"


def test_schema_version_is_recorded(log):
    assert log.version == SCHEMA_VERSION == len(runlog.MIGRATIONS)
    with contextlib.closing(sqlite3.connect(log.path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "schema_version"} <= tables


def test_migrations_run_once_in_order_and_a_newer_database_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "log.sqlite3"
    RunLog(path).close()
    extra = "ALTER TABLE runs ADD COLUMN note TEXT"
    monkeypatch.setattr(runlog, "MIGRATIONS", [*runlog.MIGRATIONS, extra])
    monkeypatch.setattr(runlog, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    upgraded = RunLog(path)
    assert upgraded.version == SCHEMA_VERSION + 1
    upgraded.close()
    RunLog(path).close()  # already migrated: the ALTER is not run twice
    monkeypatch.setattr(runlog, "MIGRATIONS", runlog.MIGRATIONS[:1])
    monkeypatch.setattr(runlog, "SCHEMA_VERSION", 1)
    with pytest.raises(RunLogError, match="schema version 2"):
        RunLog(path)


def test_record_get_list_delete(log):
    a = log.record(entry())
    b = log.record(entry(optimizer="sgd", lr=0.001, status="diverged", steps=7, final_loss=None))
    run = log.get(a)
    assert run["optimizer"] == "adam" and run["steps_to_target"] == 120 and run["diverged"] is False
    assert run["config"]["landscape"] == "rosenbrock" and run["path"]["x"] == [0.0, 0.5, 1.0]
    assert log.get(b)["diverged"] is True and log.get(b)["final_loss"] is None
    total, rows = log.list()
    assert total == 2 and [r["id"] for r in rows] == [b, a]  # newest first
    assert set(rows[0]) == {*HEADLINE, "config"} and rows[1]["config"]["landscape"] == "rosenbrock"
    _, rows = log.list(sort="lr", descending=False)
    assert [r["lr"] for r in rows] == [0.001, 0.01]
    _, rows = log.list(sort="final_loss", descending=False)
    assert [r["id"] for r in rows] == [a, b]  # empty values last, whatever the direction
    _, rows = log.list(sort="final_loss", descending=True)
    assert [r["id"] for r in rows] == [a, b]
    assert log.list(kind="training") == (0, [])
    assert log.list(limit=1, offset=1)[1][0]["id"] == a
    assert log.delete(a) and not log.delete(a) and log.get(a) is None
    with pytest.raises(ValueError, match="cannot sort by 'config'"):
        log.list(sort="config")
    with pytest.raises(ValueError, match="unknown kind"):
        log.list(kind="race")


def test_the_same_run_again_updates_its_row(log):
    first = log.record(entry(created=1.0, wall_seconds=0.5))
    again = log.record(entry(created=2.0, wall_seconds=0.25))
    assert again == first and log.list()[0] == 1
    assert log.get(first)["wall_seconds"] == 0.25 and log.get(first)["created"] == 2.0
    other = log.record(entry(status="done", steps=500))  # same config, another outcome: another run
    assert other != first


def test_oldest_rows_go_past_the_cap(tmp_path):
    log = RunLog(tmp_path / "log.sqlite3", max_rows=3)
    ids = [log.record(entry(seed=i, created=float(i))) for i in range(5)]
    assert sorted(r["id"] for r in log.list()[1]) == ids[2:]
    log.close()


def test_the_log_survives_reopening(tmp_path):
    path = tmp_path / "log.sqlite3"
    log = RunLog(path)
    run_id = log.record(entry())
    log.close()
    again = RunLog(path)
    assert again.get(run_id)["curves"]["loss"]["value"] == [3.0, 2.0, 1.0]
    again.close()


def test_concurrent_writers_lose_nothing(log):
    def write(t):
        for i in range(25):
            log.record(entry(seed=1000 * t + i))
            log.list(limit=5)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total, _ = log.list()
    assert total == 100
    assert sorted(r["seed"] for r in log.rows()) == sorted(1000 * t + i for t in range(4) for i in range(25))
    paged = [r["id"] for r in log.rows(page=7)]  # pages of 7 on one key (created, id): none twice
    assert paged == [r["id"] for r in log.rows()] and len(set(paged)) == 100


def test_export_round_trip(log):
    log.record(entry())
    log.record(entry(kind="training", problem="moons", status="done", final_accuracy=0.9, path=None))
    runs = json.loads(log.export("json"))
    assert runs == list(log.rows())
    assert [r["kind"] for r in json.loads(log.export("json", kind="path"))] == ["path"]
    table = list(csv.DictReader(io.StringIO(log.export("csv"))))
    assert len(table) == 2
    for row, run in zip(table, runs, strict=True):
        assert json.loads(row["config"]) == run["config"]
        for column in HEADLINE:
            value = run[column]
            if value is None:
                assert row[column] == ""
            elif isinstance(value, bool):
                assert row[column] == str(int(value))
            else:
                assert type(value)(row[column]) == value  # floats exactly (repr round-trips)
    with pytest.raises(ValueError, match="unknown export format"):
        log.export("xml")


def test_downsample():
    step = np.arange(10_000)
    picked = downsample(step, step * 2.0, 100)
    assert len(picked["step"]) == 100 and picked["step"][0] == 0 and picked["step"][-1] == 9999
    assert picked["value"] == [2.0 * s for s in picked["step"]]
    means = downsample(step, step.astype(float), 100, mean=True)
    assert means["step"][0] == 99 and means["value"][0] == pytest.approx(49.5)
    assert means["step"][-1] == 9999
    short = downsample([0, 1], [np.inf, 1.0])
    assert short == {"step": [0, 1], "value": [None, 1.0]}


def test_a_race_is_logged_once_it_ends(tmp_path):
    log = RunLog(tmp_path / "log.sqlite3")
    landscape = get_landscape("rosenbrock")
    config = {
        "landscape": "rosenbrock",
        "landscape_params": {},
        "start": None,
        "steps": 3000,
        "seed": 0,
        "racers": [
            {"optimizer": "adam", "hyper": {"lr": 0.05}},
            {"optimizer": "sgd", "hyper": {"lr": 0.1}},  # diverges
        ],
    }
    racers = [
        (get_optimizer(r["optimizer"]), get_optimizer(r["optimizer"]).hyperparameters(**r["hyper"]))
        for r in config["racers"]
    ]
    items = log_entries.logged_race(
        config, race(landscape, racers, landscape.start, 3000), ServerLog(opened=log)
    )
    first = next(items)
    assert log.list() == (0, [])  # nothing before the end
    rest = list(items)
    outcomes = {i: p for i, p in [first, *rest] if isinstance(p, Outcome)}
    _, rows = log.list(sort="optimizer", descending=False)
    adam, sgd = rows
    assert adam["status"] == outcomes[0].status and adam["steps"] == outcomes[0].step
    assert sgd["status"] == "diverged" and sgd["diverged"] is True and sgd["steps_to_target"] is None
    assert adam["race"] == sgd["race"] and adam["race"]
    full = log.get(adam["id"])
    assert full["config"]["racers"] == [config["racers"][0]] and full["config"]["racer"] == 0
    assert len(full["path"]["x"]) == len(full["curves"]["loss"]["step"]) <= runlog.MAX_POINTS
    log.close()


def test_an_abandoned_race_is_not_logged(tmp_path):
    log = RunLog(tmp_path / "log.sqlite3")
    landscape = get_landscape("booth")
    sgd = get_optimizer("sgd")
    config = {"landscape": "booth", "racers": [{"optimizer": "sgd", "hyper": {"lr": 0.01}}]}
    items = log_entries.logged_race(
        config, race(landscape, [(sgd, {"lr": 0.01})], landscape.start, 500), ServerLog(opened=log)
    )
    next(items)
    items.close()
    assert log.list() == (0, [])
    log.close()


def test_a_failure_to_log_never_reaches_the_run(tmp_path, caplog):
    log = RunLog(tmp_path / "log.sqlite3")
    log.close()
    (tmp_path / "log.sqlite3").write_text("not a database")
    broken = RunLog.__new__(RunLog)
    broken.__dict__.update(log.__dict__)
    items = [(0, "not a Steps")]
    config = {"landscape": "booth", "racers": "not a list"}
    server_log = ServerLog(opened=broken)
    assert list(log_entries.logged_race(config, items, server_log)) == items
    assert server_log.safely("a training run", log_entries.record_training, {}, [], [], [], {}) is None
    assert "could not log" in caplog.text


def test_a_training_run_is_logged_with_its_headline(log):
    config = {"dataset": "moons", "optimizer": "adam", "hyper": {}, "seed": 4}
    evals = [
        {"step": 0, "test_accuracy": 0.5},
        {"step": 25, "test_accuracy": 0.9},
        {"step": 50, "test_accuracy": 0.85},
    ]
    summary = {"type": "summary", "status": "done", "steps": 50, "seconds": 0.2, "train_loss": 0.3}
    summary["test_accuracy"] = 0.85
    run = log.get(
        log_entries.record_training(config, np.arange(1, 51), np.linspace(1, 0.3, 50), evals, summary, log)
    )
    assert run["lr"] == 0.001 and run["config"]["hyper"]["b1"] == 0.9  # resolved defaults
    assert (run["final_accuracy"], run["best_accuracy"], run["steps"]) == (0.85, 0.9, 50)
    assert run["curves"]["accuracy"] == {"step": [0, 25, 50], "value": [0.5, 0.9, 0.85]}
    error = {"type": "error", "message": "boom"}
    failed = log.get(log_entries.record_training(config, [], [], [], error, log))
    assert failed["status"] == "error" and failed["results"]["message"] == "boom"


def test_connections_of_ended_threads_are_closed(tmp_path):
    log = runlog.RunLog(tmp_path / "log.sqlite3")
    for _ in range(20):
        thread = threading.Thread(target=log.list)
        thread.start()
        thread.join()
    log.list()
    assert len(log._connections) <= 2, "one per live thread, not one per thread ever"
