import hashlib
import io
import os
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.data.store import TEMP, DataStore, table_bytes
from core.data.uploads import DataError, Table, read_points, read_table

POINTS = b"x1,x2,label\n0.5,-1,a\n2,0.3,b\n-0.5,4,a\n"


def points(k: int) -> Table:
    """Tables of the same shape and names, so their entries have the same size."""
    return read_points(b"x1,x2,label\n%d,0,a\n1,2,b\n" % k)


def entries(store: DataStore) -> list[str]:
    return sorted(os.listdir(store.folder))


def age(store: DataStore, key: str, seconds: float) -> None:
    """Set an entry's modification time (what the eviction orders by) to `seconds` since the epoch."""
    os.utime(store.folder / f"{key}.npz", (seconds, seconds))


def test_the_same_data_however_spelled_gets_the_same_hash(tmp_path):
    store = DataStore(tmp_path, 10**6)
    key = store.put(read_points(POINTS))
    spelled = b'\xef\xbb\xbf X2 ; x1 ; Label \r\n-1;0.50;"a"\r\n\r\n3e-1;2.0;b\r\n4;-.5;a'
    assert store.put(read_points(spelled)) == key
    out = io.BytesIO()
    np.savez(out, x1=np.array([0.5, 2, -0.5]), x2=np.array([-1, 0.3, 4]), label=np.array(["a", "b", "a"]))
    assert store.put(read_table(out.getvalue(), "points.npz", "label")) == key
    assert entries(store) == [f"{key}.npz"]
    assert key == hashlib.sha256(table_bytes(read_points(POINTS))).hexdigest()
    assert store.put(read_points(POINTS.replace(b"0.5,-1", b"0.5,-2"))) != key


def test_a_stored_table_comes_back_as_it_went_in(tmp_path):
    store = DataStore(tmp_path / "new" / "folder", 10**6)
    for table in (
        read_points(POINTS),
        read_points(b"x1,x2,label\n1,2,1.5\n3,-0,-2\n", regression=True),
        read_table(b"f,\xc3\xa9t\xc3\xa9,y\n1,2,\xe2\x9c\x93\n3,4,\xe2\x9c\x97\n", "t.csv", "y"),
    ):
        key = store.put(table)
        assert store.has(key)
        back = store.get(key)
        assert back is not None
        np.testing.assert_array_equal(back.x, table.x)
        np.testing.assert_array_equal(back.y, table.y)
        assert back.y.dtype == table.y.dtype and back.x.dtype == np.float64
        assert (back.feature_names, back.class_names, back.label_name) == (
            table.feature_names,
            table.class_names,
            table.label_name,
        )


def test_an_absent_hash_is_missing(tmp_path):
    store = DataStore(tmp_path, 10**6)
    assert store.get("0" * 64) is None and not store.has("0" * 64)


BAD_HASHES = [
    "",
    "../" + "a" * 61,
    "A" * 64,
    "a" * 63,
    "a" * 65,
    "a" * 64 + "\n",
    "g" * 64,
    "a" * 62 + "/x",
    7,
    None,
]


@pytest.mark.parametrize("key", BAD_HASHES, ids=repr)
def test_a_bad_hash_is_refused_before_it_touches_a_path(tmp_path, key):
    store = DataStore(tmp_path / "store", 10**6)
    (tmp_path / f"{'a' * 61}.npz").write_bytes(table_bytes(read_points(POINTS)))  # what "../aaa…" names
    for call in (store.get, store.has):
        with pytest.raises(DataError, match="is not a data hash; 64 lowercase hexadecimal digits are"):
            call(key)


def test_eviction_drops_the_least_recently_used(tmp_path):
    size = len(table_bytes(points(0)))
    store = DataStore(tmp_path, 3 * size)
    a, b, c = (store.put(points(k)) for k in range(3))
    age(store, a, 1000)
    age(store, b, 2000)
    age(store, c, 3000)
    assert store.get(a) is not None  # a is now the most recently used
    assert os.stat(store.folder / f"{a}.npz").st_mtime > 3000
    d = store.put(points(3))
    assert [store.has(key) for key in (a, b, c, d)] == [True, False, True, True]
    age(store, d, 500)
    assert store.has(d)  # `has` reads nothing and refreshes nothing ...
    e = store.put(points(4))
    assert [store.has(key) for key in (a, c, d, e)] == [True, True, False, True]  # ... so d went next
    assert len(entries(store)) == 3


