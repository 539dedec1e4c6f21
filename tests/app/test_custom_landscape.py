"""A typed f(x, y) through the API and the CLI: refused formulas get a 422 (or exit 2) naming the token
and its position; accepted ones run everywhere a built-in landscape does, and a built-in typed in gives
the built-in's paths."""

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.cli import main
from app.main import create_app
from app.runs import Limits
from core.landscape.custom import custom_landscape, resolve
from core.landscape.expression import MAX_DEPTH, MAX_LENGTH
from core.landscape.landscapes import LANDSCAPES
from tests.app.test_runs import sse

TYPED = {  # built-ins as a user would type them
    "rosenbrock": "(1 - x)**2 + 100*(y - x**2)**2",
    "himmelblau": "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
    "mccormick": "sin(x + y) + (x - y)**2 - 1.5*x + 2.5*y + 3",
}

# (what is refused, the text, a token the message must name, its 1-based position or None)
REFUSED = [
    ("attribute access", "x.real + y", ".real", 2),
    ("a dunder attribute", "x.__class__", ".__class__", 2),
    ("a subscript", "x[0] + y", "[0]", 2),
    ("an unknown call", "x + foo(y)", "'foo'", 5),
    ("a dunder call", "__import__(x)", "'__import__'", 1),
    ("a dunder name", "x + __builtins__", "'__builtins__'", 5),
    ("a lambda", "(lambda: x)() + y", "lambda", 2),
    ("a comprehension", "min([x for x in y], y)", "[x for x in y]", 5),
    ("a string", "x + 'abc'", "'abc'", 5),
    ("bytes", "x + b'abc'", "b'abc'", 5),
    ("a number too large", "1e999 * x", "1e999", 1),
    (
        "nesting past the limit",
        "sin(" * (MAX_DEPTH + 10) + "x" + ")" * (MAX_DEPTH + 10),
        "nested deeper",
        None,
    ),
]
TOO_LONG = [  # refused for their length before anything is parsed
    ("nesting 1,000 deep", "(" * 1000 + "x" + ")" * 1000),
    ("10,000 terms", " + ".join(["x"] * 10_000)),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DESCENT_HOME", str(tmp_path_factory.mktemp("home")))
        with TestClient(create_app(Limits(max_active=2)), base_url="http://127.0.0.1") as c:
            yield c
            c.app.state.runs.stop_all()


def custom(expression, domain=None, **more):
    return {"landscape": "custom", "expression": expression, "domain": domain, **more}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("what", "text", "token", "position"), REFUSED, ids=[r[0] for r in REFUSED])
def test_the_api_refuses_each_construct_naming_its_token_and_position(client, what, text, token, position):
    for url in ("/api/landscape", "/api/surface", "/api/stability", "/api/tools/lr-range"):
        body = custom(text) | ({"x": 0.0, "y": 0.0} if url == "/api/stability" else {})
        r = client.post(url, json=body)
        assert r.status_code == 422, (url, r.text)
        [error] = r.json()["detail"]
        assert error["loc"] == ["body", "expression"]
        assert token in error["msg"]
        if position is not None:
            assert f"position {position}:" in error["msg"]


@pytest.mark.parametrize(("what", "text", "token", "position"), REFUSED, ids=[r[0] for r in REFUSED])
def test_the_cli_refuses_each_construct_with_exit_2(capsys, what, text, token, position):
    code, out, err = run(capsys, "path", "--landscape", "custom", "--expr", text)
    assert code == 2 and out == ""
    assert token in err and "Traceback" not in err
    if position is not None:
        assert f"position {position}:" in err


@pytest.mark.parametrize(("what", "text"), TOO_LONG, ids=[r[0] for r in TOO_LONG])
def test_overlong_formulas_are_refused_for_their_length(client, capsys, what, text):
    r = client.post("/api/landscape", json=custom(text))
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "expression"] and str(MAX_LENGTH) in error["msg"]
    code, _, err = run(capsys, "path", "--landscape", "custom", "--expr", text)
    assert code == 2 and f"{len(text)} characters long; at most {MAX_LENGTH}" in err


