"""Users' own data: 2D points and tables read from CSV or .npz and validated.

Two readers, one result:

- `read_points(data)`: a CSV of points drawn on the playground or uploaded, columns x1, x2 and label
  (header names matched case-insensitively, in any order).
- `read_table(data, filename, label_column)`: a CSV, or an .npz of one 1-D array per column keyed by the
  column's name, all of one length; every column but the label is a numeric feature, in file order.

Both give a `Table`: float64 features and either int64 indices into sorted class names or, with
`regression=True` (for networks trained with MSE), a float64 target.

The bytes are untrusted. Every refusal is one `DataError` (a ValueError) whose message says where
(the line of the file, counted from 1 with the header as line 1, or the row of an .npz, and the
column), what was wrong and what is valid; nothing is kept from a refused file. What is read:

- UTF-8, with or without a byte-order mark; `,` or `;` between fields, whichever the header line
  holds more of; LF, CRLF or CR line ends; quoted fields ("a,b", with "" for a quote); blank lines
  are skipped and spaces around a field are not part of it.
- A header row naming every column: no name empty, none twice (case-insensitively).
- Numbers in plain decimal notation (-1.5, 2e-3, .5), ASCII digits only, within float32's range since
  networks train in float32: empty fields, NaN, infinities, 1_000 and 0x10 are refused.
- Class labels: any text. When every label is a number they are read as numbers ("1", "1.0" and
  "01" are one class, named "1") and ordered by value; otherwise as text, ordered by code point.
  At least two classes.
- Caps (`Limits`): bytes of the file and of an .npz's arrays once inflated (read from the zip's
  directory before anything is inflated), data rows, columns, classes, characters of a name.

`core.data.splits` cuts a Table into train and test.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class Limits:
    """Caps on one file; each refusal names the cap it hit."""

    max_bytes: int = 20 * 2**20  # of the file, and of an .npz's arrays once inflated
    max_rows: int = 100_000  # data rows: the header and blank lines do not count
    max_columns: int = 1_000  # features and the label together
    max_classes: int = 100  # distinct labels of a classification
    max_name: int = 100  # characters of a column name or a class name


LIMITS = Limits()
FLOAT32_MAX = float(np.finfo(np.float32).max)  # networks train in float32: larger numbers overflow
POINTS = ("x1", "x2", "label")
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
NOT_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
VALID_NUMBER = "a finite decimal number such as -1.5, 3 or 2e-3 is valid"
BOM = b"\xef\xbb\xbf"
TYPES = ".csv and .npz"


class DataError(ValueError):
    """Data that cannot be used as it is; the message says where, what is wrong and what is valid."""


@dataclass(frozen=True, eq=False)
class Table:
    """Validated data: x float64 (n, d), its columns named by `feature_names`; then either y int64 (n,)
    of indices into `class_names` (sorted, at least two: a classification) or y float64 (n,) with no
    class names (a regression). `label_name`: the column y came from."""

    x: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    label_name: str

    def __post_init__(self) -> None:
        x, y, d = np.asarray(self.x), np.asarray(self.y), len(self.feature_names)
        if y.ndim != 1 or y.dtype not in (np.int64, np.float64) or len(y) < 1:
            raise DataError(f"y must be int64 or float64 of shape (n,), n >= 1, got {y.dtype} {y.shape}")
        if x.dtype != np.float64 or x.shape != (len(y), d):
            raise DataError(f"x must be float64 of shape ({len(y)}, {d}), got {x.dtype} {x.shape}")
        if not (np.abs(x) <= FLOAT32_MAX).all():
            raise DataError(f"x must hold numbers within ±{FLOAT32_MAX:.4g}")
        if len({name.casefold() for name in self.feature_names}) < d:
            raise DataError(f"feature names must differ, got {self.feature_names}")
        if self.regression:
            if self.class_names or not (np.abs(y) <= FLOAT32_MAX).all():
                raise DataError("a regression has no class names and a finite float32 target")
        elif len(set(self.class_names)) != self.classes or self.classes < 2:
            raise DataError(f"class names must be two or more and differ, got {self.class_names}")
        elif y.min() < 0 or y.max() >= self.classes:
            raise DataError(f"y must lie in [0, {self.classes - 1}]")

    @property
    def regression(self) -> bool:
        return self.y.dtype == np.float64

    @property
    def classes(self) -> int:
        return len(self.class_names)


Where = Callable[[int, str], str]  # (row index from 0, column) -> "line 7, column 'x2'"


def _csv_where(lines: Sequence[int]) -> Where:
    return lambda i, column: f"line {lines[i]}, column {column!r}"


def _npz_where(i: int, column: str) -> str:
    return f"row {i + 1}, column {column!r}"


# --- CSV ------------------------------------------------------------------------------------------


def _decode(data: bytes, limits: Limits) -> str:
    if len(data) > limits.max_bytes:
        raise DataError(f"the file has {len(data):,} bytes; at most {limits.max_bytes:,} are accepted")
    skip = len(BOM) if data.startswith(BOM) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as e:
        offset = skip + e.start
        lines = re.split(rb"\r\n|\r|\n", data[skip:offset])
        head = data[skip:].split(b"\n", 1)[0].decode("utf-8", "replace")
        column = lines[-1].decode("utf-8", "replace").count(_delimiter(head)) + 1
        utf16 = " (it looks like UTF-16)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise DataError(
            f"line {len(lines)}, column {column}: byte 0x{data[offset]:02X} at offset {offset} is not "
            f"UTF-8{utf16}; save the file as UTF-8 text, with or without a byte-order mark"
        ) from None


def _delimiter(text: str) -> str:
    """';' if the first non-blank line holds more semicolons than commas, else ','."""
    header = next((line for line in re.split(r"\r\n|\r|\n", text) if line.strip()), "")
    return ";" if header.count(";") > header.count(",") else ","


def _rows(text: str, limits: Limits) -> list[tuple[int, list[str]]]:
    """(line where the row starts, its fields without surrounding spaces) for each non-blank row: the
    header and at most `limits.max_rows` more."""
    delimiter = _delimiter(text)
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True, strict=True
    )
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for fields in reader:
            if len(fields) > 1 or (fields and fields[0].strip()):
                if len(rows) > limits.max_rows:
                    raise DataError(
                        f"line {line}: more than {limits.max_rows:,} data rows; "
                        f"at most {limits.max_rows:,} are accepted"
                    )
                rows.append((line, [field.strip() for field in fields]))
            line = reader.line_num + 1
    except csv.Error as e:
        raise DataError(
            f"line {line}: not readable as CSV ({e}); fields are separated by {delimiter!r}, and a "
            'quoted field is one whole field in double quotes, with "" for a quote inside'
        ) from None
    return rows


def _header(rows: list[tuple[int, list[str]]], limits: Limits, example: str) -> list[str]:
    if not rows:
        raise DataError(f"the file is empty; a header row (e.g. {example}) and data rows are needed")
    line, names = rows[0]
    if all(NUMBER.fullmatch(name) for name in names):
        raise DataError(f"line {line}: a header row is required (e.g. {example}); this one holds numbers")
    _check_names(names, limits, lambda k: f"line {line}, column {k + 1}")
    if len(rows) == 1:
        raise DataError(f"line {rows[0][0]}: no data rows follow the header")
    return names


def _check_names(names: Sequence[str], limits: Limits, where: Callable[[int], str]) -> None:
    if len(names) > limits.max_columns:
        raise DataError(
            f"{where(limits.max_columns)}: {len(names):,} columns; "
            f"at most {limits.max_columns:,} are accepted"
        )
    seen: dict[str, int] = {}
    for k, name in enumerate(names):
        if not name:
            raise DataError(f"{where(k)}: the column has no name; every column needs one")
        if len(name) > limits.max_name:
            raise DataError(f"{where(k)}: a name of {len(name)} characters; at most {limits.max_name}")
        if name.casefold() in seen:
            first = names[seen[name.casefold()]]
            raise DataError(
                f"{where(k)}: {name!r} repeats column {seen[name.casefold()] + 1} ({first!r}); "
                "column names must differ, ignoring case"
            )
        seen[name.casefold()] = k


class _Csv(NamedTuple):
    header_line: int
    names: list[str]
    columns: list[Sequence[str]]
    where: Where


def _csv_columns(data: bytes, limits: Limits, example: str) -> _Csv:
    """The header's names and each column's fields, checked for shape only, and where each row is."""
    rows = _rows(_decode(data, limits), limits)
    names = _header(rows, limits, example)
    body = rows[1:]
    for line, fields in body:
        if len(fields) > len(names):
            raise DataError(
                f"line {line}, column {len(names) + 1}: {len(fields)} fields, but the header names "
                f"{len(names)} columns; every row has one field per column"
            )
        if len(fields) < len(names):
            raise DataError(
                f"line {line}, column {names[len(fields)]!r}: missing; the row has {len(fields)} fields "
                f"and the header names {len(names)} columns"
            )
    columns: list[Sequence[str]] = list(zip(*(fields for _, fields in body), strict=True))
    return _Csv(rows[0][0], names, columns, _csv_where([line for line, _ in body]))


def _numbers(values: Sequence[str], column: str, where: Where) -> np.ndarray:
    """Decimal text as float64, or a DataError at the first field that is not a finite number."""
    if not all(map(NUMBER.fullmatch, values)):
        i, value = next((i, v) for i, v in enumerate(values) if not NUMBER.fullmatch(v))
        if not value:
            what = "the field is empty"
        elif NOT_FINITE.fullmatch(value):
            what = f"{value!r} is not finite"
        else:
            what = f"{value[:40]!r} is not a number"
        raise DataError(f"{where(i, column)}: {what}; {VALID_NUMBER}")
    return _in_range(np.array(values, dtype=np.float64), column, where, values)


def _in_range(x: np.ndarray, column: str, where: Where, text: Sequence[str] | None = None) -> np.ndarray:
    bad = np.flatnonzero(~(np.abs(x) <= FLOAT32_MAX))
    if bad.size:
        i = int(bad[0])
        shown = repr(text[i][:40]) if text is not None else repr(float(x[i]))
        raise DataError(
            f"{where(i, column)}: {shown} is not finite or beyond ±{FLOAT32_MAX:.4g}; {VALID_NUMBER}"
        )
    return x


# --- labels ---------------------------------------------------------------------------------------


def _number_name(v: float) -> str:
    return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)


def _classes(values: Sequence[str] | np.ndarray, column: str, where: Where, limits: Limits):
    """(int64 indices, sorted class names) of a label column: numbers (an array, or text that is all
    numbers) ordered by value, else text ordered by code point."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biu":
        names, y = np.unique(values.astype(np.int64), return_inverse=True)
        class_names = tuple(str(v) for v in names.tolist())
    elif isinstance(values, np.ndarray):
        numbers = _in_range(values.astype(np.float64), column, where)
        names, y = np.unique(numbers + 0.0, return_inverse=True)  # + 0.0: -0.0 is 0
        class_names = tuple(_number_name(v) for v in names.tolist())
    else:
        text = values
        for i, label in enumerate(text):
            if not label or NOT_FINITE.fullmatch(label):
                what = "the label is empty" if not label else f"{label!r} reads as a missing value"
                raise DataError(f"{where(i, column)}: {what}; a class name or number is valid")
            if len(label) > limits.max_name:
                raise DataError(
                    f"{where(i, column)}: a label of {len(label)} characters; at most {limits.max_name}"
                )
        if all(map(NUMBER.fullmatch, text)):
            return _classes(_numbers(text, column, where), column, where, limits)
        ordered = sorted(set(text))
        index = {name: k for k, name in enumerate(ordered)}
        y, class_names = np.fromiter((index[v] for v in text), np.int64, len(text)), tuple(ordered)
    y = np.asarray(y, np.int64).reshape(-1)
    if len(class_names) > limits.max_classes:
        first = np.sort(np.unique(y, return_index=True)[1])
        raise DataError(
            f"{where(int(first[limits.max_classes]), column)}: label number {limits.max_classes + 1}; "
            f"at most {limits.max_classes} classes are accepted (for a numeric target, ask for a regression)"
        )
    if len(class_names) < 2:
        raise DataError(
            f"column {column!r}: every row has the one class {class_names[0]!r}; "
            "at least two classes are needed (for a numeric target, ask for a regression)"
        )
    return y, class_names


