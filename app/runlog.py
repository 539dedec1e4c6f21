"""The run log: every path race and training run, with its configuration and headline results, in an
embedded SQLite database that outlives the server.

    log = RunLog()                                   # $DESCENT_HOME/runlog.sqlite3 (see `home`)
    log.record(entry)                                # a dict: kind, problem, optimizer, ..., config
    total, rows = log.list(kind="path", sort="final_loss", descending=False, limit=50)
    log.get(run_id)                                  # the headline, config, curves and path
    log.export("csv")                                # or "json": everything, curves included

One row per run (for a race: one row per racer, linked by `race`). Curves and paths are kept
downsampled to at most `MAX_POINTS` points (`app.log_entries` builds the entries from runs). Running
the same thing again (same configuration, same outcome) updates its row instead of adding one; past
`MAX_ROWS` the oldest rows are dropped.

Threads share a `RunLog`: each has its own connection, the database is in WAL mode, and writers wait
for each other (busy timeout). The server's `ServerLog` (app.state.log) opens it on first use and
records through it without ever raising: a failure to log is reported through `logging` and the run
goes on.

A file that is damaged, cannot be written or comes from a newer Descent makes every call raise
`RunLogError`, whose message is one line naming the file and what to do. `check()` reads the whole
file (at startup, and before the first write): a damaged file is never written to, let alone repaired.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from app import settings

FILENAME = "runlog.sqlite3"
MAX_POINTS = 2000  # points kept of a loss curve (and of a path)
MAX_ROWS = 5000  # runs kept; the oldest go first
KINDS = ("path", "training")

# Columns a list can be sorted by; `created` first. The rest of a row (config, curves, path) is JSON.
HEADLINE = (
    "id",
    "created",
    "kind",
    "problem",
    "optimizer",
    "lr",
    "seed",
    "status",
    "diverged",
    "steps",
    "steps_to_target",
    "final_loss",
    "final_accuracy",
    "best_accuracy",
    "wall_seconds",
    "race",
)
JSON_COLUMNS = ("config", "results", "curves", "path")
# What makes two entries the same run (the same run again updates its row; wall time may differ).
IDENTITY = ("kind", "config", "problem", "optimizer", "lr", "seed", "status", "steps")

log = logging.getLogger("descent.runlog")


def home() -> Path:
    """Where Descent keeps its own data: $DESCENT_HOME, else $XDG_DATA_HOME/descent, else
    ~/.local/share/descent."""
    if given := settings.HOME.read():
        return Path(given).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share") / "descent"


# --- schema --------------------------------------------------------------------------------------------

# Migration i takes the database from version i to i + 1. Add new ones at the end; never edit one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created REAL NOT NULL,
        kind TEXT NOT NULL,
        fingerprint TEXT NOT NULL UNIQUE,
        problem TEXT NOT NULL,
        optimizer TEXT NOT NULL,
        lr REAL,
        seed INTEGER,
        status TEXT NOT NULL,
        diverged INTEGER NOT NULL,
        steps INTEGER,
        steps_to_target INTEGER,
        final_loss REAL,
        final_accuracy REAL,
        best_accuracy REAL,
        wall_seconds REAL,
        race TEXT,
        config TEXT NOT NULL,
        results TEXT NOT NULL,
        curves TEXT NOT NULL,
        path TEXT
    );
    CREATE INDEX runs_created ON runs (created);
    CREATE INDEX runs_kind ON runs (kind, created);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


class RunLogError(Exception):
    """The run log cannot be used; the message is one line naming its file and what to do."""


class NewerSchemaError(RunLogError):
    """The database was written by a newer version of Descent."""

    def __init__(self, version: int):
        super().__init__(
            f"the run log is at schema version {version}; this Descent knows up to {SCHEMA_VERSION}"
        )
        self.version = version


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database up to SCHEMA_VERSION, one migration at a time; returns the version."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    with conn:
        conn.execute("BEGIN IMMEDIATE")  # one migrating connection at a time
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        version = row[0] if row else 0
        if row is None:
            conn.execute("INSERT INTO schema_version VALUES (0)")
        if version > SCHEMA_VERSION:
            raise NewerSchemaError(version)
        for i in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[i].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("UPDATE schema_version SET version = ?", (i + 1,))
    return SCHEMA_VERSION


# --- the log ------------------------------------------------------------------------------------------


def _close_all(connections: dict) -> None:
    for conn in list(connections.values()):
        conn.close()


class RunLog:
    """The run log in the SQLite file `path` (default: home()/runlog.sqlite3), created on first use."""

    def __init__(self, path: Path | str | None = None, max_rows: int = MAX_ROWS):
        self.path = Path(path) if path is not None else home() / FILENAME
        self.max_rows = max_rows
        self.problem: str | None = None  # set once the file is found damaged: it is not touched again
        self._checked = False
        self._local = threading.local()
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._connections)  # a log let go of closes its connections
        with self._usable():  # create and migrate now, so errors show at startup
            pass

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            try:
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                migrate(conn)
            except BaseException:
                conn.close()
                raise
            self._local.conn = conn
            with self._lock:  # close the connections of threads that have ended: they add up
                for thread in [t for t in self._connections if not t.is_alive()]:
                    self._connections.pop(thread).close()
                self._connections[threading.current_thread()] = conn
        return conn

    @contextmanager
    def _usable(self) -> Iterator[sqlite3.Connection]:
        """The calling thread's connection. An error that makes the file unusable becomes a RunLogError
        naming the file and what to do; a damaged file stays unusable (until the server restarts)."""
        if self.problem:
            raise RunLogError(self.problem)
        try:
            yield self._conn()
        except (sqlite3.Error, OSError, ValueError, RunLogError) as error:
            if damage := _damage(error):
                self.problem = _damaged(self.path, damage)
                raise RunLogError(self.problem) from error
            if problem := _unusable(self.path, error):
                raise RunLogError(problem) from error
            raise

    def check(self) -> str | None:
        """Read the whole file, never writing it: every page (PRAGMA quick_check), then every row's
        text and JSON. None if the log is usable, else the one-line problem (see RunLogError).
        About 0.2 s per 100 MB; a full log (MAX_ROWS races) is about 350 MB."""
        try:
            with self._usable() as conn:
                (report,) = conn.execute("PRAGMA quick_check(1)").fetchone()
                damage = _report_damage(report) or _rows_damage(conn)
            if damage:
                self.problem = _damaged(self.path, damage)
        except RunLogError as error:
            return str(error)
        finally:
            self._checked = True
        return self.problem

    def check_once(self) -> None:
        """`check` the file unless that was done already: before this log's first read or write."""
        if not self._checked:
            self.check()

    @property
    def version(self) -> int:
        with self._usable() as conn:
            return conn.execute("SELECT version FROM schema_version").fetchone()[0]

    def close(self) -> None:
        """Close every thread's connection (the log reopens on the next call from a thread)."""
        with self._lock:
            connections = list(self._connections.values())
            self._connections.clear()
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def record(self, entry: Mapping) -> int:
        """Add a run (see `_row` for the fields); the same run again updates its row. Returns its id."""
        return self.record_many([entry])[0]

    def record_many(self, entries: Iterable[Mapping]) -> list[int]:
        """Add runs (a race's racers) in one transaction: all of them or, on any failure, none.
        Returns their ids. The file is checked once before its first write."""
        rows = [_row(entry) for entry in entries]
        if not rows:
            return []
        self.check_once()
        columns = [c for c in rows[0] if c != "id"]
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "fingerprint")
        sql = (
            f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            f" ON CONFLICT(fingerprint) DO UPDATE SET {updates} RETURNING id"
        )
        with self._usable() as conn, conn:
            conn.execute("BEGIN IMMEDIATE")
            ids = [conn.execute(sql, [row[c] for c in columns]).fetchone()[0] for row in rows]
            (count,) = conn.execute("SELECT COUNT(*) FROM runs").fetchone()
            if count > self.max_rows:
                conn.execute(
                    "DELETE FROM runs WHERE id IN (SELECT id FROM runs ORDER BY created, id LIMIT ?)",
                    (count - self.max_rows,),
                )
        return ids

    def list(
        self,
        kind: str | None = None,
        sort: str = "created",
        descending: bool = True,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[dict]]:
        """(how many runs match, one page of their headlines and configurations), sorted by a
        HEADLINE column (empty values last), then newest first."""
        if sort not in HEADLINE:
            raise ValueError(f"cannot sort by {sort!r}; valid: {', '.join(HEADLINE)}")
        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
        where, args = ("WHERE kind = ?", [kind]) if kind else ("", [])
        direction = "DESC" if descending else "ASC"
        with self._usable() as conn:
            (total,) = conn.execute(f"SELECT COUNT(*) FROM runs {where}", args).fetchone()
            rows = conn.execute(
                f"SELECT {', '.join(HEADLINE)}, config FROM runs {where}"
                f" ORDER BY {sort} IS NULL, {sort} {direction}, id DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
            return total, [{**_head(r), "config": json.loads(r["config"])} for r in rows]

    def get(self, run_id: int) -> dict | None:
        """Everything about one run: the headline, config, results, curves and path; None if absent."""
        with self._usable() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            return None if row is None else _full(row)

    def delete(self, run_id: int) -> bool:
        with self._usable() as conn, conn:
            return conn.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0

    def rows(self, kind: str | None = None, page: int = 100) -> Iterator[dict]:
        """Every run, full, newest first; read `page` rows at a time, each page on the calling thread's
        own connection (a response streamed from a thread pool may resume on another thread)."""
        where = "kind = ? AND " if kind else ""
        key = (math.inf, 0)
        while True:
            with self._usable() as conn:
                batch = conn.execute(
                    f"SELECT * FROM runs WHERE {where}(created < ? OR (created = ? AND id < ?))"
                    " ORDER BY created DESC, id DESC LIMIT ?",
                    [*([kind] if kind else []), key[0], key[0], key[1] or 2**63 - 1, page],
                ).fetchall()
                runs = [_full(row) for row in batch]
            yield from runs
            if len(batch) < page:
                return
            key = (batch[-1]["created"], batch[-1]["id"])

    def export_chunks(self, fmt: str = "json", kind: str | None = None) -> Iterator[str]:
        """The export as pieces of text (see `export`), for a streamed response."""
        if fmt == "json":
            yield "["
            for i, run in enumerate(self.rows(kind)):
                yield ("," if i else "") + json.dumps(run, separators=(",", ":"))
            yield "]"
        elif fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow([*HEADLINE, "config"])
            for i, run in enumerate(self.rows(kind), 1):
                writer.writerow(
                    [_cell(run[c]) for c in HEADLINE] + [json.dumps(run["config"], sort_keys=True)]
                )
                if i % 100 == 0:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
            yield out.getvalue()
        else:
            raise ValueError(f"unknown export format {fmt!r}; valid: csv, json")

    def export(self, fmt: str = "json", kind: str | None = None) -> str:
        """JSON: a list of full runs (what `get` returns), newest first. CSV: one row per run, the
        headline columns and the configuration as JSON text (curves and paths only in JSON)."""
        if fmt not in ("csv", "json"):
            raise ValueError(f"unknown export format {fmt!r}; valid: csv, json")
        return "".join(self.export_chunks(fmt, kind))


# --- what makes a log unusable --------------------------------------------------------------------------

_DAMAGED_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
_UNWRITABLE_CODES = (
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PERM,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,
)


def _primary_code(error: Exception) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _damage(error: Exception) -> str | None:
    """What `error` says is wrong with the file's contents, if anything."""
    if isinstance(error, json.JSONDecodeError):
        return "a row is not valid JSON"
    if isinstance(error, sqlite3.OperationalError) and str(error).startswith("Could not decode"):
        return "a row's text is not UTF-8"
    return str(error) if _primary_code(error) in _DAMAGED_CODES else None


def _damaged(path: Path, damage: str) -> str:
    return (
        f"the run log {path} is damaged ({damage}); runs are not being logged. Move the file aside "
        "(or delete it) and restart Descent to start a new log; Descent will not write to it."
    )


def _unusable(path: Path, error: Exception) -> str | None:
    """The one-line problem when `error` says the log cannot be opened or written; else None (e.g. a
    lock held too long: the next call may succeed)."""
    if isinstance(error, NewerSchemaError):
        return (
            f"the run log {path} is at schema version {error.version}, newer than this Descent knows "
            f"({SCHEMA_VERSION}); runs are not being logged. Upgrade Descent, or set {settings.HOME.name} to "
            "another folder."
        )
    if isinstance(error, OSError) or _primary_code(error) in _UNWRITABLE_CODES:
        return (
            f"the run log {path} cannot be written ({error}); runs are not being logged. Make "
            f"{path.parent} writable (with space to spare), or set {settings.HOME.name} to another folder."
        )
    return None


def _report_damage(report: str) -> str | None:
    """The first line of a PRAGMA quick_check report that names a fault; None for "ok"."""
    if report == "ok":
        return None
    faults = [line for line in report.splitlines() if line and not line.startswith("***")]
    return f"quick_check: {faults[0] if faults else report}"


def _rows_damage(conn: sqlite3.Connection) -> str | None:
    """Read every row's text (Python decodes it) and let SQLite validate its JSON columns."""
    valid = " AND ".join(f"({c} IS NULL OR json_valid({c}))" for c in JSON_COLUMNS)
    for run_id, ok, *_ in conn.execute(f"SELECT id, {valid}, * FROM runs"):
        if not ok:
            return f"run {run_id} is not valid JSON"
    return None


def _cell(value) -> str:
    """CSV text: empty for None, 0/1 for a flag, floats exactly (repr round-trips)."""
    if value is None:
        return ""
    return (
        str(int(value))
        if isinstance(value, bool)
        else repr(value)
        if isinstance(value, float)
        else str(value)
    )


def _head(row: sqlite3.Row) -> dict:
    run = {c: row[c] for c in HEADLINE}
    run["diverged"] = bool(run["diverged"])
    return run


def _full(row: sqlite3.Row) -> dict:
    run = _head(row)
    for c in JSON_COLUMNS:
        run[c] = None if row[c] is None else json.loads(row[c])
    return run


def finite(x) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False)


