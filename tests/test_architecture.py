"""core/ is the numpy engine: it never imports the web layer."""

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "core"
WEB = {"app", "fastapi", "starlette", "jinja2", "uvicorn", "pydantic", "plotly", "httpx", "orjson"}


@pytest.mark.parametrize("module", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_never_imports_the_web_layer(module):
    tree = ast.parse(module.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert name.split(".")[0] not in WEB, f"{module.name} imports {name}"
