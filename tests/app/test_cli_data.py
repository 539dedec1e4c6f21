"""`descent data mnist|fashion-mnist`: where the data is, and one-line errors with exit status 2."""

import sys

import pytest

from app.cli import main
from core.data import mnist
from tests.app.test_cli_train import Terminal
from tests.core.data.test_mnist import NAMES, dead_url, make_fixture, patch_spec, serve, server  # noqa: F401


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path, dead_url):  # noqa: F811
    """An empty data dir, no Debian copy, and mirrors on a loopback port where nothing listens."""
    monkeypatch.setenv("DESCENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DESCENT_MNIST_MIRRORS", dead_url)
    monkeypatch.setenv("DESCENT_FASHION_MNIST_MIRRORS", dead_url)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setattr(mnist, "DEBIAN_FASHION_MNIST", tmp_path / "debian")
    return tmp_path / "data"


def test_data_mnist_prints_where_it_is(monkeypatch, mnist_dir, capsys):
    monkeypatch.setenv("DESCENT_DATA_DIR", str(mnist_dir))
    assert main(["data", "mnist"]) == 0
    out = capsys.readouterr().out
    assert f"folder: {mnist_dir}\n" in out
    for name, count in zip(NAMES, [60000, 60000, 10000, 10000], strict=True):
        assert any(line.split()[:2] == [name, str(count)] for line in out.splitlines())
    assert "verified" in out and "classes: 0, 1, 2" in out


def test_data_downloads_with_a_mirror_flag(isolated, monkeypatch, server, capsys):  # noqa: F811
    fixture = make_fixture(3)
    patch_spec(monkeypatch, "fashion-mnist", fixture)
    assert main(["data", "fashion-mnist", "--mirror", serve(server, fixture)]) == 0
    captured = capsys.readouterr()
    assert f"folder: {isolated / 'fashion-mnist'}\n" in captured.out
    assert "classes: T-shirt/top, Trouser" in captured.out
    assert captured.err == "", "no download bar unless stderr is a terminal"
    assert sorted(p.name for p in (isolated / "fashion-mnist").iterdir()) == sorted(NAMES)


def test_a_download_bar_on_a_terminal(isolated, monkeypatch, server, capsys):  # noqa: F811
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    fixture = make_fixture(4)
    patch_spec(monkeypatch, "fashion-mnist", fixture)
    assert main(["data", "fashion-mnist", "--mirror", serve(server, fixture)]) == 0
    assert "100%" in terminal.getvalue()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["data", "cifar10"], "invalid choice: 'cifar10' (choose from 'mnist', 'fashion-mnist')"),
        (["data"], "the following arguments are required: dataset"),
        (["data", "mnist"], "MNIST not found and not downloaded (http://127.0.0.1:"),
        (["train", "mnist"], "MNIST not found and not downloaded (http://127.0.0.1:"),
        (["train", "fashion-mnist", "--epochs", "1"], "Fashion-MNIST not found and not downloaded"),
        (
            ["data", "mnist", "--mirror="],
            "--mirror takes a base URL such as https://example.org/mnist/, got ''",
        ),
    ],
)
def test_errors_are_one_line_with_status_2(isolated, argv, message, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("descent: error: ")
    assert message in captured.err


def test_offline_error_names_files_folder_and_remedy(isolated, tmp_path, capsys):
    assert main(["data", "fashion-mnist"]) == 2
    err = capsys.readouterr().err
    for part in [*NAMES, str(isolated / "fashion-mnist"), str(tmp_path / "debian"), "DESCENT_DATA_DIR"]:
        assert part in err
    assert "apt-get install dataset-fashion-mnist" in err


def test_data_errors_read_the_same_from_data_and_train(isolated, capsys):
    assert main(["data", "mnist"]) == 2
    from_data = capsys.readouterr().err
    assert main(["train", "mnist", "--epochs", "1"]) == 2
    assert capsys.readouterr().err == from_data
