"""`descent train --data-file`: a good file trains (kept in the data folder's store, as an upload is),
and a bad one exits 2 with the reader's message."""

import json

import numpy as np
import pytest

from app.cli import main
from core.data import own

GOOD = "x1,x2,label\n" + "\n".join(f"{i % 7},{i % 5},{'a' if i % 2 else 'b'}" for i in range(40)) + "\n"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DESCENT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_points_csv_trains_and_is_stored_under_its_hash(tmp_path, data_dir, capsys):
    path = tmp_path / "points.csv"
    path.write_text(GOOD)
    argv = (
        "train",
        "--data-file",
        str(path),
        "--hidden",
        "4",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--json",
    )
    code, out, err = run(capsys, *argv, "--test-fraction", "0.25", "--no-standardize")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    start = events[0]
    data_id = start["config"]["data_id"]
    assert start["config"]["dataset"] == "upload" and start["config"]["data"] == {
        "test_fraction": 0.25,
        "standardize": 0.0,
    }
    assert (start["train_size"], start["test_size"]) == (30, 10) and start["classes"] == ["a", "b"]
    assert (data_dir / own.FOLDER / f"{data_id}.npz").is_file()
    table = own.read_table(data_id)
    assert table.feature_names == ("x1", "x2") and len(table.y) == 40
    assert events[-1]["type"] == "summary" and events[-1]["status"] == "done"


def test_a_regression_table_prints_r2(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 3))
    path = tmp_path / "t.npz"
    np.savez(path, a=x[:, 0], b=x[:, 1], c=x[:, 2], y=x @ [1.0, -2.0, 0.5])
    argv = ("train", "--data-file", str(path), "--label-column", "y", "--regression", "--loss", "mse")
    code, out, err = run(capsys, *argv, "--hidden", "8", "--epochs", "2", "--batch-size", "10", "--quiet")
    assert code == 0, err
    assert "(regression): 48 training and 12 test examples" in out and "R²" in out and "acc" not in out


def test_a_race_on_a_regression_table_draws_its_surface(tmp_path, capsys):
    """The surface's loss is the network's MSE on the targets (one-hot rows of a class would fail)."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 2))
    path = tmp_path / "r.csv"
    path.write_text("x1,x2,label\n" + "\n".join(f"{a!r},{b!r},{a - 2 * b!r}" for a, b in x.tolist()))
    argv = ("race", "--data-file", str(path), "--regression", "--loss", "mse", "--optimizers", "sgd,adam")
    code, out, err = run(capsys, *argv, "--hidden", "4", "--epochs", "2", "--surface", "5", "--json")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    surface = events[-1]
    assert surface["type"] == "surface" and np.shape(surface["loss"]) == (5, 5)
    assert all(np.isfinite(surface["loss"]).flat)
    starts = [e for e in events if e.get("type") == "start"]
    assert [s["regression"] for s in starts] == [True, True]


@pytest.mark.parametrize(
    "text, extra, says",
    [
        ("x1,x2,label\n0,nan,a\n1,1,b\n", (), "line 2, column 'x2': 'nan' is not finite"),
        ("x1,x2,label\n0,0,a\n1,1,a\n", (), "at least two classes"),
        ("0,0,1\n1,1,0\n", (), "a header row is required"),
        ("x1,x2,label\n0,0,a\n1,1,b\n", ("--label-column", "y"), "no column 'y'"),
        ("x1,x2,label\n0,0,1.5\n1,1,2\n", ("--regression",), "a regression target needs loss mse"),
        ("x1,x2,label\n0,0,a\n1,1,b\n", ("--test-fraction", "0.9"), "test_fraction must be in [0.05, 0.5]"),
        ("x1,x2,label\n0,0,a\n1,1,b\n", ("moons",), "leave out the dataset ('moons')"),
    ],
)
def test_a_bad_file_or_flag_exits_2_with_one_line(tmp_path, data_dir, capsys, text, extra, says):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    code, _, err = run(capsys, "train", "--data-file", str(path), "--batch-size", "1", *extra)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_bad_bytes_and_missing_files_exit_2(tmp_path, data_dir, capsys):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"x1,x2,label\n0,0,\xff\n")
    code, _, err = run(capsys, "train", "--data-file", str(path))
    assert code == 2 and "byte 0xFF" in err
    assert not (data_dir / own.FOLDER).exists() or not list((data_dir / own.FOLDER).glob("*.npz"))
    code, _, err = run(capsys, "train", "--data-file", str(tmp_path / "none.csv"))
    assert code == 2 and "cannot read" in err


def test_split_flags_need_a_data_file_and_a_dataset_or_file_is_needed(capsys):
    code, _, err = run(capsys, "train", "moons", "--no-standardize")
    assert code == 2 and "--standardize goes with --data-file" in err
    code, _, err = run(capsys, "train")
    assert code == 2 and "--data-file FILE" in err
