"""The app in-process (TestClient); `app` and `live_server` (uvicorn) live in tests/conftest.py."""

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(app):
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
