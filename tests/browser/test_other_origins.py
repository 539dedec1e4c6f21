"""Other web pages in the same browser cannot use the app: an attacker's page on a second loopback port
sends it cross-site requests, and a DNS-rebinding page (a name of its own, mapped to 127.0.0.1 by
Chromium's resolver rules) reads and changes it as if same-origin. Chromium itself sends the requests;
the test reads each answer's status from the browser's network log and checks nothing changed."""

import base64
import http.server
import threading
import time
from contextlib import contextmanager

import httpx
import pytest

MOONS = {"dataset": "moons", "hidden": [{"width": 4}], "epochs": 1}
ATTACKER = b"<!doctype html><title>somewhere else</title><p>an ordinary page on another origin</p>"


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(ATTACKER)))
        self.end_headers()
        self.wfile.write(ATTACKER)

    def log_message(self, *args):
        pass


@contextmanager
def attacker_site():
    """A page on another loopback port: same site, another origin."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def saved_model(http: httpx.Client) -> bytes:
    run_id = http.post("/api/runs", json=MOONS).json()["id"]
    deadline = time.monotonic() + 30
    while http.get(f"/api/runs/{run_id}").json()["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return http.get(f"/api/runs/{run_id}/model").content


def logged_race(http: httpx.Client) -> int:
    """Stream a race to its end (so it is logged) and return its row's id."""
    race = {"landscape": "booth", "steps": 20, "racers": [{"optimizer": "sgd", "hyper": {"lr": 0.01}}]}
    with http.stream("POST", "/api/paths", json=race) as r:
        r.read()
    return http.get("/api/log", params={"limit": 1}).json()["items"][0]["id"]


ATTACKS = """async ([victim, model]) => {
  const json = JSON.stringify({dataset: "moons", hidden: [{width: 4}], epochs: 1});
  const bytes = Uint8Array.from(atob(model), (c) => c.charCodeAt(0));
  const opts = {method: "POST", mode: "no-cors"};
  await fetch(victim + "/api/runs", {...opts, body: new Blob([json])});  // no Content-Type at all
  await fetch(victim + "/api/runs", {...opts, headers: {"content-type": "text/plain"}, body: json});
  await fetch(victim + "/api/runs/upload", {...opts, body: bytes});
  navigator.sendBeacon(victim + "/api/runs/upload", new Blob([bytes]));
  let cors;
  try {
    const headers = {"content-type": "application/json"};
    await fetch(victim + "/api/runs", {method: "POST", headers, body: json});
    cors = "answered";
  } catch (e) {
    cors = "blocked";  // the preflight: the app grants no CORS
  }
  let read;
  try {
    read = await (await fetch(victim + "/api/log")).text();
  } catch (e) {
    read = "blocked";
  }
  return {cors, read};
}"""


def test_a_page_on_another_origin_can_neither_start_runs_nor_read_the_log(page, live_server, app):
    with httpx.Client(base_url=live_server, timeout=30) as http:
        model = base64.b64encode(saved_model(http)).decode()
    runs = app.state.runs
    before = set(runs._runs)
    answers: list[tuple[str, int]] = []
    page.on("response", lambda r: answers.append((r.request.url, r.status)))
    with attacker_site() as elsewhere:
        page.goto(elsewhere)
        result = page.evaluate(ATTACKS, [live_server, model])
        deadline = time.monotonic() + 10  # the beacon goes out after the page's own requests
        while sum("/api/runs" in url for url, _ in answers) < 4 and time.monotonic() < deadline:
            page.wait_for_timeout(50)
    sent = [(url.removeprefix(live_server), status) for url, status in answers if url.startswith(live_server)]
    no_cors = [(url, status) for url, status in sent if url.startswith("/api/runs")]
    assert len(no_cors) == 4, sent  # two creates, an upload and a beacon reached the app...
    assert all(status == 403 for _, status in no_cors), sent  # ...and each was refused
    assert result == {"cors": "blocked", "read": "blocked"}
    assert set(runs._runs) == before, "no run was started"


@pytest.fixture
def rebinding_page(browser_type, browser_type_launch_args):
    """A tab whose browser resolves evil.example to 127.0.0.1, as a rebinding DNS server would."""
    args = [*browser_type_launch_args["args"], "--host-resolver-rules=MAP evil.example 127.0.0.1"]
    browser = browser_type.launch(**{**browser_type_launch_args, "args": args})
    page = browser.new_page()
    yield page
    browser.close()


def test_a_dns_rebinding_page_can_neither_read_nor_change_anything(rebinding_page, live_server):
    with httpx.Client(base_url=live_server, timeout=30) as http:
        row = logged_race(http)
        port = live_server.rsplit(":", 1)[1]
        rebound = f"http://evil.example:{port}"
        assert rebinding_page.goto(f"{rebound}/log").status == 400
        statuses = rebinding_page.evaluate(
            """async (row) => [
              (await fetch("/api/log")).status,
              (await fetch("/api/log/export?format=json")).status,
              (await fetch("/api/log/" + row, {method: "DELETE"})).status,
              (await fetch("/api/runs", {method: "POST", headers: {"content-type": "application/json"},
                                         body: JSON.stringify({dataset: "moons", epochs: 1})})).status,
            ]""",
            row,
        )
        assert statuses == [400, 400, 400, 400]
        assert http.get(f"/api/log/{row}").status_code == 200, "the row is still there"
