"""What the server lets in and out: headers, static paths, CORS, run ids, code evaluation."""

import ast
import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.cli import build_parser
from app.main import create_app

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["/", "/playground", "/mnist", "/blocks", "/docs", "/api/registry", "/static/common.js"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    r = client.get(path)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"].startswith("'self'") and "unsafe-inline" not in directives["script-src"]
    assert "unsafe-eval" not in csp and "http" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'" and directives["default-src"] == "'self'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


def test_no_cors_by_default(client):
    preflight = client.options(
        "/api/paths",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    r = client.get("/api/registry", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app/main.py",
        "/static/%2e%2e/app/main.py",
        "/static/..%2fapp%2fmain.py",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/vendor/swagger/../../../etc/passwd",
        "/static//etc/passwd",
    ],
)
def test_static_routes_refuse_path_traversal(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert "import" not in r.text and "root:" not in r.text


def test_plotly_is_served_with_a_versioned_url_and_a_long_cache(client):
    page = client.get("/").text
    (url,) = [part.split('"')[1] for part in page.split("<script src=")[1:] if "plotly" in part]
    assert url.startswith("/vendor/plotly-") and url.endswith(".min.js")
    r = client.get(url)
    assert r.status_code == 200 and "max-age=31536000" in r.headers["cache-control"]


def test_the_server_binds_to_loopback_unless_told_otherwise():
    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1"


def test_run_ids_are_unguessable_and_control_only_their_run(client):
    body = {"dataset": "moons", "hidden": [{"width": 4}], "epochs": 500}
    a, b = (client.post("/api/runs", json=body).json()["id"] for _ in range(2))
    assert len(a) >= 22 and a != b  # 128 random bits, URL-safe
    client.post(f"/api/runs/{a}/pause")
    assert client.get(f"/api/runs/{b}").json()["status"] == "running"
    assert client.post(f"/api/runs/{a[:-1]}/stop").status_code == 404
    for run in (a, b):
        client.post(f"/api/runs/{run}/stop")


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            yield name, node


SOURCES = sorted([*ROOT.glob("core/*.py"), *ROOT.glob("app/**/*.py")])


@pytest.mark.parametrize("module", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_evaluates_user_supplied_code_or_unpickles_it(module):
    tree = ast.parse(module.read_text())
    for name, node in _calls(tree):
        builtin = isinstance(node.func, ast.Name)
        assert not (builtin and name in {"eval", "exec", "compile", "__import__"}), f"{module}: {name}()"
        if name in {"load", "loads"} and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            assert not (isinstance(owner, ast.Name) and owner.id in {"pickle", "marshal", "dill"}), module
        for keyword in node.keywords:
            assert not (keyword.arg == "allow_pickle" and getattr(keyword.value, "value", False) is True), (
                module
            )


# --- other web pages: DNS rebinding and cross-site requests ------------------------------------------

MOONS = {"dataset": "moons", "hidden": [{"width": 4}], "epochs": 1}


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:80",
        "127.0.0.1.evil.example",
        "localhost.evil.example:80",
        "127.0.0.2",
        "127.0.0.1:81",  # this server listens on 80 here
        "user@127.0.0.1",
        "127.0.0.1/x",
        "",
    ],
)
def test_a_host_that_does_not_name_this_server_is_refused(client, host):
    runs = client.app.state.runs
    before = runs.active()
    for method, path, body in [("GET", "/api/log", None), ("GET", "/", None), ("POST", "/api/runs", MOONS)]:
        r = client.request(method, path, json=body, headers={"Host": host})
        assert r.status_code == 400, (method, path)
        assert "Host" in r.json()["detail"]
        assert r.headers["x-frame-options"] == "DENY"
    assert runs.active() == before, "a refused request starts nothing"


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:80", "LOCALHOST", "localhost:80", "[::1]:80", "[::1]"]
)
def test_loopback_names_with_the_served_port_are_answered(client, host):
    assert client.get("/api/registry", headers={"Host": host}).status_code == 200


def test_names_the_user_allows_are_answered():
    app = create_app(allowed_hosts=["descent.lan"])
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get("/api/registry", headers={"Host": "descent.lan:80"}).status_code == 200
        assert c.get("/api/registry", headers={"Host": "other.lan"}).status_code == 400


def test_on_a_real_socket_the_host_must_name_the_address_and_port_served(live_server):
    port = int(live_server.rsplit(":", 1)[1])
    with httpx.Client(base_url=live_server) as http:
        assert http.get("/api/log").status_code == 200
        assert http.get("/api/log", headers={"Host": f"localhost:{port}"}).status_code == 200
        assert http.get("/api/log", headers={"Host": f"evil.example:{port}"}).status_code == 400
        assert http.get("/api/log", headers={"Host": f"127.0.0.1:{port + 1}"}).status_code == 400
        r = http.post("/api/runs", json=MOONS, headers={"Host": f"evil.example:{port}"})
        assert r.status_code == 400


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://127.0.0.1:8001"},  # another port is another origin
        {"Origin": "null"},  # a sandboxed frame or a file
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another port of the same host
    ],
)
def test_state_changes_from_another_origin_are_refused(client, headers):
    runs = client.app.state.runs
    before = runs.active()
    r = client.post("/api/runs", json=MOONS, headers=headers)
    assert r.status_code == 403 and "refused" in r.json()["detail"]
    assert client.delete("/api/log/1", headers=headers).status_code == 403
    assert client.post("/api/runs/upload", content=b"PK", headers=headers).status_code == 403
    assert runs.active() == before
    assert client.get("/api/registry", headers=headers).status_code == 200, "reading is not changing"


def test_state_changes_from_the_apps_own_pages_are_answered():
    own = {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin"}
    with TestClient(create_app(), base_url="http://127.0.0.1") as client:
        r = client.post("/api/runs", json=MOONS | {"epochs": 500}, headers=own)
        assert r.status_code == 201
        assert client.post(f"/api/runs/{r.json()['id']}/stop", headers=own).status_code == 200


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ],
)
def test_bodies_that_another_page_could_send_are_refused(client, content_type):
    """What a form, a no-cors fetch or sendBeacon can send without a CORS preflight: never acted on."""
    runs = client.app.state.runs
    before = runs.active()
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps(MOONS).encode()
    for path in ("/api/runs", "/api/runs/upload", "/api/paths"):
        r = client.post(path, content=body, headers=headers)
        assert r.status_code == 415, path
        assert "application/json" in r.json()["detail"]
    assert runs.active() == before


def test_server_errors_and_refusals_by_middleware_carry_the_security_headers():
    app = create_app()

    @app.get("/fails")
    def fails():
        raise RuntimeError("a bug")

    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as c:
        huge = {"Content-Length": str(10 * 2**20), "Content-Type": "application/json"}
        responses = [c.get("/fails"), c.post("/api/paths", content=b"{}", headers=huge)]
        assert [r.status_code for r in responses] == [500, 413]
        for r in responses:
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
