"""Browser tests drive Debian's Chromium through Playwright (pytest-playwright's `page` fixture).

Never `playwright install`: the system browser is used. Without it the tests skip and say why, unless
DESCENT_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("DESCENT_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
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


@pytest.fixture(scope="session")
def context(browser, browser_context_args):
    context = browser.new_context(**browser_context_args)
    yield context
    context.close()


@pytest.fixture(scope="session")
def _shared_page(context):
    page = context.new_page()
    yield page
    page.close()


@pytest.fixture
def page(_shared_page):
    """One tab for the whole session, navigated by each test: a tab keeps Plotly (4.8 MB) compiled
    between page loads, where a new tab spends a second or more on it each time. about:blank between
    tests stops what the last test left running."""
    yield _shared_page
    _shared_page.goto("about:blank")


class Watch:
    """Everything a page said or fetched: console errors, uncaught exceptions, every request's host."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        self.handlers = {"console": self.console, "pageerror": self.pageerror, "request": self.request}
        for event, handler in self.handlers.items():
            page.on(event, handler)

    def console(self, message):
        if message.type == "error":
            self.errors.append(f"console.error: {message.text}")

    def pageerror(self, error):
        self.errors.append(f"uncaught: {error}")

    def request(self, request):
        url = urlsplit(request.url)
        self.hosts.add(url.netloc or url.scheme)

    def close(self):
        for event, handler in self.handlers.items():
            self.page.remove_listener(event, handler)


@pytest.fixture
def watch(page):
    watch = Watch(page)
    yield watch
    watch.close()
