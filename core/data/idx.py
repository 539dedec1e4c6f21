"""IDX files, LeCun's format for MNIST: a strict reader for gzip-compressed files and a small writer.

Layout of the uncompressed bytes: two zero bytes, a dtype code (`DTYPES`), the number of dimensions d,
d big-endian uint32 sizes, then the values, big-endian, in C order, and nothing after them.

The files are untrusted input. `read_idx` refuses anything that is not gzip, stops decompressing past
`max_bytes`, and checks the magic number, the dtype code, the dimensions and that the data is exactly
as long as the header says; with `md5` it also checks the MD5 of the uncompressed bytes. Every problem
is an `IdxError` (a ValueError) whose message names the file and what is wrong with it.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib

import numpy as np

DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
CODES = {dtype.newbyteorder("="): code for code, dtype in DTYPES.items()}
MAX_BYTES = 256 * 2**20  # default cap on the uncompressed size; MNIST's largest file is 47 MB


class IdxError(ValueError):
    """A file that is not a well-formed IDX file, or not the expected one."""


def md5_hex(data) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def read_gzip(path: str | os.PathLike, max_bytes: int = MAX_BYTES, source: str | None = None) -> bytes:
    """The uncompressed content of a gzip file, at most `max_bytes` long, or an IdxError.

    Messages name the file as `source` (default: its path).
    """
    source = str(path) if source is None else source
    try:
        with gzip.open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except gzip.BadGzipFile as e:
        raise IdxError(f"{source} is not a valid gzip file ({e})") from None
    except EOFError:
        raise IdxError(f"{source} is truncated: the gzip stream ends early") from None
    except zlib.error as e:
        raise IdxError(f"{source} holds corrupt gzip data ({e})") from None
    if len(data) > max_bytes:
        raise IdxError(f"{source} decompresses to more than {max_bytes} bytes, the most expected")
    return data


def parse_idx(data: bytes, source: str = "IDX data") -> np.ndarray:
    """The array that uncompressed IDX bytes hold, in native byte order.

    For uint8 data the result is a read-only view of `data` (no copy).
    """
    if len(data) < 4:
        raise IdxError(f"{source} is truncated: {len(data)} bytes, an IDX header has at least 4")
    if data[0] or data[1]:
        magic = int.from_bytes(data[:4], "big")
        raise IdxError(f"{source} is not an IDX file: magic number 0x{magic:08X} does not start with 0x0000")
    code, ndim = data[2], data[3]
    if code not in DTYPES:
        valid = ", ".join(f"0x{c:02X}" for c in DTYPES)
        raise IdxError(f"{source} has unknown dtype code 0x{code:02X} (valid: {valid})")
    if ndim == 0:
        raise IdxError(f"{source} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{source} is truncated: {len(data)} bytes, its header alone needs {header}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if 0 in dims:
        raise IdxError(f"{source} declares a dimension of size 0: {dims}")
    dtype = DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    actual = len(data) - header
    if actual < expected:
        raise IdxError(
            f"{source} is truncated: its header declares {dims} {dtype.name} ({expected} bytes of data),"
            f" the file holds {actual}"
        )
    if actual > expected:
        raise IdxError(
            f"{source} has {actual - expected} bytes beyond the {expected} that its header declares {dims}"
        )
    array = np.frombuffer(data, dtype, offset=header).reshape(dims)
    return array if dtype.itemsize == 1 else array.astype(dtype.newbyteorder("="))


def read_idx(
    path: str | os.PathLike, md5: str | None = None, max_bytes: int = MAX_BYTES, source: str | None = None
) -> np.ndarray:
    """The array in a gzip-compressed IDX file; with `md5`, the uncompressed bytes must have that MD5."""
    source = str(path) if source is None else source
    data = read_gzip(path, max_bytes, source)
    array = parse_idx(data, source)
    if md5 is not None and (actual := md5_hex(data)) != md5.lower():
        raise IdxError(
            f"{source} is not the expected file: the MD5 of its uncompressed bytes is {actual},"
            f" expected {md5}"
        )
    return array


def idx_bytes(array) -> bytes:
    """The uncompressed IDX encoding of `array` (dtype one of uint8, int8, int16, int32, float32, float64)."""
    array = np.asarray(array)
    code = CODES.get(array.dtype.newbyteorder("="))
    if code is None or array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"cannot write a {array.ndim}-D {array.dtype} array as IDX")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(DTYPES[code], copy=False).tobytes()


def write_idx(path: str | os.PathLike, array) -> None:
    """Write `array` as a gzip-compressed IDX file (fixtures and exports; `read_idx` reads it back)."""
    with gzip.open(path, "wb") as f:
        f.write(idx_bytes(array))