def _floats(values: Sequence[str] | np.ndarray, column: str, where: Where) -> np.ndarray:
    """A column of numbers, or of their text, as float64 (a feature, or a regression's target)."""
    if isinstance(values, np.ndarray):
        return _in_range(values.astype(np.float64), column, where)
    return _numbers(values, column, where)


def _table(x: np.ndarray, features, labels, label: str, regression: bool, where: Where, limits: Limits):
    if regression:
        return Table(x, _floats(labels, label, where), tuple(features), (), label)
    y, class_names = _classes(labels, label, where, limits)
    return Table(x, y, tuple(features), class_names, label)


# --- .npz -----------------------------------------------------------------------------------------

KINDS = "biufU"  # dtype kinds read: booleans, integers, floating-point numbers, text


MemberCheck = Callable[[str, tuple, np.dtype, int], None]  # (name, shape, dtype, bytes stored) -> raise


def load_npz(
    data: bytes,
    max_bytes: int,
    max_arrays: int,
    check: MemberCheck | None = None,
    unreadable: str = "not a readable .npz file; np.savez writes one, an array per column",
) -> dict[str, np.ndarray]:
    """The arrays of an .npz, in file order, after the zip's directory and every array's header (shape
    and dtype) are checked against the caps: nothing is inflated before, no pickle is ever loaded.

    The one .npz reader for untrusted files (tables here, saved models in app/uploads.py). `check`
    takes each member's header in place of the column checks here (what a table's column may be) and
    raises what its caller reports; the archive's own refusals are DataErrors, `unreadable` the one for
    bytes that are no zip archive."""
    if len(data) > max_bytes:
        raise DataError(f"the file has {len(data):,} bytes; at most {max_bytes:,} are accepted")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise DataError(unreadable) from None
    if len(members) > max_arrays:
        raise DataError(f"the .npz holds {len(members):,} arrays; at most {max_arrays:,} are accepted")
    inflated = sum(m.file_size for m in members)
    if inflated > max_bytes:
        raise DataError(f"the .npz inflates to {inflated:,} bytes; at most {max_bytes:,} are accepted")
    names = [m.filename.removesuffix(".npy") for m in members]
    if len(set(names)) < len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise DataError(f"the .npz holds two arrays named {twice!r}; each column once")
    with archive:
        for member, name in zip(members, names, strict=True):
            _check_member(archive, member, name, check or _check_column)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in names}
    except Exception:  # CRC, truncation and zip errors all mean the same here
        raise DataError("the .npz is damaged: an array could not be read whole") from None


