"""Shared fixtures: the optional PyTorch reference, the MNIST data directory, and the app served for real
(uvicorn in a thread: for streams in tests/app and for the browser in tests/browser)."""

import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from app import server as serving
from app.main import create_app

# In CI (DESCENT_REQUIRE_TORCH=1) a missing reference is a failure; elsewhere, a skip with a reason.
REQUIRE_TORCH = os.environ.get("DESCENT_REQUIRE_TORCH") == "1"

# The four original MNIST files sit beside the project checkout in the shared workspace.
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.fixture(autouse=True, scope="session")
def descent_home(tmp_path_factory):
    """Every run the tests make is logged (app/runlog.py): into a temporary folder, never the user's."""
    previous = os.environ.get("DESCENT_HOME")
    os.environ["DESCENT_HOME"] = str(tmp_path_factory.mktemp("descent-home"))
    yield Path(os.environ["DESCENT_HOME"])
    if previous is None:
        del os.environ["DESCENT_HOME"]
    else:
        os.environ["DESCENT_HOME"] = previous


@pytest.fixture(scope="session")
def torch():
    try:
        import torch
    except ImportError:
        if REQUIRE_TORCH:
            pytest.fail("DESCENT_REQUIRE_TORCH=1 but torch is not installed (pip install torch==2.13.0)")
        pytest.skip("torch is not installed: pip install torch==2.13.0 to run the reference tests")
    return torch


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """A directory holding the four MNIST .gz files: $DESCENT_DATA_DIR, or the shared copy."""
    for candidate in (os.environ.get("DESCENT_DATA_DIR"), SHARED_MNIST):
        if candidate and (Path(candidate) / "t10k-labels-idx1-ubyte.gz").exists():
            return Path(candidate)
    pytest.skip("MNIST not found: set DESCENT_DATA_DIR to a directory with the four .gz files")


@pytest.fixture(scope="session")
def app():
    return create_app()


@contextmanager
def serve(app, http: type = serving.TimedHTTP):
    """Serve `app` with uvicorn on a free loopback port, in a thread, as `descent serve` does (with
    `http` as its protocol); yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, log_level="warning", **{**serving.options(http), "timeout_graceful_shutdown": 1}
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(5)


@pytest.fixture(scope="session")
def live_server(app):
    """Base URL of the app served by uvicorn on a free loopback port."""
    with serve(app) as url:
        yield url
