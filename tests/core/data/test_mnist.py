"""MNIST / Fashion-MNIST: search, download (against a local HTTP server), verification, loading.

Small IDX fixtures are generated here and patched into the registry with their own MD5s; the real
files are tested through the `mnist_dir` fixture (skipped when absent). No test leaves loopback:
every mirror variable points at a closed local port unless a test serves files itself.
"""

import ast
import gzip
import hashlib
import http.server
import os
import socket
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from core.data import mnist
from core.data.idx import IdxError, idx_bytes, read_idx
from core.data.mnist import IMAGE_SETS, DataError, IdxFile

NAMES = [f.name for f in IMAGE_SETS["mnist"].files]
REAL_DEBIAN = mnist.DEBIAN_FASHION_MNIST


@dataclass
class Fixture:
    arrays: list  # train images, train labels, test images, test labels
    raw: dict  # file name -> uncompressed IDX bytes
    gz: dict  # file name -> gzip bytes


def make_fixture(seed: int, train: int = 12, test: int = 5) -> Fixture:
    rng = np.random.default_rng(seed)
    arrays = [
        rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        (np.arange(train) % 10).astype(np.uint8),
        rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, test, dtype=np.uint8),
    ]
    raw = {name: idx_bytes(a) for name, a in zip(NAMES, arrays, strict=True)}
    return Fixture(arrays, raw, {name: gzip.compress(r) for name, r in raw.items()})


def patch_spec(monkeypatch, name: str, fixture: Fixture, **changes) -> mnist.ImageSet:
    """Registry entry `name` with the fixture's MD5s and sizes (and any other `changes`)."""
    files = tuple(IdxFile(n, hashlib.md5(fixture.raw[n]).hexdigest(), len(fixture.raw[n])) for n in NAMES)
    spec = replace(IMAGE_SETS[name], files=files, **changes)
    monkeypatch.setitem(IMAGE_SETS, name, spec)
    return spec