def _check_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str, check: MemberCheck) -> None:
    if not member.filename.endswith(".npy") or not name:
        raise DataError(f"the .npz member {member.filename!r} is not an .npy array")
    try:
        with archive.open(member) as f:
            version = np.lib.format.read_magic(f)
            read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            shape, _, dtype = read[version](f)
    except Exception:  # unknown version, bad magic or header, zip errors
        what = f"column {name!r}" if check is _check_column else f"the array {name!r}"
        raise DataError(f"{what}: not a readable .npy array") from None
    check(name, shape, dtype, member.file_size)


def _check_column(name: str, shape: tuple, dtype: np.dtype, stored: int) -> None:
    if dtype.hasobject:
        raise DataError(f"column {name!r}: holds Python objects (a pickle); numbers or text are valid")
    if dtype.kind not in KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise DataError(f"column {name!r}: a {dtype} array; numbers or text are valid")
    if int(np.prod(shape, dtype=np.float64)) * dtype.itemsize > stored:
        raise DataError(f"column {name!r}: its header declares {shape}, more than the bytes stored")


def _npz_columns(
    data: bytes, label: str, limits: Limits
) -> tuple[list[str], list[Sequence[str] | np.ndarray]]:
    """The names and columns of an .npz: numeric arrays, and the label's text as a list of str."""
    arrays = load_npz(data, limits.max_bytes, limits.max_columns)
    names = list(arrays)
    if not names:
        raise DataError("the .npz holds no arrays; one 1-D array per column is read")
    _check_names(names, limits, lambda k: f"column {k + 1}")
    for name, array in arrays.items():
        if array.ndim != 1:
            raise DataError(f"column {name!r}: an array of shape {array.shape}; one 1-D array per column")
        if array.dtype.kind == "U" and name.casefold() != label.casefold():
            raise DataError(f"column {name!r}: text in a feature; features are numbers")
        if len(array) > limits.max_rows:
            raise DataError(
                f"row {limits.max_rows + 1}, column {name!r}: more than {limits.max_rows:,} rows; "
                f"at most {limits.max_rows:,} are accepted"
            )
        if len(array) != len(arrays[names[0]]) or len(array) == 0:
            raise DataError(
                f"column {name!r}: {len(array)} rows, column {names[0]!r} {len(arrays[names[0]])}; "
                "every column has the same number of rows, at least one"
            )
    return names, [[v.strip() for v in a.tolist()] if a.dtype.kind == "U" else a for a in arrays.values()]


