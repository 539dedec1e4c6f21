"""Shared fixtures: the optional PyTorch reference and the MNIST data directory."""

import os
from pathlib import Path

import pytest

# In CI (DESCENT_REQUIRE_TORCH=1) a missing reference is a failure; elsewhere, a skip with a reason.
REQUIRE_TORCH = os.environ.get("DESCENT_REQUIRE_TORCH") == "1"

# The four original MNIST files sit beside the project checkout in the shared workspace.
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


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