def write_files(folder: Path, fixture: Fixture, names=NAMES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(fixture.gz[name])
    return folder


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        body = self.server.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up early (the size limit) is expected


@pytest.fixture
def server():
    """A local HTTP server: set `routes` (path -> bytes); `requests` lists the paths asked for."""
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.routes, srv.requests = {}, []
    srv.url = f"http://127.0.0.1:{srv.server_port}"
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


def serve(server, fixture: Fixture, prefix: str = "/good/", **overrides) -> str:
    for name in NAMES:
        server.routes[prefix + name] = overrides.get(name, fixture.gz[name])
    return server.url + prefix


@pytest.fixture
def dead_url():
    """A loopback URL where nothing listens: connection refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path, dead_url):
    """An empty data dir, no Debian copy, mirrors that refuse, no proxies."""
    monkeypatch.setenv("DESCENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DESCENT_MNIST_MIRRORS", dead_url)
    monkeypatch.setenv("DESCENT_FASHION_MNIST_MIRRORS", dead_url)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setattr(mnist, "DEBIAN_FASHION_MNIST", tmp_path / "debian")
    return tmp_path / "data"


@pytest.fixture
def digits(monkeypatch):
    fixture = make_fixture(0)
    patch_spec(monkeypatch, "mnist", fixture)
    return fixture


def _files_under(folder: Path) -> list[str]:
    return (
        sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        if folder.exists()
        else []
    )


# The registry


@pytest.mark.parametrize("name", list(IMAGE_SETS))
def test_registry_entries_are_complete(name):
    spec = IMAGE_SETS[name]
    assert spec.name == name and [f.name for f in spec.files] == NAMES
    assert all(len(f.md5) == 32 and int(f.md5, 16) >= 0 for f in spec.files)
    assert [f.size for f in spec.files] == [47_040_016, 60_008, 7_840_016, 10_008]
    assert len(spec.class_names) == 10 and spec.mirrors
    assert all(url.startswith(("http://", "https://")) for url in spec.mirrors)
    assert [p.name for p in spec.params] == ["train_size", "test_size", "seed"]


def test_class_names():
    assert IMAGE_SETS["mnist"].class_names == tuple("0123456789")
    fashion = IMAGE_SETS["fashion-mnist"].class_names
    assert fashion[0] == "T-shirt/top" and fashion[1] == "Trouser" and fashion[9] == "Ankle boot"


def test_unknown_dataset_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown image dataset 'cifar'; valid: mnist, fashion-mnist"):
        mnist.load("cifar")


# The data directory and the search


def test_data_dir_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DESCENT_DATA_DIR", "~/somewhere")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert mnist.data_dir() == tmp_path / "somewhere"
    monkeypatch.delenv("DESCENT_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert mnist.data_dir() == tmp_path / "cache" / "descent"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert mnist.data_dir() == tmp_path / ".cache" / "descent"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert mnist.data_dir() == tmp_path / ".cache" / "descent"


def test_the_dataset_subfolder_comes_before_the_data_dir_itself(isolated, digits):
    write_files(isolated, digits)
    assert mnist.locate("mnist") == isolated
    write_files(isolated / "mnist", digits)
    assert mnist.locate("mnist") == isolated / "mnist"
    assert mnist.search_path("mnist") == [isolated / "mnist", isolated]


def test_an_incomplete_folder_is_not_used(isolated, digits):
    write_files(isolated / "mnist", digits, NAMES[:3])
    assert mnist.locate("mnist") is None


def test_a_folder_of_the_other_dataset_is_not_taken(monkeypatch, isolated, tmp_path):
    digits, clothes = make_fixture(0), make_fixture(1)
    patch_spec(monkeypatch, "mnist", digits)
    patch_spec(monkeypatch, "fashion-mnist", clothes)
    write_files(isolated, digits)  # same file names as Fashion-MNIST
    assert mnist.locate("mnist") == isolated
    assert mnist.locate("fashion-mnist") is None
    write_files(tmp_path / "debian", clothes)
    assert mnist.locate("fashion-mnist") == tmp_path / "debian"


def test_debian_folder_is_searched_after_the_data_dir(monkeypatch, isolated, tmp_path):
    clothes = make_fixture(1)
    patch_spec(monkeypatch, "fashion-mnist", clothes)
    debian = write_files(tmp_path / "debian", clothes)
    assert mnist.search_path("fashion-mnist") == [isolated / "fashion-mnist", isolated, debian]
    assert debian not in mnist.search_path("mnist")
    assert mnist.locate("fashion-mnist") == debian
    write_files(isolated / "fashion-mnist", clothes)
    assert mnist.locate("fashion-mnist") == isolated / "fashion-mnist"


def test_debian_copy_loads_without_configuration(monkeypatch, tmp_path, server):
    clothes = make_fixture(1)
    patch_spec(monkeypatch, "fashion-mnist", clothes)
    write_files(tmp_path / "debian", clothes)
    monkeypatch.delenv("DESCENT_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("DESCENT_FASHION_MNIST_MIRRORS", server.url + "/")
    data = mnist.load("fashion-mnist")
    np.testing.assert_array_equal(data.y_train, clothes.arrays[1])
    assert data.class_names[0] == "T-shirt/top"
    assert server.requests == [] and not (tmp_path / "cache").exists()


# Downloads


def test_download_verifies_and_shows_progress(isolated, digits, server, capsys, monkeypatch):
    monkeypatch.setenv("DESCENT_MNIST_MIRRORS", serve(server, digits))
    folder = mnist.fetch("mnist")
    assert folder == isolated / "mnist"
    assert _files_under(isolated) == sorted(f"mnist/{n}" for n in NAMES)
    for name in NAMES:
        assert (folder / name).read_bytes() == digits.gz[name]
    err = capsys.readouterr().err
    assert all(name in err for name in NAMES) and "100%" in err
    assert mnist.fetch("mnist") == folder and len(server.requests) == 4  # found now: no new download
    data = mnist.load("mnist")
    np.testing.assert_array_equal(data.y_test, digits.arrays[3])


def test_progress_can_be_turned_off(digits, server, capsys):
    mnist.fetch("mnist", mirrors=[serve(server, digits)], progress=False)
    assert capsys.readouterr().err == ""


def test_mirror_argument_beats_the_environment(monkeypatch, dead_url):
    monkeypatch.setenv("DESCENT_MNIST_MIRRORS", "http://a.invalid/x/, http://b.invalid/y/")
    assert mnist.mirrors_for("mnist") == ["http://a.invalid/x/", "http://b.invalid/y/"]
    assert mnist.mirrors_for("mnist", ["http://c.invalid/"]) == ["http://c.invalid/"]
    monkeypatch.delenv("DESCENT_MNIST_MIRRORS")
    assert mnist.mirrors_for("mnist") == list(IMAGE_SETS["mnist"].mirrors)


CORRUPTIONS = {
    "md5": ("not the expected file", lambda gz, raw: gzip.compress(raw[:-1] + bytes([raw[-1] ^ 1]))),
    "truncated": ("truncated", lambda gz, raw: gz[: len(gz) // 2]),
    "html": ("not a valid gzip file", lambda gz, raw: b"<html>Service Unavailable</html>"),
    "oversized": ("exceeds", lambda gz, raw: gz + bytes(2 << 20)),
    "extra-bytes": ("decompresses to more than", lambda gz, raw: gzip.compress(raw + b"\0")),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corrupted_download_leaves_nothing(isolated, digits, server, kind):
    reason, corrupt = CORRUPTIONS[kind]
    name = NAMES[0]
    url = serve(server, digits, **{name: corrupt(digits.gz[name], digits.raw[name])})
    with pytest.raises(DataError, match=reason) as info:
        mnist.fetch("mnist", mirrors=[url], progress=False)
    assert f"{url}{name}: the download" in str(info.value)
    assert _files_under(isolated) == []
    assert not (isolated / "mnist").exists()


@pytest.mark.parametrize("first", ["refused", "404", "corrupt"])
def test_first_mirror_failing_second_working(isolated, digits, server, dead_url, first):
    bad = {
        "refused": dead_url,
        "404": server.url + "/missing/",
        "corrupt": serve(server, digits, "/bad/", **{n: b"junk" for n in NAMES}),
    }[first]
    good = serve(server, digits)
    folder = mnist.fetch("mnist", mirrors=[bad, good], progress=False)
    assert _files_under(folder) == sorted(NAMES)
    assert all((folder / n).read_bytes() == digits.gz[n] for n in NAMES)
    assert [p for p in server.requests if p.startswith("/good/")] == [f"/good/{n}" for n in NAMES]


def test_all_mirrors_down_names_files_folders_and_remedy(isolated, digits, server, dead_url):
    with pytest.raises(DataError) as info:
        mnist.fetch("mnist", mirrors=[dead_url, server.url + "/missing/"], progress=False)
    message = str(info.value)
    assert "\n" not in message
    for part in [*NAMES, str(isolated / "mnist"), str(isolated), "DESCENT_DATA_DIR", dead_url]:
        assert part in message
    assert f"{server.url}/missing/{NAMES[0]}: HTTP 404" in message
    assert "Copy the four files into" in message and "apt-get" not in message
    assert _files_under(isolated) == []


def test_fashion_offline_error_names_debian(monkeypatch, tmp_path):
    patch_spec(monkeypatch, "fashion-mnist", make_fixture(1))
    with pytest.raises(DataError) as info:
        mnist.load("fashion-mnist", progress=False)
    assert str(tmp_path / "debian") in str(info.value)
    assert "apt-get install dataset-fashion-mnist" in str(info.value)


def test_only_missing_or_bad_files_are_downloaded(isolated, digits, server):
    folder = write_files(isolated / "mnist", digits, NAMES[:2])
    (folder / NAMES[1]).write_bytes(gzip.compress(b"not idx"))
    mnist.fetch("mnist", mirrors=[serve(server, digits)], progress=False)
    assert server.requests == [f"/good/{n}" for n in NAMES[1:]]
    assert all((folder / n).read_bytes() == digits.gz[n] for n in NAMES)


def test_without_download_a_missing_dataset_is_an_error(isolated, digits, server, monkeypatch):
    monkeypatch.setenv("DESCENT_MNIST_MIRRORS", serve(server, digits))
    with pytest.raises(DataError, match="downloads off"):
        mnist.load("mnist", download=False)
    assert server.requests == [] and _files_under(isolated) == []


# Loading


def test_load_scales_flattens_and_caches(isolated, digits):
    write_files(isolated, digits)
    data = mnist.load("mnist")
    images, labels = digits.arrays[0], digits.arrays[1]
    assert data.x_train.shape == (12, 784) and data.x_test.shape == (5, 784)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    expected = images.astype("float32") / 255  # the seed's preprocessing
    np.testing.assert_array_equal(data.x_train, expected.reshape(12, 784))
    np.testing.assert_array_equal(data.y_train, labels)
    assert data.classes == 10
    assert not data.x_train.flags.writeable and not data.y_test.flags.writeable
    again = mnist.load("mnist")
    assert again.x_train is data.x_train
    os.utime(isolated / NAMES[0], ns=(0, 0))  # a changed file is read again
    assert mnist.load("mnist").x_train is not data.x_train


def test_load_rejects_a_file_with_the_wrong_md5(monkeypatch, isolated, digits):
    write_files(isolated, digits)
    spec = IMAGE_SETS["mnist"]
    bad = replace(spec.files[0], md5="0" * 32)
    monkeypatch.setitem(IMAGE_SETS, "mnist", replace(spec, files=(bad, *spec.files[1:])))
    with pytest.raises(IdxError, match=f"{NAMES[0]} is not the expected file.*replace it with a good copy"):
        mnist.load("mnist")


def test_subsets_are_deterministic_nested_and_independent(monkeypatch, isolated):
    fixture = make_fixture(2, train=50, test=30)
    patch_spec(monkeypatch, "mnist", fixture)
    write_files(isolated, fixture)
    a = mnist.load("mnist", train_size=10, test_size=7, seed=5)
    b = mnist.load("mnist", train_size=10, test_size=7, seed=5)
    c = mnist.load("mnist", train_size=10, test_size=7, seed=6)
    big = mnist.load("mnist", train_size=20, test_size=7, seed=5)
    assert a.x_train.shape == (10, 784) and a.x_test.shape == (7, 784)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)
    np.testing.assert_array_equal(a.x_test, big.x_test)  # the test subset ignores train_size
    rows = {r.tobytes() for r in big.x_train}
    assert all(r.tobytes() in rows for r in a.x_train)
    full = mnist.load("mnist").x_train
    index = [next(i for i, f in enumerate(full) if np.array_equal(f, r)) for r in a.x_train]
    assert index == sorted(index)
    assert a.x_train.flags.writeable


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"train_size": 0}, r"train_size must be in \[1, 60000\], got 0"),
        ({"train_size": 60001}, r"train_size must be in \[1, 60000\]"),
        ({"test_size": 2.5}, "test_size must be a whole number"),
        ({"seed": -1}, "seed must be in"),
    ],
)
def test_bad_sizes_raise_naming_the_range(given, message):
    with pytest.raises(ValueError, match=message):
        mnist.load("mnist", **given)


# The real files


TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture
def real_mnist(monkeypatch, mnist_dir):
    monkeypatch.setenv("DESCENT_DATA_DIR", str(mnist_dir))
    return mnist.load("mnist")


def test_real_mnist(real_mnist, mnist_dir):
    data = real_mnist
    assert mnist.locate("mnist") == mnist_dir
    assert data.x_train.shape == (60000, 784) and data.x_test.shape == (10000, 784)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    assert data.x_test.min() == 0.0 and data.x_test.max() == 1.0
    assert np.bincount(data.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(data.y_test).tolist() == TEST_COUNTS
    assert data.y_train[:5].tolist() == [5, 0, 4, 1, 9] and data.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    first = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:3].reshape(3, 784)
    np.testing.assert_array_equal(data.x_test[:3], first.astype("float32") / 255)


def test_real_md5s_are_the_published_ones(mnist_dir):
    for f in IMAGE_SETS["mnist"].files[1::2]:  # the label files: small, quick
        read_idx(mnist_dir / f.name, md5=f.md5)
        with pytest.raises(IdxError, match="not the expected file"):
            read_idx(mnist_dir / f.name, md5=IMAGE_SETS["fashion-mnist"].files[1].md5)


def test_real_mnist_is_verified_when_loaded(monkeypatch, mnist_dir):
    spec = IMAGE_SETS["mnist"]
    wrong = replace(spec.files[1], md5=IMAGE_SETS["fashion-mnist"].files[1].md5)
    monkeypatch.setitem(IMAGE_SETS, "mnist", replace(spec, files=(spec.files[0], wrong, *spec.files[2:])))
    with pytest.raises(IdxError, match=r"train-labels-idx1-ubyte\.gz is not the expected file"):
        mnist.load("mnist", root=mnist_dir)


def test_real_subsets(real_mnist):
    a = mnist.load("mnist", train_size=1000, test_size=200, seed=1)
    b = mnist.load("mnist", train_size=1000, test_size=200, seed=1)
    c = mnist.load("mnist", train_size=1000, test_size=200, seed=2)
    assert a.x_train.shape == (1000, 784) and a.y_test.shape == (200,)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_train, c.y_train)
    assert set(np.unique(a.y_train)) == set(range(10))


@pytest.mark.skipif(not (REAL_DEBIAN / NAMES[3]).exists(), reason="apt-get install dataset-fashion-mnist")
def test_real_fashion_mnist_from_debian(monkeypatch):
    monkeypatch.setattr(mnist, "DEBIAN_FASHION_MNIST", REAL_DEBIAN)
    assert mnist.locate("fashion-mnist") == REAL_DEBIAN
    data = mnist.load("fashion-mnist", train_size=2000, seed=0)
    assert data.x_train.shape == (2000, 784) and data.x_test.shape == (10000, 784)
    assert np.bincount(data.y_test).tolist() == [1000] * 10
    assert data.class_names[9] == "Ankle boot"


# core stays free of the web layer


ALLOWED = {"numpy", "tqdm", "core"}


@pytest.mark.parametrize("module", ["datasets", "idx", "mnist"])
def test_core_module_imports_only_numpy_tqdm_and_the_standard_library(module):
    path = Path(__file__).resolve().parents[3] / "core" / "data" / f"{module}.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    assert names - ALLOWED - sys.stdlib_module_names == set()
