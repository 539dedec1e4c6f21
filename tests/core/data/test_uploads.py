import io
import re
import struct
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.data.store import table_bytes
from core.data.uploads import (
    DataError,
    Limits,
    Table,
    read_points,
    read_table,
)

POINTS = b"x1,x2,label\n0.5,-1,a\n2,3e-1,b\n-.5,4.,a\n"


def npz(**arrays) -> bytes:
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def zipped(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", compression) as archive:
        warnings.simplefilter("ignore")  # a duplicate name, on purpose
        for name, data in members.items():
            archive.writestr(name.split("#")[0], data)  # "x1#2": a second member named x1
    return out.getvalue()


def npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, array, allow_pickle=True)
    return out.getvalue()


def lying_npy(shape: tuple, data: bytes) -> bytes:
    """An .npy whose header declares `shape` float64 but whose data is `data`."""
    header = repr({"descr": "<f8", "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def read(reader: str, data: bytes, **kwargs) -> Table:
    if reader == "points":
        return read_points(data, **kwargs)
    return read_table(data, "data.csv", "label", **kwargs)


# --- what is read ---------------------------------------------------------------------------------

SPELLINGS = {
    "plain": POINTS,
    "bom": b"\xef\xbb\xbf" + POINTS,
    "semicolons": POINTS.replace(b",", b";"),
    "crlf": POINTS.replace(b"\n", b"\r\n"),
    "cr": POINTS.replace(b"\n", b"\r"),
    "quoted": b'"x1","x2","label"\n"0.5",-1,"a"\n2,"3e-1",b\n-.5,4.,"a"',
    "spaces": b" x1 , x2,label \n\n 0.5, -1 ,a\n  2,3e-1 , b\n\n-.5,4.,  a  \n\n",
    "long form": b"x1;x2;label\r\n+0.50;-1.0;a\r\n2.0;0.3;b\r\n-0.5;4;a\r\n",
    "upper case": POINTS.replace(b"x1,x2,label", b"X1,X2,Label"),
}


@pytest.mark.parametrize("reader", ["points", "table"])
@pytest.mark.parametrize("data", list(SPELLINGS.values()), ids=list(SPELLINGS))
def test_every_spelling_reads_as_the_same_table(reader, data):
    table = read(reader, data)
    np.testing.assert_array_equal(table.x, [[0.5, -1], [2, 0.3], [-0.5, 4]])
    assert table.x.dtype == np.float64 and table.y.dtype == np.int64
    np.testing.assert_array_equal(table.y, [0, 1, 0])
    assert table.class_names == ("a", "b") and table.classes == 2 and not table.regression
    assert table.feature_names == (("x1", "x2") if reader == "points" else tuple(data_names(data)[:2]))
    if reader == "points":
        assert table_bytes(table) == table_bytes(read_points(POINTS))


def data_names(data: bytes) -> list[str]:
    first = data.lstrip(b"\xef\xbb\xbf").splitlines()[0].decode()
    return [name.strip(' "') for name in re.split("[,;]", first)]


def test_points_columns_come_in_any_order():
    table = read_points(b"label,x2,x1\na,1,2\nb,3,4\n")
    np.testing.assert_array_equal(table.x, [[2, 1], [4, 3]])
    assert table.feature_names == ("x1", "x2") and table.label_name == "label"


def test_numeric_labels_are_numbers_ordered_by_value():
    table = read_points(b"x1,x2,label\n0,0,10\n0,0,2\n0,0,1.0\n0,0,01\n0,0,-0\n0,0,2.5\n")
    assert table.class_names == ("0", "1", "2", "2.5", "10")
    np.testing.assert_array_equal(table.y, [4, 2, 1, 1, 0, 3])


def test_text_labels_are_ordered_by_code_point_and_keep_their_case():
    table = read_points(b'x1,x2,label\n0,0,b\n0,0,B\n0,0,a\n0,0,"a, quoted"\n0,0,10\n')
    assert table.class_names == ("10", "B", "a", "a, quoted", "b")
    np.testing.assert_array_equal(table.y, [4, 1, 2, 3, 0])


def test_a_regression_keeps_the_target_as_numbers():
    table = read_points(b"x1,x2,label\n0,0,1.5\n1,0,-2\n0,1,1.5\n", regression=True)
    assert table.regression and table.y.dtype == np.float64 and table.class_names == ()
    np.testing.assert_array_equal(table.y, [1.5, -2, 1.5])


def test_a_table_has_its_features_in_file_order():
    data = b"b,Label,a,c\n1,x,2,3\n4,y,5,6\n"
    table = read_table(data, "f.CSV", "label")
    assert table.feature_names == ("b", "a", "c") and table.label_name == "Label"
    np.testing.assert_array_equal(table.x, [[1, 2, 3], [4, 5, 6]])


def test_an_npz_reads_as_the_same_csv_would():
    label = np.array(["b", "a", "b"])
    data = npz(
        f1=np.array([1, 2, 3], np.int32), f2=np.array([0.5, 1.5, -1]), on=np.array([1, 0, 1], bool), y=label
    )
    table = read_table(data, "f.npz", "Y")
    csv = read_table(b"f1,f2,on,y\n1,0.5,1,b\n2,1.5,0,a\n3,-1,1,b\n", "f.csv", "y")
    assert table_bytes(table) == table_bytes(csv)
    numeric = read_table(npz(f=np.arange(4.0), label=np.array([3, 1, 3, 2])), "f.npz", "label")
    assert numeric.class_names == ("1", "2", "3")
    floats = read_table(npz(f=np.arange(3.0), label=np.array([1.0, 0.5, -0.0])), "f.npz", "label")
    assert floats.class_names == ("0", "0.5", "1")
    target = read_table(npz(f=np.arange(3.0), label=np.array([1, 0, 1])), "f.npz", "label", regression=True)
    assert target.regression and target.y.tolist() == [1.0, 0.0, 1.0]


# --- what is refused ------------------------------------------------------------------------------

SMALL = Limits(max_bytes=60, max_rows=2, max_columns=2, max_classes=2, max_name=5)
HEAD = b"x1,x2,label\n"

# id: (data, keyword arguments, message: one pattern for both readers, or one per reader)
REFUSED_CSV = {
    "empty": (b"", {}, r"^the file is empty; a header row \(e\.g\. x1,x2,label\)"),
    "blank": (b"\xef\xbb\xbf\r\n  \n", {}, r"^the file is empty"),
    "no header": (b"1,2,0\n3,4,1\n", {}, r"^line 1: a header row is required \(e\.g\. x1,x2,label\)"),
    "no header after blank lines": (b"\n\n1;2;0\n", {}, r"^line 3: a header row is required"),
    "header only": (HEAD, {}, r"^line 1: no data rows follow the header"),
    "latin-1": (HEAD + b"1,2,caf\xe9\n", {}, r"^line 2, column 3: byte 0xE9 at offset 19 is not UTF-8; save"),
    "latin-1 after a bom": (
        b"\xef\xbb\xbf" + HEAD.replace(b",", b";") + b"1;\xe92;a\n",
        {},
        r"^line 2, column 2: byte 0xE9 at offset 17 is not UTF-8",
    ),
    "utf-16": (
        "x1,x2,label\n1,2,a\n".encode("utf-16"),
        {},
        r"^line 1, column 1: byte 0xFF at offset 0 .*UTF-16",
    ),
    "nan": (HEAD + b"1,2,a\n3,nan,b\n", {}, r"^line 3, column 'x2': 'nan' is not finite; a finite decimal"),
    "NaN": (HEAD + b"1,2,a\n3,2,b\nNaN,2,b\n", {}, r"^line 4, column 'x1': 'NaN' is not finite"),
    "inf": (HEAD + b"-Inf,2,a\n", {}, r"^line 2, column 'x1': '-Inf' is not finite"),
    "infinity": (HEAD + b"1,+infinity,a\n", {}, r"^line 2, column 'x2': '\+infinity' is not finite"),
    "overflow": (
        HEAD + b"1,2,a\n1e39,2,b\n",
        {},
        r"^line 3, column 'x1': '1e39' is not finite or beyond ±3\.403e\+38",
    ),
    "text": (
        HEAD + b"1,2,a\n1,two,b\n",
        {},
        r"^line 3, column 'x2': 'two' is not a number; a finite decimal",
    ),
    "underscore": (HEAD + b"1_000,2,a\n", {}, r"^line 2, column 'x1': '1_000' is not a number"),
    "hex": (HEAD + b"0x10,2,a\n", {}, r"^line 2, column 'x1': '0x10' is not a number"),
    "arabic digits": (HEAD + "١٢,2,a\n".encode(), {}, r"^line 2, column 'x1': '١٢' is not a number"),
    "decimal comma": (b"x1;x2;label\n1,5;2;a\n", {}, r"^line 2, column 'x1': '1,5' is not a number"),
    "empty field": (HEAD + b"1,,a\n", {}, r"^line 2, column 'x2': the field is empty"),
    "nul": (HEAD + b"1,\x002,a\n", {}, r"^line 2, column 'x2': '\\x002' is not a number"),
    "too many fields": (
        HEAD + b"1,2,a\n1,2,b,3\n",
        {},
        r"^line 3, column 4: 4 fields, but the header names 3",
    ),
    "too few fields": (HEAD + b"1,2,a\n1,2\n", {}, r"^line 3, column 'label': missing; the row has 2 fields"),
    "crlf and a quoted line end": (
        b'x1,x2,label\r\n1,2,"a\r\nb"\r\n3,oops,c\r\n',
        {},
        r"^line 4, column 'x2': 'oops' is not a number",
    ),
    "cr only": (b"x1,x2,label\r1,2,a\r\r3,4\r", {}, r"^line 4, column 'label': missing"),
    "bad quotes": (
        HEAD + b'1,2,"a"b\n',
        {},
        r"^line 2: not readable as CSV \(.*\); fields are separated by ','",
    ),
    "one class": (
        HEAD + b"1,2,a\n3,4,a\n",
        {},
        r"^column 'label': every row has the one class 'a'; at least two",
    ),
    "one numeric class": (HEAD + b"1,2,1\n3,4,1.0\n5,6,01\n", {}, r"the one class '1'"),
    "empty label": (
        HEAD + b"1,2,a\n1,2,\n",
        {},
        r"^line 3, column 'label': the label is empty; a class name",
    ),
    "nan label": (HEAD + b"1,2,a\n1,2,NaN\n", {}, r"^line 3, column 'label': 'NaN' reads as a missing value"),
    "text target": (
        HEAD + b"1,2,3\n1,2,b\n",
        {"regression": True},
        r"^line 3, column 'label': 'b' is not a number",
    ),
    "nan target": (
        HEAD + b"1,2,nan\n",
        {"regression": True},
        r"^line 2, column 'label': 'nan' is not finite",
    ),
    "duplicate columns": (b"x1,X1,label\n1,2,a\n", {}, r"^line 1, column 2: 'X1' repeats column 1 \('x1'\)"),
    "unnamed column": (b"x1,,label\n1,2,a\n", {}, r"^line 1, column 2: the column has no name"),
    "missing label": (
        b"x1,x2,class\n1,2,a\n3,4,b\n",
        {},
        {
            "points": r"^line 1, column 3: 'class' is not one of x1, x2, label",
            "table": r"^line 1: no column 'label'; the label column is one of: x1, x2, class$",
        },
    ),
    "byte cap": (
        HEAD + b"1,2,a\n" * 9,
        {"limits": SMALL},
        r"^the file has 66 bytes; at most 60 are accepted",
    ),
    "row cap": (
        b"a,label\n1,a\n2,b\n\n3,a\n",
        {"limits": SMALL},
        r"^line 5: more than 2 data rows; at most 2",
    ),
    "column cap": (
        HEAD + b"1,2,a\n",
        {"limits": SMALL},
        r"^line 1, column 3: 3 columns; at most 2 are accepted",
    ),
    "class cap": (
        b"x1,x2,label\n1,1,a\n1,1,b\n1,1,a\n1,1,c\n",
        {"limits": Limits(max_classes=2)},
        r"^line 5, column 'label': label number 3; at most 2 classes are accepted",
    ),
    "name cap": (
        b"x1,x2,label\n",
        {"limits": Limits(max_name=4)},
        r"^line 1, column 3: a name of 5 characters; at most 4",
    ),
    "label cap": (
        HEAD + b"1,2,a\n1,2,abcdef\n",
        {"limits": Limits(max_name=5)},
        r"^line 3, column 'label': a label of 6",
    ),
}


@pytest.mark.parametrize("reader", ["points", "table"])
@pytest.mark.parametrize(("data", "kwargs", "message"), list(REFUSED_CSV.values()), ids=list(REFUSED_CSV))
def test_csv_refusals_say_where_what_and_what_is_valid(reader, data, kwargs, message):
    if reader == "table" and kwargs.get("limits") is SMALL:
        kwargs = {"limits": Limits(max_bytes=60, max_rows=2, max_columns=2)}
    message = message[reader] if isinstance(message, dict) else message
    with pytest.raises(DataError, match=message):
        read(reader, data, **kwargs)


REFUSED_POINTS = {
    "extra column": (b"x1,x2,label,z\n1,2,a,3\n", r"^line 1, column 4: 'z' is not one of x1, x2, label"),
    "missing column": (b"x1,label\n1,a\n", r"^line 1: no column 'x2'; the columns are x1,x2,label"),
    "numbers in the header": (b"0.5,x2,label\n1,2,a\n", r"^line 1: a header row is required"),
}


@pytest.mark.parametrize(("data", "message"), list(REFUSED_POINTS.values()), ids=list(REFUSED_POINTS))
def test_points_refusals(data, message):
    with pytest.raises(DataError, match=message):
        read_points(data)


BOMB = zipped({"x1.npy": npy(np.zeros(100_000)), "label.npy": npy(np.arange(2))}, zipfile.ZIP_DEFLATED)
GOOD = {"x1": np.array([1.0, 2, 3]), "label": np.array([0, 1, 0])}

REFUSED_NPZ = {
    "not a zip": (b"x1,label\n1,0\n", {}, r"^not a readable \.npz file"),
    "no arrays": (zipped({}), {}, r"^the \.npz holds no arrays"),
    "pickled objects": (
        npz(x1=np.array([1, "a", None], object), label=GOOD["label"]),
        {},
        r"^column 'x1': holds Python objects \(a pickle\)",
    ),
    "zip bomb": (
        BOMB,
        {"limits": Limits(max_bytes=10_000)},
        r"^the \.npz inflates to 800,\d+ bytes; at most 10,000",
    ),
    "lying header": (
        zipped({"x1.npy": lying_npy((10**12,), bytes(24)), "label.npy": npy(GOOD["label"])}),
        {},
        r"^column 'x1': its header declares \(1000000000000,\), more than the bytes stored",
    ),
    "byte cap": (npz(**GOOD), {"limits": Limits(max_bytes=100)}, r"^the file has \d+ bytes; at most 100 are"),
    "column cap": (
        npz(a=GOOD["x1"], **GOOD),
        {"limits": Limits(max_columns=2)},
        r"^the \.npz holds 3 arrays; at most 2",
    ),
    "row cap": (npz(**GOOD), {"limits": Limits(max_rows=2)}, r"^row 3, column 'x1': more than 2 rows"),
    "name cap": (
        npz(long_name=GOOD["x1"], label=GOOD["label"]),
        {"limits": Limits(max_name=5)},
        r"^column 1: a name of 9",
    ),
    "nan": (
        npz(x1=np.array([1, np.nan, 3]), label=GOOD["label"]),
        {},
        r"^row 2, column 'x1': nan is not finite",
    ),
    "inf label": (
        npz(x1=GOOD["x1"], label=np.array([0, np.inf, 1])),
        {},
        r"^row 2, column 'label': inf is not finite",
    ),
    "overflow": (
        npz(x1=np.array([1, 2, -1e300]), label=GOOD["label"]),
        {},
        r"^row 3, column 'x1': -1e\+300 is not",
    ),
    "one class": (
        npz(x1=GOOD["x1"], label=np.ones(3, int)),
        {},
        r"^column 'label': every row has the one class '1'",
    ),
    "empty label": (
        npz(x1=GOOD["x1"], label=np.array(["a", " ", "b"])),
        {},
        r"^row 2, column 'label': the label is empty",
    ),
    "ragged": (
        npz(x1=GOOD["x1"], label=np.arange(2)),
        {},
        r"^column 'label': 2 rows, column 'x1' 3; every column",
    ),
    "no rows": (npz(x1=np.zeros(0), label=np.zeros(0)), {}, r"^column 'x1': 0 rows, .*at least one"),
    "2-D": (
        npz(x1=np.zeros((3, 2)), label=GOOD["label"]),
        {},
        r"^column 'x1': an array of shape \(3, 2\); one 1-D array",
    ),
    "text feature": (
        npz(x1=np.array(["1", "2", "3"]), label=GOOD["label"]),
        {},
        r"^column 'x1': text in a feature",
    ),
    "complex": (
        npz(x1=GOOD["x1"] * 1j, label=GOOD["label"]),
        {},
        r"^column 'x1': a complex128 array; numbers or text",
    ),
    "bytes": (npz(x1=GOOD["x1"], label=np.array([b"a", b"b", b"a"])), {}, r"^column 'label': a \|S1 array"),
    "record": (
        npz(x1=np.zeros(3, "f8,f8"), label=GOOD["label"]),
        {},
        r"^column 'x1': a .* array; numbers or text",
    ),
    "duplicate members": (
        zipped({"x1.npy": npy(GOOD["x1"]), "x1.npy#2": npy(GOOD["x1"]), "label.npy": npy(GOOD["label"])}),
        {},
        r"^the \.npz holds two arrays named 'x1'",
    ),
    "duplicate columns": (
        npz(x1=GOOD["x1"], X1=GOOD["x1"], label=GOOD["label"]),
        {},
        r"^column 2: 'X1' repeats column 1",
    ),
    "not .npy": (zipped({"x1.txt": b"1,2,3"}), {}, r"^the \.npz member 'x1\.txt' is not an \.npy array"),
    "not an array": (
        zipped({"x1.npy": b"hello", "label.npy": npy(GOOD["label"])}),
        {},
        r"^column 'x1': not a readable",
    ),
    "missing label": (
        npz(x1=GOOD["x1"], y=GOOD["label"]),
        {},
        r"^no column 'label'; the label column is one of: x1, y",
    ),
    "label alone": (npz(label=GOOD["label"]), {}, r"^column 'label' is the only column; features are needed"),
    "text target": (
        npz(x1=GOOD["x1"], label=np.array(["1", "x", "2"])),
        {"regression": True},
        r"^row 2, column 'label': 'x' is not a number",
    ),
}


@pytest.mark.parametrize(("data", "kwargs", "message"), list(REFUSED_NPZ.values()), ids=list(REFUSED_NPZ))
def test_npz_refusals_say_where_what_and_what_is_valid(data, kwargs, message):
    with pytest.raises(DataError, match=message):
        read_table(data, "data.npz", "label", **kwargs)


def test_a_damaged_npz_member_is_refused_whole():
    x1 = np.arange(2000.0)  # longer than a read of its header, so only reading it whole finds the damage
    data = bytearray(npz(x1=x1, label=np.arange(2000) % 2))
    data[data.index(x1[-10:].tobytes())] ^= 0xFF  # its CRC no longer matches
    with pytest.raises(DataError, match=r"^the \.npz is damaged: an array could not be read whole"):
        read_table(bytes(data), "data.npz", "label")
    data[:] = npz(x1=x1[:3], label=np.arange(3) % 2)
    data[data.index(x1[:3].tobytes())] ^= 0xFF  # read whole with the header
    with pytest.raises(DataError, match=r"^column 'x1': not a readable \.npy array"):
        read_table(bytes(data), "data.npz", "label")


def test_a_missing_label_among_many_columns_lists_the_first_twenty():
    wide = b",".join(b"f%d" % k for k in range(30)) + b"\n" + b",".join([b"1"] * 30) + b"\n"
    with pytest.raises(
        DataError, match=r"^line 1: no column 'label'; .* one of: f0, f1, .*, f19, … \(30 in all\)$"
    ):
        read_table(wide, "wide.csv", "label")


def test_unknown_file_types_are_refused():
    for filename, message in [("data.xlsx", "a .xlsx file"), ("data", "a suffix-less file")]:
        with pytest.raises(DataError, match=rf"^'{filename}': {message}; \.csv and \.npz files are read"):
            read_table(POINTS, filename, "label")


def test_the_row_cap_stops_reading_at_the_cap():
    with pytest.raises(DataError, match=r"^line 102: more than 100 data rows"):
        read_points(HEAD + b"1,2,a\n" * 100 + b"1,2,b\n" + b"oops\n" * 10**5, limits=Limits(max_rows=100))
    assert len(read_points(HEAD + b"1,2,a\n1,2,b\n" * 50, limits=Limits(max_rows=100)).y) == 100


# --- fuzz -----------------------------------------------------------------------------------------


def table_or_refusal(call) -> None:
    try:
        table = call()
    except DataError:
        return
    assert isinstance(table, Table)
    assert np.isfinite(table.x).all() and np.isfinite(table.y).all()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.booleans())
def test_random_bytes_give_a_table_or_a_refusal(data, regression):
    table_or_refusal(lambda: read_points(data, regression=regression))
    table_or_refusal(lambda: read_table(data, "f.csv", "label", regression=regression))
    table_or_refusal(lambda: read_table(data, "f.npz", "label", regression=regression))


CSVISH = st.text(st.sampled_from(list('x12,;label\r\n "ab.e-+0nanif\ufeff\x00é')), max_size=120)
NUMBER = st.one_of(st.floats(-1e3, 1e3).map(str), st.integers(-3, 3).map(str))
LABEL = st.sampled_from(["a", "b", "1", "2.0", '"c,d"'])
FIELD = st.one_of(
    st.floats(width=32).map(repr),
    NUMBER,
    st.sampled_from(["a", "b", "", " ", '"a,b"', '"1"', "nan", "-inf", "1_0", "0x1", "1e40", "é"]),
    CSVISH.map(lambda text: text[:4]),
)


@st.composite
def csv_files(draw) -> bytes:
    """A header, usually the right one, over rows that fit it, with some fields, or rows, broken."""
    sep, end = draw(st.sampled_from([",", ";"])), draw(st.sampled_from(["\n", "\r\n", "\r"]))
    header = draw(
        st.sampled_from([["x1", "x2", "label"], ["label", "X2", "x1"], ["x1", "label"], ["1", "2"]])
    )
    fitting = [LABEL if name.lower() == "label" else NUMBER for name in header]
    rows = draw(st.lists(st.tuples(*fitting).map(list), min_size=1, max_size=8))
    for _ in range(draw(st.integers(0, 2))):
        row = draw(st.sampled_from(rows))
        if draw(st.booleans()):
            row[draw(st.integers(0, len(row) - 1))] = draw(FIELD)
        else:
            row.append(draw(FIELD)) if draw(st.booleans()) else row.pop()
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return (
        bom + end.join(sep.join(row) for row in [header, *rows]) + draw(st.sampled_from(["", end]))
    ).encode()


@settings(max_examples=500, deadline=None)
@given(CSVISH, st.booleans())
def test_random_csv_like_text_gives_a_table_or_a_refusal(text, regression):
    for data in (text.encode(), text.encode("latin-1", "replace")):
        table_or_refusal(lambda data=data: read_points(HEAD + data, regression=regression))
        table_or_refusal(lambda data=data: read_table(data, "f.csv", "label", regression=regression))


@settings(max_examples=500, deadline=None)
@given(csv_files(), st.booleans())
def test_random_csv_files_give_a_table_or_a_refusal(data, regression):
    table_or_refusal(lambda: read_points(data, regression=regression))
    table_or_refusal(lambda: read_table(data, "f.csv", "label", regression=regression))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4))
