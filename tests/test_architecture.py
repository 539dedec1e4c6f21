"""core/ is the numpy engine: it never imports the web layer, and its subpackages show the architecture.

core/landscape/ (2D functions and what runs on them) and core/nn/ (networks) never import each other;
both may use core/data/ and the shared modules at core/'s top (optimizers, schedules, params).
"""

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "core"
WEB = {"app", "fastapi", "starlette", "jinja2", "uvicorn", "pydantic", "plotly", "httpx", "orjson"}
MODULES = sorted(CORE.rglob("*.py"))
APART = {"landscape": "core.nn", "nn": "core.landscape", "data": ("core.nn", "core.landscape")}


def imported(module: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
    return names


def label(module: Path) -> str:
    return module.relative_to(CORE).as_posix()


@pytest.mark.parametrize("module", MODULES, ids=label)
def test_core_never_imports_the_web_layer(module):
    for name in imported(module):
        assert name.split(".")[0] not in WEB, f"{label(module)} imports {name}"


@pytest.mark.parametrize("module", MODULES, ids=label)
def test_landscapes_networks_and_data_stay_apart(module):
    package = module.relative_to(CORE).parts[0]
    forbidden = APART.get(package, ())
    for name in imported(module):
        assert not name.startswith(forbidden), f"{label(module)} imports {name}"


def test_core_is_grouped_by_concern():
    top = {p.name for p in CORE.glob("*.py")}
    assert top == {"__init__.py", "optimizers.py", "schedules.py", "params.py"}, "shared modules only"
    assert {p.name for p in CORE.iterdir() if p.is_dir() and p.name != "__pycache__"} == set(APART)