def test_the_core_message_reaches_the_422_unchanged(client):
    text = "x**2 + 3*y**2 + cosine(x)"
    with pytest.raises(ValueError) as refused:
        custom_landscape(text)
    r = client.post("/api/landscape", json=custom(text))
    assert r.json()["detail"][0]["msg"] == f"Value error, {refused.value}"


FUZZ_TOKENS = [
    *"xy+-*/()., [ ]{}:;=<>^%@~!#'\"\\\n\t_0123456789",
    "**",
    "//",
    "pi",
    "e",
    "1e999",
    "1e308",
    "0x1f",
    "1_000",
    "1j",
    "sin",
    "exp",
    "log",
    "hypot",
    "min",
    "max",
    "sqrt",
    "abs",
    "foo",
    "__class__",
    "__import__",
    "lambda",
    "if",
    "else",
    "for",
    "in",
    "not",
    "and",
    "or",
    "is",
    "None",
    "True",
    "yield",
    "await",
    "b'",
    "f'",
    "r'",
    "é",
    "\x00",
    "∞",
    "..",
    ":=",
]


def test_random_token_strings_parse_or_are_refused_never_a_server_error(client):
    rng = np.random.default_rng(20)
    outcomes = {200: 0, 422: 0}
    for _ in range(400):
        n = int(rng.integers(1, 25))
        text = "".join(rng.choice(FUZZ_TOKENS, size=n))
        r = client.post("/api/landscape", json=custom(text))  # a 500 raises here (TestClient)
        assert r.status_code in outcomes, (text, r.status_code, r.text)
        outcomes[r.status_code] += 1
        if r.status_code == 422:
            assert r.json()["detail"][0]["msg"]
        else:
            doc = r.json()
            assert doc["numerical_minima"] and all(np.isfinite(m["value"]) for m in doc["minima"])
    assert outcomes[422] > 0


# --- a built-in typed in is the built-in ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TYPED))
def test_a_builtin_typed_in_gives_the_builtins_paths_through_the_api(client, name):
    ls = LANDSCAPES[name]
    (x0, x1), (y0, y1) = ls.domain
    racers = [
        {"optimizer": "sgd", "hyper": {"lr": ls.lr["gd"]}},
        {"optimizer": "adam", "hyper": {"lr": 0.01}},
    ]
    body = {"racers": racers, "start": list(ls.start), "steps": 400, "format": "json"}
    builtin = client.post("/api/paths/export", json={"landscape": name, **body})
    typed = client.post("/api/paths/export", json=custom(TYPED[name], [x0, x1, y0, y1]) | body)
    assert builtin.status_code == typed.status_code == 200
    assert 'filename="descent-custom.json"' in typed.headers["content-disposition"]
    a, b = builtin.json(), typed.json()
    assert b["config"]["expression"] == TYPED[name] and b["config"]["domain"] == [x0, x1, y0, y1]
    for ra, rb in zip(a["racers"], b["racers"], strict=True):
        assert len(ra["steps"]["x"]) == len(rb["steps"]["x"]) > 40
        assert (ra["outcome"]["status"], ra["outcome"]["step"]) == (
            rb["outcome"]["status"],
            rb["outcome"]["step"],
        )
        for column in ("x", "y", "loss", "gx", "gy"):
            np.testing.assert_allclose(rb["steps"][column], ra["steps"][column], rtol=1e-12, atol=1e-12)


def streamed(client, body):
    """Each racer's streamed x, y and loss, joined."""
    with client.stream("POST", "/api/paths", json=body) as r:
        assert r.status_code == 200
        events = sse(r.iter_lines())
    paths: dict[int, dict[str, list]] = {}
    for name, data in events:
        if name == "steps":
            path = paths.setdefault(data["racer"], {"x": [], "y": [], "loss": []})
            for column in path:
                path[column] += data["steps"][column]
    return [paths[i] for i in sorted(paths)]


