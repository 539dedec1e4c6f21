"""Reading an uploaded .npz without trusting it.

An .npz is a zip of .npy files, and `np.load` inflates each member as it is read: a 1 MB upload that
inflates to 1 GiB, or one of 100,000 tiny members, held the server for seconds to minutes. Here the
zip's directory and each member's .npy header (shape and dtype) are checked first, against caps on
members, bytes and element types, and only then is any data inflated. Pickles are never loaded.
"""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np

MAX_MEMBERS = 256  # arrays in one file: a network of 8 normalized layers has about 50
MAX_ARRAY_BYTES = 128 * 2**20  # all arrays together, inflated
MAX_TEXT = 2**16  # characters of a text member (a saved configuration or network spec)
TEXT_MEMBERS = ("config", "spec")  # the only members that may hold text
NUMBER_KINDS = {"f": "floating-point", "i": "integer", "u": "unsigned integer", "b": "boolean"}


class UploadError(ValueError):
    """The file is not an .npz this server accepts; the message says why, in one line."""


def read_npz(data: bytes) -> dict[str, np.ndarray]:
    """The named arrays of an .npz: real numbers (finite, if floating-point), plus the text members."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UploadError("not a readable .npz file (save one from a run's Download model)") from None
    if len(members) > MAX_MEMBERS:
        raise UploadError(f"the .npz has {len(members):,} arrays; at most {MAX_MEMBERS} are accepted")
    declared = sum(m.file_size for m in members)
    if declared > MAX_ARRAY_BYTES:
        raise UploadError(
            f"the .npz inflates to {declared:,} bytes; at most {MAX_ARRAY_BYTES:,} are accepted"
        )
    with archive:
        return {name: array for name, array in (_member(archive, m) for m in members)}


def _member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> tuple[str, np.ndarray]:
    name = member.filename.removesuffix(".npy")
    if not member.filename.endswith(".npy") or not name:
        raise UploadError(f"the .npz member {member.filename!r} is not an .npy array")
    try:
        with archive.open(member) as f:
            version = np.lib.format.read_magic(f)
            shape, _, dtype = _header(f, version)
            _check(name, shape, dtype, member.file_size)
        with archive.open(member) as f:
            array = np.lib.format.read_array(f, allow_pickle=False)
    except UploadError:
        raise
    except Exception:  # zip, CRC, header and truncation errors all mean the same here
        raise UploadError(f"the .npz member {name!r} is not a readable array") from None
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise UploadError(f"the array {name!r} holds NaN or infinite values: only finite weights load")
    return name, array


def _header(f, version) -> tuple[tuple, bool, np.dtype]:
    """(shape, Fortran order, dtype) from an .npy header, without reading any data."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in readers:
        raise UploadError(f"an .npy member has format version {version}; 1.0 and 2.0 are read")
    return readers[version](f)


def _check(name: str, shape: tuple, dtype: np.dtype, stored: int) -> None:
    """Refuse what no model holds (objects, complex numbers, records, text outside the text members)
    and any array larger than the bytes stored for it, before anything is read."""
    text = dtype.kind == "U" and name in TEXT_MEMBERS
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise UploadError(f"the array {name!r} has a {dtype} dtype: only plain numbers are accepted")
    if not text and dtype.kind not in NUMBER_KINDS:
        kinds = ", ".join(NUMBER_KINDS.values())
        raise UploadError(f"the array {name!r} holds {dtype} values; accepted: {kinds}")
    elements = math.prod(shape)
    if text and (shape != () or dtype.itemsize // 4 > MAX_TEXT):
        raise UploadError(f"the text {name!r} must be one string of at most {MAX_TEXT:,} characters")
    if elements * dtype.itemsize > stored:
        raise UploadError(f"the array {name!r} declares {shape} but holds only {stored:,} bytes")
