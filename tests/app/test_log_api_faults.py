"""A run log that cannot be used, over HTTP: every log endpoint answers 503 naming the file and what to
do (the export before it sends a byte), pages and races keep working, and the file is never written."""

import hashlib

import pytest
from fastapi.testclient import TestClient

from app import runlog
from app.main import create_app
from app.runs import Limits
from tests.app.test_log_api import race
from tests.app.test_runlog_faults import damage

LOG_CALLS = [
    ("GET", "/api/log"),
    ("GET", "/api/log/1"),
    ("DELETE", "/api/log/1"),
    ("GET", "/api/log/export?format=csv"),
    ("GET", "/api/log/export?format=json&kind=path"),
]


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def broken(request, monkeypatch, tmp_path):
    """(a client of an app whose log is damaged or cannot be written, the log file's path)."""
    if request.param == "unwritable":  # a file stands where the data folder should be
        (tmp_path / "home").write_text("")
        home = tmp_path / "home" / "descent"
    else:
        home = tmp_path
        damage(tmp_path / runlog.FILENAME, request.param)
    monkeypatch.setenv("DESCENT_HOME", str(home))
    with TestClient(create_app(Limits(max_active=2)), base_url="http://127.0.0.1") as client:
        yield client, home / runlog.FILENAME


@pytest.mark.parametrize("broken", ["garbage", "page", "utf8", "json", "unwritable"], indirect=True)
def test_log_endpoints_answer_503_and_the_rest_works(broken):
    client, path = broken
    before = digest(path) if path.exists() else None
    what = "cannot be written" if before is None else "is damaged"
    for method, url in LOG_CALLS * 2:  # the same answer every time
        with client.stream(method, url) as r:
            assert r.status_code == 503, (method, url, r.status_code)  # known before any body is sent
            r.read()
            detail = r.json()["detail"]
        assert f"the run log {path} {what}" in detail and "\n" not in detail, detail
    assert client.get("/").status_code == 200 and client.get("/log").status_code == 200
    for _ in range(2):
        assert race(client)[-1][0] == "end"  # the race runs whole, unlogged
    assert client.get("/api/log").status_code == 503
    assert (digest(path) if path.exists() else None) == before


def test_503_is_documented_on_every_log_route():
    spec = create_app(Limits(max_active=1)).openapi()
    routes = [(p, m) for p, item in spec["paths"].items() if p.startswith("/api/log") for m in item]
    assert len(routes) == 4
    for p, method in routes:
        assert "503" in spec["paths"][p][method]["responses"], (p, method)
