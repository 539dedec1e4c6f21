"""What the server lets in and out: headers, static paths, CORS, run ids, code evaluation."""

import ast
from pathlib import Path

import pytest

from app.cli import build_parser

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
