"""The app in-process (TestClient); `app` and `live_server` (uvicorn) live in tests/conftest.py."""

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c