# --- readers --------------------------------------------------------------------------------------


def read_points(data: bytes, *, regression: bool = False, limits: Limits = LIMITS) -> Table:
    """2D points from a CSV with columns x1, x2 and label (in any order): classes, or a numeric target
    with `regression`. The feature names are "x1" and "x2", the label's is "label"."""
    example = ",".join(POINTS)
    read = _csv_columns(data, limits, example)
    for k, name in enumerate(read.names):
        if NUMBER.fullmatch(name):
            raise DataError(f"line {read.header_line}: a header row is required (e.g. {example})")
        if name.casefold() not in POINTS:
            raise DataError(
                f"line {read.header_line}, column {k + 1}: {name!r} is not one of {', '.join(POINTS)}"
            )
    found = {name.casefold(): column for name, column in zip(read.names, read.columns, strict=True)}
    missing = next((name for name in POINTS if name not in found), None)
    if missing:
        raise DataError(f"line {read.header_line}: no column {missing!r}; the columns are {example}")
    x = np.column_stack([_numbers(found[name], name, read.where) for name in POINTS[:2]])
    return _table(x, POINTS[:2], found["label"], "label", regression, read.where, limits)


def read_table(
    data: bytes, filename: str, label_column: str, *, regression: bool = False, limits: Limits = LIMITS
) -> Table:
    """A table from a .csv (a header row, then rows) or an .npz (one 1-D array per column, keyed by its
    name): column `label_column` (matched case-insensitively) holds the classes, or with `regression`
    the target; every other column is a feature, in file order."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    columns: Sequence[Sequence[str] | np.ndarray]
    if suffix == ".npz":
        names, columns = _npz_columns(data, label_column, limits)
        where: Where = _npz_where
        header = ""
    elif suffix == ".csv":
        read = _csv_columns(data, limits, f"x1,x2,{label_column}")
        names, columns, where = read.names, read.columns, read.where
        header = f"line {read.header_line}: "
    else:
        raise DataError(f"{filename!r}: a {suffix or 'suffix-less'} file; {TYPES} files are read")
    k = next((k for k, name in enumerate(names) if name.casefold() == label_column.casefold()), None)
    if k is None:
        shown = ", ".join(names[:20]) + (f", … ({len(names)} in all)" if len(names) > 20 else "")
        raise DataError(f"{header}no column {label_column!r}; the label column is one of: {shown}")
    if len(names) < 2:
        raise DataError(f"column {names[k]!r} is the only column; features are needed as well")
    features = [name for j, name in enumerate(names) if j != k]
    x = np.column_stack([_floats(columns[j], names[j], where) for j in range(len(names)) if j != k])
    return _table(x, features, columns[k], names[k], regression, where, limits)
