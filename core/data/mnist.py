"""MNIST and Fashion-MNIST: find, download, verify and load the four IDX files of each.

Where the files are looked for, in order (the first folder that holds all four files of the dataset
wins; a folder is recognised by the MD5 of its small test-label file, so a folder of MNIST files is
never taken for Fashion-MNIST, whose file names are the same):

1. `<data dir>/<dataset>/`, where the data dir is `$DESCENT_DATA_DIR`, else `$XDG_CACHE_HOME/descent`,
   else `~/.cache/descent`, and the dataset is `mnist` or `fashion-mnist`;
2. `<data dir>` itself, so `DESCENT_DATA_DIR` may point straight at a folder with the four files;
3. for Fashion-MNIST, `DEBIAN_FASHION_MNIST` (Debian's `dataset-fashion-mnist` package).

Missing files are downloaded into `<data dir>/<dataset>/` from the dataset's mirrors, tried in order
(override them with the `mirrors` argument or `$DESCENT_MNIST_MIRRORS` / `$DESCENT_FASHION_MNIST_MIRRORS`,
base URLs separated by commas or spaces). A download goes to a hidden temporary file in that folder
and is renamed only once the MD5 of its uncompressed bytes matches, so no partial or bad file is
ever left under a real name. The MD5s are those of the uncompressed files (Debian recompressed its
copies, so the .gz files themselves differ).

`load` returns a `core.data.datasets.Split`: float32 images scaled to [0, 1] (the seed's `x / 255`) and
flattened to (n, 784), int64 labels. Decoded arrays are cached per process and are read-only; a subset
(train_size / test_size) is a fresh array.
"""

from __future__ import annotations

import functools
import http.client
import os
import re
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.datasets import Split, plain
from core.data.idx import IdxError, md5_hex, read_gzip, read_idx
from core.params import Param, by_name, lookup, resolve

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
DATA_DIR_ENV = "DESCENT_DATA_DIR"
TIMEOUT = 30  # seconds without data before a mirror counts as down
_CHUNK = 1 << 16


class DataError(RuntimeError):
    """A dataset that is not on this machine and could not be downloaded, or a folder we cannot use."""


@dataclass(frozen=True)
class IdxFile:
    name: str  # e.g. "train-images-idx3-ubyte.gz"
    md5: str  # of the uncompressed bytes
    size: int  # uncompressed bytes


@dataclass(frozen=True)
class ImageSet:
    name: str  # folder name under the data dir, CLI and registry key
    label: str
    description: str
    files: tuple[IdxFile, ...]  # train images, train labels, test images, test labels
    mirrors: tuple[str, ...]  # base URLs, tried in order
    class_names: tuple[str, ...]
    params: tuple[Param, ...]  # train_size, test_size, seed of `load`
    shape: tuple[int, int] = (28, 28)
    debian_package: str = ""  # if set, its files are searched in DEBIAN_FASHION_MNIST

    @property
    def test_labels(self) -> IdxFile:
        return self.files[3]

    @property
    def mirror_env(self) -> str:
        return f"DESCENT_{self.name.upper().replace('-', '_')}_MIRRORS"


def data_dir() -> Path:
    """$DESCENT_DATA_DIR, else $XDG_CACHE_HOME/descent, else ~/.cache/descent."""
    if given := os.environ.get(DATA_DIR_ENV):
        return Path(given).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / "descent"


def search_path(name: str, root: Path | None = None) -> list[Path]:
    """The folders searched for dataset `name`, in order."""
    spec = get_image_set(name)
    root = data_dir() if root is None else Path(root)
    system = [DEBIAN_FASHION_MNIST] if spec.debian_package else []
    return [root / spec.name, root, *system]


def _holds(folder: Path, spec: ImageSet) -> bool:
    """All four files are there, and the small test-label file is this dataset's."""
    if not all((folder / f.name).is_file() for f in spec.files):
        return False
    try:
        return (
            md5_hex(read_gzip(folder / spec.test_labels.name, spec.test_labels.size)) == spec.test_labels.md5
        )
    except (OSError, IdxError):
        return False


def locate(name: str, root: Path | None = None) -> Path | None:
    """The first folder of `search_path` that holds dataset `name`, or None."""
    spec = get_image_set(name)
    return next((d for d in search_path(name, root) if _holds(d, spec)), None)


