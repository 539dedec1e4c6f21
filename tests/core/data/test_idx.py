import gzip
import hashlib
import struct

import numpy as np
import pytest

from core.data.idx import IdxError, idx_bytes, parse_idx, read_gzip, read_idx, write_idx


def _gz(tmp_path, raw: bytes, name="data-idx.gz"):
    path = tmp_path / name
    path.write_bytes(gzip.compress(raw))
    return path


@pytest.mark.parametrize("dtype", ["uint8", "int8", ">i2", "<i2", "int32", "float32", "float64"])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (1, 1, 2, 3)])
def test_round_trip(tmp_path, dtype, shape):
    rng = np.random.default_rng(0)
    array = (rng.uniform(-100, 100, shape) if "f" in dtype else rng.integers(0, 100, shape)).astype(dtype)
    path = tmp_path / "a.gz"
    write_idx(path, array)
    back = read_idx(path)
    assert back.shape == shape and back.dtype == array.dtype.newbyteorder("=")
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_header_layout_is_big_endian_and_documented():
    raw = idx_bytes(np.array([[1, 2, 3], [4, 5, 6]], np.int32))
    assert raw[:4] == bytes([0, 0, 0x0C, 2])
    assert struct.unpack(">2I", raw[4:12]) == (2, 3)
    assert raw[12:16] == (1).to_bytes(4, "big")
    assert len(raw) == 12 + 6 * 4


def test_the_original_mnist_label_header_parses():
    raw = bytes.fromhex("00000801") + (3).to_bytes(4, "big") + bytes([5, 0, 4])
    labels = parse_idx(raw)
    assert labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, [5, 0, 4])


def test_write_refuses_unsupported_arrays(tmp_path):
    for array in (np.zeros(3, np.int64), np.zeros(3, bool), np.float32(1.0)):
        with pytest.raises(ValueError, match="cannot write"):
            idx_bytes(array)


GOOD = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


MALFORMED = {
    "empty": (b"", "truncated: 0 bytes, an IDX header has at least 4"),
    "short-magic": (GOOD[:3], "truncated: 3 bytes"),
    "short-dims": (GOOD[:10], "truncated: 10 bytes, its header alone needs 16"),
    "short-data": (
        GOOD[:-1],
        r"truncated: its header declares \(2, 3, 4\) uint8 \(24 bytes of data\), the file holds 23",
    ),
    "no-data": (GOOD[:16], "the file holds 0"),
    "extra-bytes": (GOOD + b"\x00\x07", r"has 2 bytes beyond the 24 that its header declares \(2, 3, 4\)"),
    "gzip-magic": (b"\x1f\x8b\x08\x00" + GOOD[4:], "not an IDX file: magic number 0x1F8B0800"),
    "bad-magic": (b"\x00\x01" + GOOD[2:], "not an IDX file: magic number 0x00010803"),
    "bad-dtype": (b"\x00\x00\x07\x03" + GOOD[4:], "unknown dtype code 0x07"),
    "zero-ndim": (b"\x00\x00\x08\x00" + GOOD[4:], "declares 0 dimensions"),
    "fewer-dims": (
        b"\x00\x00\x08\x02" + GOOD[4:],
        r"has 22 bytes beyond the 6 that its header declares \(2, 3\)",
    ),
    "more-dims": (b"\x00\x00\x08\x04" + GOOD[4:], r"truncated: its header declares \(2, 3, 4, \d+\)"),
    "zero-size": (GOOD[:4] + struct.pack(">3I", 2, 0, 4) + GOOD[16:], "declares a dimension of size 0"),
    "huge-dims": (GOOD[:4] + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1) + GOOD[16:], "truncated"),
}


@pytest.mark.parametrize(("raw", "message"), list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_data_is_refused_with_a_clear_message(raw, message):
    with pytest.raises(IdxError, match=message):
        parse_idx(raw)


def test_errors_name_the_file(tmp_path):
    path = _gz(tmp_path, GOOD[:-1], "train-images-idx3-ubyte.gz")
    with pytest.raises(IdxError, match=rf"^{tmp_path}/train-images-idx3-ubyte.gz is truncated"):
        read_idx(path)


def test_not_gzip_is_refused(tmp_path):
    path = tmp_path / "raw-idx"
    path.write_bytes(GOOD)
    with pytest.raises(IdxError, match="raw-idx is not a valid gzip file"):
        read_idx(path)


def test_html_page_is_refused(tmp_path):
    path = tmp_path / "page.gz"
    path.write_bytes(b"<html><body>404 Not Found</body></html>")
    with pytest.raises(IdxError, match="not a valid gzip file"):
        read_idx(path)


def test_truncated_gzip_stream_is_refused(tmp_path):
    compressed = gzip.compress(idx_bytes(np.arange(5000, dtype=np.int32)))
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(IdxError, match=r"cut\.gz is truncated: the gzip stream ends early"):
        read_idx(path)


def test_corrupt_gzip_stream_is_refused(tmp_path):
    compressed = bytearray(gzip.compress(idx_bytes(np.arange(5000, dtype=np.int32))))
    compressed[-6] ^= 0xFF  # inside the CRC32 trailer
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(compressed))
    with pytest.raises(IdxError, match=r"crc\.gz is not a valid gzip file"):
        read_idx(path)


def test_decompressing_stops_at_the_limit(tmp_path):
    path = _gz(tmp_path, idx_bytes(np.zeros(10_000, np.uint8)))
    assert len(read_gzip(path, max_bytes=10_008)) == 10_008
    with pytest.raises(IdxError, match="decompresses to more than 10007 bytes"):
        read_idx(path, max_bytes=10_007)


def test_md5_of_the_uncompressed_bytes_is_checked(tmp_path):
    path = _gz(tmp_path, GOOD)
    good = hashlib.md5(GOOD).hexdigest()
    np.testing.assert_array_equal(read_idx(path, md5=good), parse_idx(GOOD))
    read_idx(path, md5=good.upper())
    flipped = bytearray(GOOD)
    flipped[-1] ^= 1
    path = _gz(tmp_path, bytes(flipped), "flipped.gz")
    with pytest.raises(IdxError, match=f"flipped.gz is not the expected file: .* expected {good}"):
        read_idx(path, md5=good)


def test_source_replaces_the_path_in_messages(tmp_path):
    path = _gz(tmp_path, GOOD[:-1])
    with pytest.raises(IdxError, match=r"^the download is truncated"):
        read_idx(path, source="the download")
