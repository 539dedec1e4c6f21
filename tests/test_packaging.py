"""The wheel and the sdist: what they carry, and that an installed wheel serves its pages from inside the
package. (A fresh venv with the wheel's dependencies, driven through the `descent` command from another
folder, is tests/smoke_wheel.py, run by .ci/run.)"""

import os
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ("static", "templates")


def checkout_files(folder: str, pattern: str = "*") -> set[str]:
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / folder).rglob(pattern)
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist, and the wheel built from it, as `python -m build` makes them for a release."""
    out = tmp_path_factory.mktemp("dist")
    build = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)]
    done = subprocess.run(build, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"python -m build failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return out


def test_the_wheel_carries_every_module_page_and_script_the_license_and_the_command(dist):
    (wheel,) = dist.glob("descent-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert "descent = app.cli:main" in z.read(entry_points).decode()
    code = checkout_files("app", "*.py") | checkout_files("core", "*.py")
    assert code - names == set(), "modules missing from the wheel"
    for folder in ASSETS:  # static/ and templates/ travel inside the app package
        assert {f"app/{name}" for name in checkout_files(folder)} - names == set(), f"{folder}/ incomplete"
    (info,) = {n.split("/")[0] for n in names if ".dist-info/" in n}
    assert f"{info}/licenses/LICENSE" in names
    assert {n.split("/")[0] for n in names} == {"app", "core", info}, "only app and core are imported names"


def test_the_sdist_carries_the_pages_scripts_and_license(dist):
    (sdist,) = dist.glob("descent-*.tar.gz")
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    wanted = (
        checkout_files("static") | checkout_files("templates") | {"LICENSE", "README.md", "pyproject.toml"}
    )
    assert wanted - names == set()


def test_an_installed_wheel_serves_every_page_from_inside_its_package(dist, tmp_path):
    """The wheel unpacked into a folder of its own, ahead of the checkout on the path: pages, scripts,
    styles, Plotly and Swagger all come from the installed package."""
    site = tmp_path / "site"
    (wheel,) = dist.glob("descent-*.whl")
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site)]
    subprocess.run([*install, str(wheel)], check=True, capture_output=True, timeout=120)
    probe = textwrap.dedent(f"""
        from pathlib import Path
        from fastapi.testclient import TestClient
        import app, core
        from app.main import create_app
        from app.routers import pages
        site = Path({str(site)!r})
        assert Path(app.__file__).is_relative_to(site) and Path(core.__file__).is_relative_to(site)
        assert pages.ASSETS == site / "app", pages.ASSETS
        paths = ["/", "/tools", "/playground", "/network-tools", "/mnist", "/blocks", "/log", "/docs",
                 "/openapi.json", pages.PLOTLY_URL, "/vendor/swagger/swagger-ui-bundle.js"]
        paths += ["/static/" + p.name for p in (site / "app" / "static").iterdir() if p.is_file()]
        with TestClient(create_app(), base_url="http://127.0.0.1") as client:
            bad = {{p: client.get(p).status_code for p in paths}}
        bad = {{p: s for p, s in bad.items() if s != 200}}
        assert not bad, bad
        print(len(paths))
        """)
    env = {**os.environ, "PYTHONPATH": str(site), "DESCENT_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout) > 30