def mirrors_for(name: str, mirrors=None) -> list[str]:
    """`mirrors` if given, else the URLs in $DESCENT_<NAME>_MIRRORS, else the dataset's own."""
    spec = get_image_set(name)
    if mirrors is None and (env := os.environ.get(spec.mirror_env)):
        mirrors = [url for url in re.split(r"[\s,]+", env) if url]
    return list(spec.mirrors if mirrors is None else mirrors)


def _download(url: str, dest: Path, file: IdxFile, progress: bool) -> None:
    """Fetch `url` into a temporary file beside `dest`; rename it to `dest` only once it verifies."""
    from tqdm import tqdm  # only downloads need it

    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            limit = file.size + (1 << 20)  # gzip adds a few bytes per 16 KiB, even to random data
            received = 0
            bar = tqdm(
                total=total,
                desc=file.name,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                disable=not progress,
            )
            with bar:
                while chunk := response.read(_CHUNK):
                    received += len(chunk)
                    if received > limit:
                        raise IdxError(f"the download exceeds {limit} bytes, the most expected")
                    out.write(chunk)
                    bar.update(len(chunk))
        read_idx(tmp, file.md5, file.size, source="the download")
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _reason(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


def _verified(path: Path, file: IdxFile) -> bool:
    try:
        read_idx(path, file.md5, file.size)
        return True
    except (OSError, IdxError):
        return False


def fetch(name: str, root: Path | None = None, mirrors=None, progress: bool = True) -> Path:
    """The folder holding dataset `name`: found by `locate`, else downloaded into `<data dir>/<name>`.

    Raises DataError, naming the files, the folders searched and the remedy, when a file can be had
    from no mirror.
    """
    spec = get_image_set(name)
    root = data_dir() if root is None else Path(root)
    if found := locate(name, root):
        return found
    target = root / spec.name
    created = not target.exists()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create {target} for {spec.label} ({e}); set {DATA_DIR_ENV}") from None
    try:
        _fetch_missing(spec, target, mirrors_for(name, mirrors), progress)
    except DataError:
        if created and not any(target.iterdir()):
            target.rmdir()
        raise
    return target


def _fetch_missing(spec: ImageSet, target: Path, urls: list[str], progress: bool) -> None:
    """Download into `target` each file that is not there verified, trying the mirrors in order."""
    for file in spec.files:
        dest = target / file.name
        if dest.is_file() and _verified(dest, file):
            continue
        failures = []
        for base in urls:
            url = f"{base.rstrip('/')}/{file.name}"
            try:
                _download(url, dest, file, progress)
                break
            except (OSError, ValueError, http.client.HTTPException) as e:
                failures.append(f"{url}: {_reason(e)}")
        else:
            raise DataError(_unavailable(spec, target.parent, "; ".join(failures)))


def _unavailable(spec: ImageSet, root: Path, tried: str) -> str:
    """One line: what was tried, the files expected, the folders searched, the remedy."""
    files = ", ".join(f.name for f in spec.files)
    searched = ", ".join(str(d) for d in search_path(spec.name, root))
    debian = f", or `apt-get install {spec.debian_package}`" if spec.debian_package else ""
    return (
        f"{spec.label} not found and not downloaded ({tried}). Expected {files} in one of: {searched}."
        f" Copy the four files into {root / spec.name}, or set {DATA_DIR_ENV} to a folder that holds them"
        f"{debian}."
    )


_LOCK = threading.Lock()


@functools.lru_cache(maxsize=2)
def _decoded(spec: ImageSet, folder: Path, stamp: tuple) -> Split:
    """All of a dataset, verified and converted; `stamp` (mtimes and sizes) renews it when files change."""
    arrays = [read_idx(folder / f.name, f.md5, f.size) for f in spec.files]
    parts: list[np.ndarray] = []
    for images, labels, what in ((arrays[0], arrays[1], "train"), (arrays[2], arrays[3], "test")):
        if images.ndim != 3 or images.shape[1:] != spec.shape or labels.shape != images.shape[:1]:
            raise IdxError(f"{folder}: {what} images {images.shape} and labels {labels.shape} do not match")
        if labels.max() >= len(spec.class_names):
            raise IdxError(f"{folder}: {what} labels go up to {labels.max()}, beyond the classes")
        x = np.divide(images.reshape(len(images), -1), np.float32(255), dtype=np.float32)
        y = labels.astype(np.int64)
        x.flags.writeable = y.flags.writeable = False
        parts += [x, y]
    x_train, y_train, x_test, y_test = parts
    return Split(x_train, y_train, x_test, y_test, spec.class_names)


def _subset(x, y, size, rng):
    """`size` rows chosen at random, in their original order; the same seed gives nested subsets."""
    if size >= len(y):
        return x, y
    rows = np.sort(rng.permutation(len(y))[:size])
    return x[rows], y[rows]


def load(
    name: str = "mnist",
    train_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
    root: Path | None = None,
    mirrors=None,
    download: bool = True,
    progress: bool = True,
) -> Split:
    """Train and test images of dataset `name` as float32 (n, 784) in [0, 1], int64 labels.

    `train_size` / `test_size` pick that many samples at random (None: all), deterministically per
    seed. Without `download`, a missing dataset raises DataError instead of being fetched.
    """
    spec = get_image_set(name)
    given = {"train_size": train_size, "test_size": test_size, "seed": seed}
    v = resolve(spec.params, plain({k: x for k, x in given.items() if x is not None}), f"dataset {name!r}")
    folder = fetch(name, root, mirrors, progress) if download else locate(name, root)
    if folder is None:
        raise DataError(_unavailable(spec, data_dir() if root is None else Path(root), "downloads off"))
    stamp = tuple((s.st_mtime_ns, s.st_size) for s in ((folder / f.name).stat() for f in spec.files))
    try:
        with _LOCK:
            full = _decoded(spec, folder.resolve(), stamp)
    except IdxError as e:
        raise IdxError(f"{e}; replace it with a good copy, or delete it to download it again") from None
    train_rng, test_rng = np.random.default_rng(v["seed"]).spawn(2)
    x_train, y_train = _subset(full.x_train, full.y_train, v["train_size"], train_rng)
    x_test, y_test = _subset(full.x_test, full.y_test, v["test_size"], test_rng)
    return Split(x_train, y_train, x_test, y_test, spec.class_names)


def clear_cache() -> None:
    """Forget the decoded arrays (they hold about 220 MB per dataset)."""
    _decoded.cache_clear()


def _params(train: int, test: int) -> tuple[Param, ...]:
    return (
        Param("train_size", "training samples", train, 1, train, log=True, integer=True),
        Param("test_size", "test samples", test, 1, test, log=True, integer=True),
        Param("seed", "subset seed", 0, 0, 2**32 - 1, integer=True),
    )


# The standard four files: names and uncompressed sizes (IDX header + data) of every dataset here.
_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_SIZES = (16 + 60000 * 28 * 28, 8 + 60000, 16 + 10000 * 28 * 28, 8 + 10000)


def _files(*md5s: str) -> tuple[IdxFile, ...]:
    return tuple(IdxFile(name, md5, size) for name, md5, size in zip(_NAMES, md5s, _SIZES, strict=True))


FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

IMAGE_SETS: dict[str, ImageSet] = by_name(
    [
        ImageSet(
            "mnist",
            "MNIST",
            "handwritten digits, 28×28 grey, 60,000 training and 10,000 test images",
            _files(
                "6bbc9ace898e44ae57da46a324031adb",
                "a25bea736e30d166cdddb491f175f624",
                "2646ac647ad5339dbf082846283269ea",
                "27ae3e4e09519cfbb04c329615203637",
            ),
            ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
            tuple(str(d) for d in range(10)),
            _params(60000, 10000),
        ),
        ImageSet(
            "fashion-mnist",
            "Fashion-MNIST",
            "Zalando's article images, 28×28 grey, 60,000 training and 10,000 test images",
            _files(
                "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                "9018921c3c673c538a1fc5bad174d6f9",
                "8181f5470baa50b63fa0f6fddb340f0a",
                "15d484375f8d13e6eb1aabb0c3f46965",
            ),
            ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
            FASHION_CLASSES,
            _params(60000, 10000),
            debian_package="dataset-fashion-mnist",
        ),
    ]
)


def get_image_set(name: str) -> ImageSet:
    return lookup(IMAGE_SETS, name, "image dataset")
