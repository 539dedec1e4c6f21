"""Users' tables kept on disk under the SHA-256 of their content, the least recently used dropped first.

An entry is one file, `<hash>.npz`, holding x, y and `meta` (the names, as JSON text in a uint8 array).
`table_bytes` writes it the same way every time (members in a fixed order, stored uncompressed, with
fixed timestamps; -0.0 written as 0.0), so its bytes are the canonical serialization of the validated
arrays and its name is their SHA-256: the same data uploaded twice, however it was spelled (spaces,
separator, quotes, line ends, CSV or .npz), is one entry.

- `put` writes a temporary file beside the entry and renames it over the entry (`os.replace`), so a
  reader sees a whole entry or none, even while another process writes the same one. Then, while the
  folder holds more than `max_bytes` of entries, it drops the least recently used, never the one just
  put. An entry larger than `max_bytes` alone is refused.
- `get` reads an entry and checks its bytes against its name; a missing, damaged or unreadable entry is
  None. Reading refreshes the entry's modification time, which orders the eviction.
- A hash is checked against `HASH` before it touches a path.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

from core.data.uploads import DataError, Table, load_npz

HASH = re.compile(r"[0-9a-f]{64}")  # sha256, hexadecimal, lowercase
ENTRY = re.compile(r"[0-9a-f]{64}\.npz")
TEMP = ".partial-"  # a file being written; one left behind by a crash is removed after STALE seconds
STALE = 3600
FORMAT = 1  # of the meta member; another format reads as missing
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say


def table_bytes(table: Table) -> bytes:
    """The canonical .npz of a table: the same arrays and names give the same bytes."""
    meta = {
        "format": FORMAT,
        "features": list(table.feature_names),
        "classes": list(table.class_names),
        "label": table.label_name,
    }
    text = json.dumps(meta, ensure_ascii=True, separators=(",", ":")).encode()
    arrays = {
        "x": table.x.astype("<f8") + 0.0,
        "y": table.y.astype("<f8") + 0.0 if table.regression else table.y.astype("<i8"),
        "meta": np.frombuffer(text, np.uint8),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_TIME)
            info.create_system, info.external_attr = 3, 0o644 << 16  # as on Unix, wherever written
            archive.writestr(info, member.getvalue())
    return out.getvalue()


def table_from_bytes(data: bytes) -> Table:
    """The table `table_bytes` wrote, or a DataError."""
    arrays = load_npz(data, len(data), 3)
    if set(arrays) != {"x", "y", "meta"} or arrays["meta"].dtype != np.uint8:
        raise DataError(f"not a stored table: arrays {sorted(arrays)}")
    try:
        meta = json.loads(arrays["meta"].tobytes())
        if meta["format"] != FORMAT:
            raise DataError(f"a stored table of format {meta['format']}; this version reads {FORMAT}")
        names = tuple(map(str, meta["features"])), tuple(map(str, meta["classes"])), str(meta["label"])
    except (ValueError, KeyError, TypeError):
        raise DataError("not a stored table: its names are unreadable") from None
    return Table(arrays["x"], arrays["y"], *names)


class DataStore:
    """Tables in `folder`, at most `max_bytes` of them (the sum of the entries' sizes), by content hash."""

    def __init__(self, folder: str | os.PathLike, max_bytes: int):
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"max_bytes must be a whole number >= 1, got {max_bytes!r}")
        self.folder = Path(folder)  # made by the first `put`: reading needs none
        self.max_bytes = max_bytes
        self._lock = threading.Lock()  # one writer and evicter at a time in this process

    def _path(self, key: str) -> Path:
        if not isinstance(key, str) or not HASH.fullmatch(key):
            raise DataError(f"{str(key)[:80]!r} is not a data hash; 64 lowercase hexadecimal digits are")
        return self.folder / f"{key}.npz"

    def put(self, table: Table) -> str:
        """Store `table` and return its hash; a DataError if it alone is larger than the store, an
        OSError if the folder cannot be written (nothing is kept then)."""
        data = table_bytes(table)
        if len(data) > self.max_bytes:
            raise DataError(f"the data takes {len(data):,} bytes; the store holds at most {self.max_bytes:,}")
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=TEMP, dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
            self._evict(keep=path.name)
        return key

    def get(self, key: str) -> Table | None:
        """The table stored under `key`, or None if there is none or its file is damaged."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != key:
            return None
        try:
            table = table_from_bytes(data)
        except DataError:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)
        return table

    def has(self, key: str) -> bool:
        """Whether an entry is stored under `key` (without reading it: `get` may still find it damaged)."""
        return self._path(key).is_file()

    def _evict(self, keep: str) -> None:
        entries, now = [], time.time()
        for entry in os.scandir(self.folder):
            try:
                stat = entry.stat()
            except FileNotFoundError:  # dropped meanwhile by another process
                continue
            if ENTRY.fullmatch(entry.name):
                entries.append((stat.st_mtime_ns, entry.name, stat.st_size))
            elif entry.name.startswith(TEMP) and now - stat.st_mtime > STALE:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
        total = sum(size for _, _, size in entries)
        for _, name, size in sorted(entries):  # oldest first
            if total <= self.max_bytes:
                break
            if name != keep:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.folder / name)
                total -= size