def _row(entry: Mapping) -> dict:
    """The database row of an entry: kind, problem, optimizer, status and config are required; lr,
    seed, steps, steps_to_target, final_loss, final_accuracy, best_accuracy, wall_seconds, race,
    results, curves and path are optional. Non-finite numbers are stored as empty."""
    if entry["kind"] not in KINDS:
        raise ValueError(f"unknown kind {entry['kind']!r}; valid: {', '.join(KINDS)}")
    results = entry.get("results") or {}
    fingerprint = hashlib.sha256(
        _json([entry[k] if k in ("kind", "config", "status") else entry.get(k) for k in IDENTITY]).encode()
    ).hexdigest()
    return {
        "created": entry.get("created", time.time()),
        "kind": entry["kind"],
        "fingerprint": fingerprint,
        "problem": entry["problem"],
        "optimizer": entry["optimizer"],
        "lr": finite(entry.get("lr")),
        "seed": entry.get("seed"),
        "status": entry["status"],
        "diverged": int(entry["status"] == "diverged"),
        "steps": entry.get("steps"),
        "steps_to_target": entry.get("steps_to_target"),
        "final_loss": finite(entry.get("final_loss")),
        "final_accuracy": finite(entry.get("final_accuracy")),
        "best_accuracy": finite(entry.get("best_accuracy")),
        "wall_seconds": finite(entry.get("wall_seconds")),
        "race": entry.get("race"),
        "config": _json(entry["config"]),
        "results": _json(results),
        "curves": _json(entry.get("curves") or {}),
        "path": None if entry.get("path") is None else _json(entry["path"]),
    }