def test_the_entry_just_put_is_never_dropped(tmp_path):
    size = len(table_bytes(points(0)))
    store = DataStore(tmp_path, size)
    a = store.put(points(0))
    age(store, a, time.time() + 10**6)  # a clock that jumped: the others look newer than the new one
    b = store.put(points(1))
    assert entries(store) == [f"{b}.npz"]


def test_a_table_larger_than_the_store_is_refused_and_nothing_is_written(tmp_path):
    table = points(0)
    store = DataStore(tmp_path, len(table_bytes(table)) - 1)
    with pytest.raises(DataError, match=r"^the data takes \d+ bytes; the store holds at most \d+"):
        store.put(table)
    assert entries(store) == []


def test_writes_leave_no_partial_files_and_stale_ones_are_swept(tmp_path):
    store = DataStore(tmp_path, 10**6)
    stale, fresh = tmp_path / f"{TEMP}stale", tmp_path / f"{TEMP}fresh"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    os.utime(stale, (1000, 1000))
    key = store.put(read_points(POINTS))
    assert entries(store) == sorted([f"{key}.npz", fresh.name])


def test_the_store_checks_its_size(tmp_path):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_bytes must be a whole number >= 1"):
            DataStore(tmp_path / "unused", bad)


def damage(data: bytes) -> dict[str, bytes]:
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    return {
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "a flipped bit": bytes(flipped),
        "garbage": b"not an npz at all",
        "another entry": table_bytes(points(9)),
    }


@pytest.mark.parametrize("kind", list(damage(b"0123")))
def test_a_damaged_file_reads_as_missing(tmp_path, kind):
    store = DataStore(tmp_path, 10**6)
    key = store.put(read_points(POINTS))
    path = store.folder / f"{key}.npz"
    path.write_bytes(damage(path.read_bytes())[kind])
    assert store.has(key) and store.get(key) is None
    assert store.put(read_points(POINTS)) == key and store.get(key) is not None  # a new put heals it


def test_a_directory_in_place_of_an_entry_reads_as_missing(tmp_path):
    store = DataStore(tmp_path, 10**6)
    (store.folder / f"{'b' * 64}.npz").mkdir()
    assert store.get("b" * 64) is None


def stored(members: dict[str, np.ndarray]) -> bytes:
    out = io.BytesIO()
    np.savez(out, **members)
    return out.getvalue()


GOOD = table_bytes(read_points(POINTS))
UNREADABLE = {
    "pickled": stored({"x": np.array([1, "a"], object)}),
    "extra array": stored(
        {"x": np.zeros((3, 2)), "y": np.zeros(3, np.int64), "meta": np.zeros(2, np.uint8), "z": np.zeros(1)}
    ),
    "bad meta": stored(
        {"x": np.zeros((3, 2)), "y": np.zeros(3, np.int64), "meta": np.frombuffer(b"{nope", np.uint8)}
    ),
    "other format": stored(
        {"x": np.zeros((3, 2)), "y": np.array([0, 1, 0]), "meta": np.frombuffer(b'{"format":2}', np.uint8)}
    ),
    "text x": stored(
        {
            "x": np.array([["a", "b"]] * 3),
            "y": np.array([0, 1, 0]),
            "meta": np.frombuffer(
                b'{"format":1,"features":["a","b"],"classes":["a","b"],"label":"l"}', np.uint8
            ),
        }
    ),
    "scalar y": stored(
        {
            "x": np.zeros((3, 2)),
            "y": np.int64(0),
            "meta": np.frombuffer(
                b'{"format":1,"features":["a","b"],"classes":["a","b"],"label":"l"}', np.uint8
            ),
        }
    ),
    "inconsistent": stored(
        {
            "x": np.zeros((3, 2)),
            "y": np.array([0, 1, 5]),
            "meta": np.frombuffer(
                b'{"format":1,"features":["a","b"],"classes":["a","b"],"label":"l"}', np.uint8
            ),
        }
    ),
}


@pytest.mark.parametrize("data", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_a_file_with_the_right_hash_but_not_a_table_reads_as_missing(tmp_path, data):
    store = DataStore(tmp_path, 10**6)
    key = hashlib.sha256(data).hexdigest()
    (store.folder / f"{key}.npz").write_bytes(data)
    assert store.has(key) and store.get(key) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.sampled_from(list(damage(GOOD).values())))
def test_any_file_under_its_own_hash_reads_as_a_table_or_missing(tmp_path_factory, data):
    store = DataStore(tmp_path_factory.mktemp("store"), 10**6)
    key = hashlib.sha256(data).hexdigest()
    (store.folder / f"{key}.npz").write_bytes(data)
    assert store.get(key) is None or isinstance(store.get(key), Table)
