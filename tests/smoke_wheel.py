"""Smoke test of an installed Descent (a wheel in a fresh venv), run from outside the checkout.

    python tests/smoke_wheel.py VENV/bin/descent

Runs the commands a new user starts with, then `descent serve` on a free port: every page, and every
asset the pages and scripts reference, must answer 200. Not collected by pytest (it needs an installed
wheel, which .ci/run builds); it uses the standard library only, so any Python can run it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

CHECKOUT = Path(__file__).resolve().parents[1]
PAGES = [
    "/",
    "/tools",
    "/playground",
    "/network-tools",
    "/mnist",
    "/blocks",
    "/log",
    "/docs",
    "/openapi.json",
]
HTML_REF = re.compile(r'(?:src|href)="(/[^"/][^"]*|/)"')
JS_IMPORT = re.compile(r'(?:from|import)\s*\(?\s*"(\.{1,2}/[^"]+)"')
CSS_URL = re.compile(r'url\(\s*["\']?([^"\')]+)["\']?\s*\)')


class SmokeError(Exception):
    pass


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    """The command's stdout; a non-zero exit is a failure that shows stderr."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    shown = " ".join(["descent", *cmd[1:]])
    if done.returncode != 0:
        raise SmokeError(f"{shown} exited {done.returncode}:\n{done.stderr[-2000:]}")
    print(f"ok  {shown}")
    return done.stdout


def check_installed(descent: str, cwd: Path, env: dict[str, str]) -> None:
    """The command's app and core are its environment's own copies, not the checkout's."""
    python = Path(descent).resolve().parent / "python"  # its environment's (pipx and uv link the command)
    imported = "import app, core; print(app.__file__); print(core.__file__)"
    done = subprocess.run(
        [python, "-c", imported], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise SmokeError(f"the command's Python cannot import app and core:\n{done.stderr[-2000:]}")
    for line in done.stdout.split():
        if Path(line).resolve().is_relative_to(CHECKOUT):
            raise SmokeError(f"the command imports from the checkout ({line}), not from its own install")
    print(f"ok  app and core import from {Path(done.stdout.split()[0]).parents[1]}")


def check_commands(descent: str, cwd: Path, env: dict[str, str]) -> None:
    check_installed(descent, cwd, env)
    run([descent, "--help"], cwd, env)
    if not run([descent, "--version"], cwd, env).strip():
        raise SmokeError("descent --version printed nothing")
    if "rosenbrock" not in run([descent, "landscapes"], cwd, env):
        raise SmokeError("descent landscapes does not list rosenbrock")
    lines = run([descent, "train", "moons", "--epochs", "2", "--json"], cwd, env).splitlines()
    events = [json.loads(line) for line in lines if line]
    if events[-1].get("type") != "summary" or events[-1].get("status") != "done":
        raise SmokeError(f"descent train moons ended with {events[-1]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.headers.get_content_type(), r.read()
    except urllib.error.HTTPError as e:
        return e.code, "", b""
    except OSError as e:
        raise SmokeError(f"GET {url}: {e}") from e


def references(path: str, content_type: str, body: bytes) -> set[str]:
    """Same-origin paths a page, script or stylesheet asks the browser to load (API links excluded)."""
    text = body.decode("utf-8", "replace")
    if content_type == "text/html":
        refs = set(HTML_REF.findall(text))
    elif path.endswith(".js"):
        refs = {urljoin(path, ref) for ref in JS_IMPORT.findall(text)}
    elif path.endswith(".css"):
        refs = {urljoin(path, ref) for ref in CSS_URL.findall(text) if not ref.startswith("data:")}
    else:
        refs = set()
    return {ref.split("#")[0] for ref in refs if not ref.startswith("/api/")} - {""}


def crawl(base: str) -> int:
    """Fetch every page and everything they reference; the number of distinct paths fetched."""
    seen: set[str] = set()
    queue = list(PAGES)
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        status, content_type, body = fetch(base + path)
        if status != 200:
            raise SmokeError(f"GET {path} answered {status}")
        queue.extend(references(path, content_type, body) - seen)
    for path in sorted(seen):
        print(f"ok  GET {path}")
    return len(seen)


def wait_until_up(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SmokeError(f"descent serve exited {server.returncode} before answering")
        try:
            with urllib.request.urlopen(base + "/api/registry", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SmokeError(f"descent serve did not answer within {timeout:.0f} s")


def stop(server: subprocess.Popen) -> None:
    """Ctrl-C, as a user would; then the whole process group, whatever is left of it."""
    with contextlib.suppress(ProcessLookupError):  # it may have exited by itself
        os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired as e:
        raise SmokeError("descent serve did not stop within 15 s of Ctrl-C") from e
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)


def check_serve(descent: str, cwd: Path, env: dict[str, str]) -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = cwd / "serve.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [descent, "serve", "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        wait_until_up(base, server)
        fetched = crawl(base)
    except SmokeError:
        print(log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        stop(server)
    print(f"ok  descent serve on port {port}, stopped by Ctrl-C")
    return fetched


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/smoke_wheel.py VENV/bin/descent", file=sys.stderr)
        return 2
    descent = str(Path(argv[0]).absolute())
    with tempfile.TemporaryDirectory(prefix="descent-smoke-") as tmp:
        cwd = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["DESCENT_HOME"] = str(cwd / "home")  # the run log goes here, not into the user's data folder
        try:
            check_commands(descent, cwd, env)
            fetched = check_serve(descent, cwd, env)
        except (SmokeError, subprocess.TimeoutExpired) as e:
            print(f"FAIL  {e}", file=sys.stderr)
            return 1
    print(f"wheel smoke: the commands ran and all {fetched} pages and assets answered 200")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
