"""Reading an uploaded .npz without trusting it.

An .npz is a zip of .npy files, and `np.load` inflates each member as it is read: a 1 MB upload that
inflates to 1 GiB, or one of 100,000 tiny members, held the server for seconds to minutes. Here the
zip's directory and each member's .npy header (shape and dtype) are checked first, against caps on
members, bytes and element types, and only then is any data inflated. Pickles are never loaded.
"""

from __future__ import annotations

import math

import numpy as np

from core.data.uploads import DataError, load_npz

MAX_MEMBERS = 256  # arrays in one file: a network of 8 normalized layers has about 50
MAX_ARRAY_BYTES = 128 * 2**20  # all arrays together, inflated
MAX_TEXT = 2**16  # characters of a text member (a saved configuration or network spec)
TEXT_MEMBERS = ("config", "spec")  # the only members that may hold text
NUMBER_KINDS = {"f": "floating-point", "i": "integer", "u": "unsigned integer", "b": "boolean"}


class UploadError(ValueError):
    """The file is not an .npz this server accepts; the message says why, in one line."""


def read_npz(data: bytes) -> dict[str, np.ndarray]:
    """The named arrays of an .npz: real numbers (finite, if floating-point), plus the text members.
    Read by core.data.uploads.load_npz (the one reader of untrusted .npz files) with this module's
    checks of each member's header."""
    try:
        unreadable = "not a readable .npz file (save one from a run's Download model)"
        arrays = load_npz(data, MAX_ARRAY_BYTES, MAX_MEMBERS, _check, unreadable)
    except DataError as e:
        raise UploadError(str(e)) from None
    for name, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise UploadError(f"the array {name!r} holds NaN or infinite values: only finite weights load")
    return arrays


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