# --- the server's log ---------------------------------------------------------------------------------


class ServerLog:
    """The server's run log (on app.state.log): the file at `path`, by default in home(), opened on
    first use; an open that fails is tried again on the next use. A problem with it is logged once,
    as a warning, never once per run."""

    def __init__(self, path: Path | None = None, opened: RunLog | None = None):
        """`opened`: a log already open (at `path`) to use."""
        self.path = opened.path if opened else path or home() / FILENAME
        self._log: RunLog | None = opened
        self._lock = threading.Lock()
        self._reported: set[str] = set()

    def get(self) -> RunLog:
        """The open log; RunLogError if it cannot be opened."""
        with self._lock:
            if self._log is None:
                self._log = RunLog(self.path)
            return self._log

    def check(self) -> str | None:
        """Check the file for the server's startup (see RunLog.check; this reads the whole file): None
        if it is usable, else the one-line problem, which is also logged as a warning."""
        try:
            problem = self.get().check()
        except RunLogError as error:
            problem = str(error)
        if problem:
            self._report(problem)
        return problem

    def safely(self, what: str, record: Callable, *args):
        """record(*args, the log), or None with the error logged: the run log never breaks a run."""
        try:
            return record(*args, self.get())
        except RunLogError as error:
            self._report(str(error))
            return None
        except Exception:
            log.exception("could not log %s", what)
            return None

    def _report(self, problem: str) -> None:
        with self._lock:
            if problem in self._reported:
                return
            self._reported.add(problem)
        log.warning("%s", problem)