@pytest.mark.parametrize("name", sorted(TYPED))
def test_a_builtin_typed_in_streams_the_builtins_paths(client, name):
    ls = LANDSCAPES[name]
    (x0, x1), (y0, y1) = ls.domain
    racers = [{"optimizer": "momentum", "hyper": {"lr": ls.lr["gd"]}}, {"optimizer": "rmsprop", "hyper": {}}]
    body = {"racers": racers, "start": list(ls.start), "steps": 300}
    builtin = streamed(client, {"landscape": name, **body})
    typed = streamed(client, custom(TYPED[name], [x0, x1, y0, y1]) | body)
    for a, b in zip(builtin, typed, strict=True):
        assert len(a["x"]) == len(b["x"]) > 40
        for column in a:
            np.testing.assert_allclose(b[column], a[column], rtol=1e-12, atol=1e-12)


def test_a_builtin_typed_in_gives_the_builtins_path_through_the_cli(capsys):
    ls = LANDSCAPES["himmelblau"]
    (x0, x1), (y0, y1) = ls.domain
    common = (
        "--optimizer",
        "momentum",
        "--lr",
        "0.005",
        "--start=-0.3,-0.9",
        "--steps",
        "300",
        "--format",
        "json",
    )
    _, builtin, _ = run(capsys, "path", "--landscape", "himmelblau", *common)
    domain = f"--domain={x0},{x1},{y0},{y1}"
    code, typed, _ = run(
        capsys, "path", "--landscape", "custom", "--expr", TYPED["himmelblau"], domain, *common
    )
    assert code == 0
    a, b = json.loads(builtin)["steps"], json.loads(typed)["steps"]
    assert len(a["x"]) > 40
    np.testing.assert_allclose(b["x"], a["x"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b["y"], a["y"], rtol=1e-12, atol=1e-12)


# --- everywhere a built-in works -------------------------------------------------------------------------


def test_the_description_is_the_cores_with_its_minima_found_numerically(client):
    r = client.post("/api/landscape", json=custom("x**2 + 3*y**2 + sin(3*x)", [-2, 2, -1.5, 1.5]))
    assert r.status_code == 200
    doc = r.json()
    ls = custom_landscape("x**2 + 3*y**2 + sin(3*x)", ((-2, 2), (-1.5, 1.5)))
    assert doc["numerical_minima"] is True and doc["name"] == "custom" and doc["params"] == []
    assert doc["formula"] == ls.formula and doc["domain"] == [[-2, 2], [-1.5, 1.5]]
    assert [(m["x"], m["y"], m["is_global"]) for m in doc["minima"]] == [
        (m.x, m.y, m.is_global) for m in ls.minima
    ]
    assert doc["start"] == list(ls.start) and doc["lr"] == dict(ls.lr) and doc["steps"] == ls.steps
    builtin = client.post("/api/landscape", json={"landscape": "booth"}).json()
    assert builtin["numerical_minima"] is False and builtin["minima"] == [
        {"x": 1.0, "y": 3.0, "value": 0.0, "is_global": True}
    ]


def test_a_request_validates_then_uses_one_cached_landscape():
    a = resolve("custom", {}, "x**2 + y**2 + 0.25", [-1, 1, -1, 1])
    assert resolve("custom", None, "x**2 + y**2 + 0.25", [-1.0, 1.0, -1.0, 1.0]) is a


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"landscape": "booth", "expression": "x"}, "expression goes with landscape 'custom' only"),
        ({"landscape": "booth", "domain": [0, 1, 0, 1]}, "domain goes with landscape 'custom' only"),
        ({"landscape": "custom"}, "needs an expression"),
        (custom("x**2 + y**2") | {"landscape_params": {"kappa": 3.0}}, "takes no parameters, got kappa"),
        (custom("x**2 + y**2", [1, 0, 0, 1]), "the x range must be finite, low < high"),
        (custom("x**2 + y**2", [0, 1, -2e4, 1]), "within ±10000"),
        (custom("x**2 + y**2", [0, 1, 2]), "at least 4 items"),
        (custom("2 + pi"), "depends on neither x nor y"),
        (custom(""), "expression is empty"),
        (custom("log(-1 - x**2 - y**2)"), "not finite anywhere in the domain"),
    ],
)
def test_what_a_custom_landscape_cannot_be_is_a_clear_422(client, body, message):
    r = client.post("/api/landscape", json=body)
    assert r.status_code == 422
    assert message in " ".join(d["msg"] for d in r.json()["detail"])


