"""A run log that cannot be used: a damaged file (garbage, a broken page, a row's bytes overwritten) or
a folder that cannot be written. Each is one line naming the file and what to do; the file is never
written; a run is never broken and the problem is logged once. A race is logged whole or not at all."""

import hashlib
import logging
import os
import random
import sqlite3

import numpy as np
import pytest

from app import log_entries, runlog
from app.runlog import RunLog, RunLogError
from core.landscape.paths import Outcome, Steps

N_ROWS = 40


def entry(i):
    return {
        "kind": "path",
        "problem": "booth",
        "optimizer": "sgd",
        "lr": 0.1,
        "status": "done",
        "steps": i,
        "config": {"i": i, "note": f"MARK-{i:04d}-" + "x" * 300},
        "curves": {"loss": {"step": list(range(50)), "value": [float(j) for j in range(50)]}},
    }


def make_log(path):
    log = RunLog(path)
    for i in range(N_ROWS):
        log.record(entry(i))
    log.close()  # the last connection to close folds the write-ahead log into the file
    assert not os.path.exists(f"{path}-wal")


def overwrite(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def last_leaf_page(path) -> int:
    """The runs table's right-most leaf page: the right child named in its (interior) root page."""
    with sqlite3.connect(path) as conn:
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    header = path.read_bytes()[(root - 1) * page_size :]
    assert header[0] == 0x05, "the root has children"
    return int.from_bytes(header[8:12], "big"), page_size


def damage(path, how):
    """Damage a log file as a crash, a bad disk or a stray write would."""
    if how == "garbage":
        path.write_bytes(random.Random(12).randbytes(64 * 1024))
        return
    make_log(path)
    data = path.read_bytes()
    if how == "page":  # a few hundred bytes of garbage over a b-tree page's header and first cells
        page, page_size = last_leaf_page(path)
        overwrite(path, (page - 1) * page_size, random.Random(3).randbytes(300))
    elif how == "utf8":  # a row's text: bytes that are not UTF-8
        overwrite(path, data.index(b"MARK-0007"), b"\xff\xfe\xfd")
    elif how == "json":  # a row's text: still UTF-8, no longer JSON
        overwrite(path, data.index(b'"MARK-0007') - 1, b"#")


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def race_parts() -> Steps:
    """Two steps of a path: enough for a race's log entry."""
    two = np.array([0.0, 1.0])
    return Steps(np.array([0, 1]), two, two, two, two, two, two, two, state={})


@pytest.mark.parametrize("how", ["garbage", "page", "utf8", "json"])
def test_a_damaged_file_is_named_in_one_line_and_never_written(tmp_path, how):
    path = tmp_path / "runlog.sqlite3"
    damage(path, how)
    before = digest(path)
    try:
        log = RunLog(path)
        problem = log.check()
    except RunLogError as error:  # too damaged to open
        log, problem = None, str(error)
    assert problem and "\n" not in problem
    assert f"the run log {path} is damaged" in problem and "Move the file aside" in problem
    if log is not None:
        assert log.problem == problem
        for call in (
            lambda: log.list(),
            lambda: log.get(1),
            lambda: log.delete(1),
            lambda: list(log.rows()),
            lambda: log.export("csv"),
            lambda: log.record(entry(99)),
            lambda: log.record_many([entry(98), entry(97)]),
        ):
            with pytest.raises(RunLogError) as raised:
                call()
            assert str(raised.value) == problem
        assert runlog.ServerLog(path).safely("a race", lambda opened: opened.record(entry(99))) is None
        log.close()
    assert digest(path) == before


def test_damage_found_while_reading_makes_the_log_unusable(tmp_path):
    path = tmp_path / "runlog.sqlite3"
    damage(path, "utf8")
    log = RunLog(path)  # not checked: the damage shows when a row is read
    assert log.get(1)["steps"] == 0  # an intact row still reads
    with pytest.raises(RunLogError, match="is damaged"):
        log.get(8)  # ids start at 1: row 8 has i = 7
    with pytest.raises(RunLogError, match="is damaged"):
        log.get(1)  # from now on nothing is read or written
    with pytest.raises(RunLogError, match="is damaged"):
        log.record(entry(99))
    log.close()


def test_a_healthy_log_checks_clean(tmp_path):
    path = tmp_path / "runlog.sqlite3"
    make_log(path)
    log = RunLog(path)
    assert log.check() is None and log.problem is None
    assert log.list()[0] == N_ROWS and log.record(entry(N_ROWS)) == N_ROWS + 1
    log.close()


def test_a_folder_that_cannot_be_made_is_named(tmp_path):
    (tmp_path / "file").write_text("a file where the folder should be")
    path = tmp_path / "file" / "descent" / "runlog.sqlite3"
    with pytest.raises(RunLogError) as raised:
        RunLog(path)
    problem = str(raised.value)
    assert problem.startswith(f"the run log {path} cannot be written (") and "\n" not in problem
    assert f"Make {path.parent} writable" in problem and "DESCENT_HOME" in problem


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files and folders")
def test_a_read_only_folder_is_named(tmp_path):
    path = tmp_path / "runlog.sqlite3"
    make_log(path)
    before = digest(path)
    path.chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(RunLogError, match=f"the run log {path} cannot be written"):
            RunLog(path)
    finally:
        tmp_path.chmod(0o755)
    assert digest(path) == before


def test_the_server_log_reports_a_problem_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("DESCENT_HOME", str(tmp_path))
    damage(tmp_path / runlog.FILENAME, "garbage")
    caplog.set_level(logging.WARNING, "descent.runlog")
    server_log = runlog.ServerLog()  # in DESCENT_HOME
    problem = server_log.check()
    assert problem and str(tmp_path / runlog.FILENAME) in problem
    config = {"landscape": "booth", "racers": [{"optimizer": "sgd", "hyper": {"lr": 0.1}}]}
    items = [(0, race_parts()), (0, Outcome("done", 1, "done", 0.5, 0))]
    for _ in range(3):
        assert list(log_entries.logged_race(config, items, server_log)) == items  # the race goes on, unlogged
    assert server_log.check() == problem
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [problem], "said once, with no traceback"


def test_a_race_is_logged_whole_or_not_at_all(tmp_path):
    log = RunLog(tmp_path / "runlog.sqlite3")
    with sqlite3.connect(log.path) as conn:  # the second racer's row fails part way through the race
        conn.execute(
            "CREATE TRIGGER fail BEFORE INSERT ON runs WHEN NEW.optimizer = 'adam'"
            " BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
        )
    conn.close()
    config = {
        "landscape": "booth",
        "racers": [{"optimizer": "sgd", "hyper": {"lr": 0.1}}, {"optimizer": "adam", "hyper": {"lr": 0.1}}],
    }
    parts = {0: [race_parts()], 1: [race_parts()]}
    outcomes = {i: Outcome("done", 1, "done", 0.5, 0) for i in (0, 1)}
    with pytest.raises(sqlite3.IntegrityError, match="the disk is full"):
        log_entries.record_race(config, parts, outcomes, {0: 0.1, 1: 0.1}, log)
    assert log.list() == (0, []), "no half race"
    with pytest.raises(sqlite3.IntegrityError):
        log.record_many([entry(1), {**entry(2), "optimizer": "adam"}])
    assert log.list() == (0, [])
    assert len(log.record_many([entry(1), entry(2)])) == 2 and log.list()[0] == 2
    log.close()
