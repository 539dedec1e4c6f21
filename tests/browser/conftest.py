"""Browser tests drive Debian's Chromium through Playwright (pytest-playwright's `page` fixture).

Never `playwright install`: the system browser is used. Without it the tests skip and say why, unless
DESCENT_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("DESCENT_REQUIRE_BROWSER") == "1"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # WebGL (the 3D view) runs on SwiftShader once the GPU is off; say so, or Chromium warns each time
    "--enable-unsafe-swiftshader",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found: install Debian's chromium package to run the browser tests"
        if REQUIRE_BROWSER:
            pytest.fail(f"DESCENT_REQUIRE_BROWSER=1 but {reason}")
        print(f"\nskipping browser tests: {reason}")
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": FLAGS}


@pytest.fixture(scope="session")
def base_url(live_server):
    """The served app. (Overriding pytest-playwright's own fallback `base_url` also keeps that one from
    running: pytest 9 deprecates its form, a session fixture on a plugin instance, with a warning.)"""
    return live_server


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1366, "height": 768}}


class Watch:
    """Everything a page said or fetched: console errors, uncaught exceptions, every request's host."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        page.on("console", self.console)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("request", lambda r: self.hosts.add(urlsplit(r.url).netloc or urlsplit(r.url).scheme))

    def console(self, message):
        if message.type == "error":
            self.errors.append(f"console.error: {message.text}")


@pytest.fixture
def watch(page):
    return Watch(page)