def test_the_surface_and_stability_are_of_the_typed_formula(client):
    text, domain = "x**2 + 3*y**2 + sin(3*x)", [-2, 2, -1, 1]
    s = client.post("/api/surface", json=custom(text, domain, resolution=30, arrows=5)).json()
    ls = custom_landscape(text, ((-2, 2), (-1, 1)))
    assert s["x"][0] == -2 and s["x"][-1] == 2 and s["y"][0] == -1 and s["y"][-1] == 1
    z = ls.f(*np.meshgrid(s["x"], s["y"]))
    np.testing.assert_allclose(s["z"], z, rtol=1e-6, atol=1e-6)  # float32 on the wire
    st = client.post("/api/stability", json=custom(text, domain, x=0.5, y=0.25)).json()
    # λmax of diag(2 − 9 sin(3x), 6) at x = 0.5, from the exact Hessian (differences agree to ~1e-6)
    assert st["curvature"] == pytest.approx(max(2 - 9 * np.sin(1.5), 6.0), rel=1e-14)
    at = (0.5, 0.25)
    st = client.post("/api/stability", json=custom("x**4 + x*y + y**2", domain, x=at[0], y=at[1])).json()
    fxx, fxy, fyy = 12 * at[0] ** 2, 1.0, 2.0  # λmax of [[fxx, fxy], [fxy, fyy]]
    exact = (fxx + fyy) / 2 + np.hypot((fxx - fyy) / 2, fxy)
    assert st["curvature"] == pytest.approx(exact, rel=1e-14) and st["lr_limit"] == pytest.approx(2 / exact)


def test_tools_run_on_a_typed_formula(client):
    text, domain = "(x**2 + y - 11)**2 + (x + y**2 - 7)**2", [-5, 5, -5, 5]
    starts = client.post(
        "/api/tools/start-map",
        json=custom(text, domain, optimizer="sgd", hyper={"lr": 0.005}, nx=8, ny=8, steps=300),
    )
    assert starts.status_code == 200, starts.text
    doc = starts.json()
    assert len(doc["targets"]) == 4  # Himmelblau's four minima, found numerically
    assert doc["global_share"] > 0.9
    body = custom(text, domain, optimizer="sgd", points=12, steps=100)
    assert client.post("/api/tools/lr-range", json=body).status_code == 200
    noise = {"sigma_x": 4.0, "sigma_y": 2.0, "dataset_size": 500, "batch_size": 8}
    band = client.post(
        "/api/tools/seed-band", json=custom(text, domain, optimizer="sgd", noise=noise, seeds=5)
    )
    assert band.status_code == 200, band.text
    far = client.post("/api/tools/lr-range", json=custom(text, domain, optimizer="sgd", start=[500.0, 0.0]))
    assert far.status_code == 422 and "ten domain widths outside" in far.text


def test_a_logged_race_keeps_its_formula_and_domain(client):
    text, domain = "x**2 + 3*y**2", [-2, 2, -2, 2]
    body = custom(text, domain, racers=[{"optimizer": "adam", "hyper": {"lr": 0.05}}], steps=200, noise=None)
    with client.stream("POST", "/api/paths", json=body) as r:
        assert r.status_code == 200
        events = sse(r.iter_lines())
    assert [name for name, _ in events][-1] == "end"
    for _ in range(50):  # the race is logged once its stream ends
        items = client.get("/api/log", params={"kind": "path"}).json()["items"]
        if items:
            break
    entry = client.get(f"/api/log/{items[0]['id']}").json()
    assert entry["problem"] == "custom"
    assert entry["config"]["expression"] == text and entry["config"]["domain"] == domain
