import csv
import io
import json
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from app.cli import main, paths
from core.landscape.landscapes import LANDSCAPES
from core.optimizers import OPTIMIZERS
from core.schedules import SCHEDULES


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("command", "registry"),
    [("landscapes", LANDSCAPES), ("optimizers", OPTIMIZERS), ("schedules", SCHEDULES)],
)
def test_listings_name_every_registry_entry(capsys, command, registry):
    code, out, _ = run(capsys, command)
    assert code == 0
    for name in registry:
        assert f"\n{name} " in "\n" + out
    if command == "optimizers":
        assert "b1=0.9 [0, 0.9999]" in out


def test_the_landscape_listing_counts_the_minima_it_knows(capsys):
    _, out, _ = run(capsys, "landscapes")
    blocks = dict(re.findall(r"^(\w+) .*\n.*\n(.*)$", out, re.M))
    for name, ls in LANDSCAPES.items():
        n = len(ls.minima)
        expected = "many local minima" if ls.many_minima else f"{n} known minim{'um' if n == 1 else 'a'},"
        assert expected in blocks[name]
    assert "2 known minima," in blocks["mccormick"] and "many local minima" in blocks["rastrigin"]


def test_path_as_csv(capsys):
    code, out, err = run(
        capsys,
        "path",
        "--landscape",
        "mccormick",
        "--optimizer",
        "momentum",
        "--lr",
        "0.01",
        "--steps",
        "25",
        "--start",
        "-1,2.75",
        "--param",
        "gamma=0.5",
        "--format",
        "csv",
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert out.startswith("step,x,y,loss,lr,grad_norm,gx,gy,velocity_x,velocity_y\n")
    assert [int(r["step"]) for r in rows] == list(range(26))
    assert (float(rows[0]["x"]), float(rows[0]["y"])) == (-1.0, 2.75)
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert err.strip() == "done: 25 steps"


def test_path_as_json_with_noise_and_schedule_is_reproducible(capsys):
    argv = [
        "path",
        "--optimizer",
        "sgd",
        "--lr",
        "0.001",
        "--steps",
        "40",
        "--noise",
        "16,4",
        "--dataset-size",
        "40",
        "--batch-size",
        "1",
        "--seed",
        "7",
        "--schedule",
        "step",
        "--schedule-param",
        "every=10",
        "--format",
        "json",
    ]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    doc = json.loads(out)
    assert doc["steps"]["step"] == list(range(41)) and doc["outcome"]["status"] == "done"
    assert doc["steps"]["lr"][1:12:10] == [0.001, 0.0005]
    assert run(capsys, *argv)[1] == out
    assert run(capsys, *argv[:-3], "--seed", "8", "--format", "json")[1] != out


def test_path_table_reports_the_outcome(capsys):
    code, out, _ = run(capsys, "path", "--format", "table")
    assert code == 0
    assert out.splitlines()[0].split() == ["step", "x", "y", "loss", "|g|", "lr"]
    assert "converged at step" in out.splitlines()[-1]


def test_diverged_path_says_so(capsys):
    code, out, err = run(capsys, "path", "--optimizer", "sgd", "--lr", "3", "--steps", "500")
    assert code == 0
    assert err.startswith("diverged at step ")
    assert "nan" not in out.lower() and "inf" not in out.lower()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--landscape", "moon"], "unknown landscape 'moon'; valid: mccormick, rosenbrock"),
        (["--optimizer", "adamm"], "unknown optimizer 'adamm'; valid: sgd, momentum"),
        (["--lr", "0"], r"lr must be in [1e-07, 10], got 0"),
        (["--lr", "-0.1"], r"lr must be in [1e-07, 10], got -0.1"),
        (["--lr", "nan"], "--lr must be finite, got 'nan'"),
        (["--lr", "fast"], "--lr must be a number, got 'fast'"),
        (["--steps", "0"], "steps must be in [1, 1000000], got 0"),
        (["--start", "1"], "--start takes X,Y, got '1'"),
        (
            ["--noise", "16,4", "--batch-size", "3000"],
            "batch_size must be in [1, dataset_size = 2000], got 3000",
        ),
        (["--param", "gamma=0.9"], "optimizer 'adam' has no parameter 'gamma'; valid: lr, b1, b2, eps"),
        (["--param", "b1"], "--param takes NAME=VALUE, got 'b1'"),
        (["--landscape", "quadratic", "--landscape-param", "kappa=0"], "kappa must be in [1, 10000], got 0"),
        (["--schedule", "linear"], "unknown schedule 'linear'; valid: constant, step"),
        (["--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["--start", "1e9,0"], "lies ten domain widths outside"),
        (["--start="], "--start takes X,Y, got ''"),
        (["--start", ""], "--start takes X,Y, got ''"),
        (["--batch-size", "0"], "batch_size must be in [1, 1000000], got 0"),
        (["--noise", "16,4", "--dataset-size", "0"], "dataset_size must be in [1, 1000000], got 0"),
        (["--steps", "1.5"], "steps must be a whole number, got 1.5"),
        (["--seed", "-1"], "--seed must be a whole number in [0, 4294967295], got '-1'"),
        (["--noise", "16,4", "--seed", "-1"], "--seed must be a whole number in [0, 4294967295], got '-1'"),
        (["--noise", "16,4", "--seed", str(2**63)], f"in [0, 4294967295], got '{2**63}'"),
        (["--seed", str(2**32)], f"in [0, 4294967295], got '{2**32}'"),
        (["--seed", "1.5"], "--seed must be a whole number in [0, 4294967295], got '1.5'"),
        (["--seed", "9" * 5000], "got '" + "9" * 40 + "'..."),
        (["--lr", "9" * 5000], "--lr must be finite, got '" + "9" * 40 + "'..."),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "path", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("descent: error: ")
    assert message in err


def test_the_largest_seed_runs(capsys):
    argv = ["path", "--noise", "16,4", "--steps", "3", "--seed", str(2**32 - 1)]
    assert run(capsys, *argv)[0] == 0


def test_a_bare_command_prints_usage_and_the_commands_and_exits_2(capsys):
    code, out, err = run(capsys)
    assert code == 2 and out == ""
    assert err.startswith("usage: descent ")
    for command in ("landscapes", "optimizers", "schedules", "path", "serve", "data", "train"):
        assert f"\n    {command} " in err
    assert err.splitlines()[-1].startswith("descent: error: name a command")


def test_version_is_the_installed_distributions(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    out, err = capsys.readouterr()
    assert stopped.value.code == 0 and err == ""
    assert out == f"descent {version('descent')}\n"
    assert re.fullmatch(r"descent \d+\.\d+\.\d+\S*\n", out)


def test_version_from_the_module_entry_point():
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "--version"], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"descent {version('descent')}\n", "")


def test_ctrl_c_during_a_path_is_one_line_and_status_130(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr(paths, "path", interrupted)
    try:
        code, out, err = run(capsys, "path", "--steps", "10")
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped main() and would print a traceback")
    assert (code, out, err) == (130, "", "descent: interrupted\n")