def test_damaged_npz_gives_a_table_or_a_refusal(changes):
    data = bytearray(npz(x1=GOOD["x1"], x2=np.arange(3, dtype=np.int16), label=np.array(["a", "b", "a"])))
    for at, value in changes:
        data[at % len(data)] = value
    table_or_refusal(lambda: read_table(bytes(data), "f.npz", "label"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x": np.zeros((3, 2), np.float32)}, "x must be float64"),
        ({"x": np.full((3, 2), np.inf)}, "x must hold numbers within"),
        ({"feature_names": ("a", "A")}, "feature names must differ"),
        ({"y": np.zeros(3, np.int32)}, "y must be int64 or float64"),
        ({"y": np.int64(0)}, "y must be int64 or float64"),
        ({"y": np.zeros(0, np.int64)}, "y must be int64 or float64"),
        ({"y": np.array([0, 1, 2])}, r"y must lie in \[0, 1\]"),
        ({"class_names": ("a", "a")}, "class names must be two or more and differ"),
        ({"y": np.array([0.0, np.nan, 1.0])}, "a regression has no class names"),
    ],
)
def test_a_table_checks_itself(change, message):
    fields = {"x": np.zeros((3, 2)), "y": np.array([0, 1, 0]), "feature_names": ("a", "b")}
    fields |= {"class_names": ("a", "b"), "label_name": "label"} | change
    if fields["y"].dtype.kind == "f":
        fields["class_names"] = ()
    with pytest.raises(DataError, match=message):
        Table(**fields)
