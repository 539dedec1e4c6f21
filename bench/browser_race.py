"""How soon the landscape page shows what the user did, in Chromium: key presses and drags.

Key presses (one slider notch, twenty of each, 5 optimizers × 1,000 steps): σ of the gradient noise
on McCormick (all five re-streamed), the cosine schedule's final fraction on Rosenbrock (all five,
exact gradients), and one racer's η (that racer alone). For each: the median time from the key to the
frame that draws the new paths on the map ("map"), and to the side plots drawn too ("all").

Drags (mouse held down, moved every 16 ms, like a hand): one racer's η slider (1 of 5 noisy racers
re-streamed), the start point (4 exact racers × 1,000 steps) and the σ slider (5 noisy racers). For
each move, the time until the map first shows that move or a later one: the lag a hand feels.
Goals: η ≤ 33 ms, start ≤ 50 ms, σ ≤ 100 ms (medians of at least 20 moves).

With --reference REV the key presses also run on that revision, served from a git worktree in the
same run: a before/after ratio on a noisy machine. (Before the map's canvas, the page measured its
redraw to the side plots drawn; "map" is then that.)

Meanwhile a process asks the server for GET /api/schedules every 10 ms: the longest answer while
changes were redrawn is the worst event-loop stall (goal: under 20 ms). Then the same race requests
are replayed from a plain client, without the browser.

The server runs in its own process (uvicorn, OPENBLAS_NUM_THREADS=1), the browser is Debian's
Chromium, both on this machine. Run: python bench/browser_race.py [--reference REV]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
FLAGS += ["--disable-sync", "--no-first-run", "--enable-unsafe-swiftshader"]
FIVE = "racers=sgd;momentum;nesterov;adam;rmsprop&steps=1000"
FOUR = "/?racers=sgd;momentum;adam;rmsprop&steps=1000"
NOISY = f"/?{FIVE}&noise=1&batch_size=32"
EXACT = f"/?landscape=rosenbrock&{FIVE}&schedule=cosine"
CHANGES, WARMUP = 20, 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port: int, root: Path) -> subprocess.Popen:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)]
    server = subprocess.Popen(
        [*cmd, "--log-level", "warning"], cwd=root, env={**env, "PYTHONPATH": str(root)}
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/schedules").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.05)
    server.terminate()
    raise RuntimeError("the server did not start")


def _probe(base: str, stop, results) -> None:
    """HTTP/1.1 GETs on one kept-alive raw socket: the lightest client there is, so that what the
    latency shows is the server (httpx in a busy process adds outliers of its own)."""
    host, port = base.removeprefix("http://").split(":")
    request = f"GET /api/schedules HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    asked, latencies, buffer = [], [], b""
    with socket.create_connection((host, int(port))) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while not stop.is_set():
            t = time.perf_counter()
            sock.sendall(request)
            while True:
                received = sock.recv(65536)
                if not received:
                    raise RuntimeError("the server closed the probe's connection")
                buffer += received
                head, blank, body = buffer.partition(b"\r\n\r\n")
                if not blank:
                    continue
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"the probe got {head.splitlines()[0]!r}")
                length = int(
                    next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:"))[15:]
                )
                if len(body) >= length:
                    buffer = body[length:]
                    break
            asked.append(t)
            latencies.append(1000 * (time.perf_counter() - t))
            stop.wait(max(0.0, 0.010 - (time.perf_counter() - t)))
    results.put((asked, latencies))


class Probe:
    """GET /api/schedules every 10 ms from a process of its own (not sharing an interpreter lock
    with Playwright's driver); keeps each answer's latency in ms, and when it was asked."""

    def __init__(self, base: str):
        spawn = multiprocessing.get_context("spawn")
        self.stop, self.results = spawn.Event(), spawn.Queue()
        self.process = spawn.Process(target=_probe, args=(base, self.stop, self.results), daemon=True)
        self.asked, self.latencies = [], []

    def start(self):
        self.process.start()

    def join(self):
        """Stop probing and collect the latencies."""
        self.stop.set()
        self.asked, self.latencies = self.results.get(timeout=30)
        self.process.join()

    def during(self, windows: list[tuple[float, float]]) -> list[float]:
        """Latencies of the probes asked within any of `windows` (perf_counter start, end)."""
        pairs = zip(self.asked, self.latencies, strict=True)
        return [ms for t, ms in pairs if any(a <= t <= b for a, b in windows)]


WINDOWS: list[tuple[float, float]] = []  # when slider changes were being redrawn (perf_counter)


def measure(page, slider, n: int, warmup: bool = False) -> list[list[float]]:
    """Move `slider` one notch n times (alternately right and left): per press [map, all] in ms."""
    times = []
    for i in range(n):
        count = page.evaluate(f"performance.getEntriesByName({all_name(page)!r}).length")
        start = time.perf_counter()
        slider.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function(f"() => performance.getEntriesByName({all_name(page)!r}).length > {count}")
        page.wait_for_selector("#app[data-status=ready]")
        if not warmup:
            WINDOWS.append((start, time.perf_counter()))
        times.append(page.evaluate(LAST_PRESS))
    return times


def all_name(page) -> str:
    """The measure that ends with everything drawn: 'descent:drawn', or 'descent:redraw' before it."""
    return "descent:drawn" if page.evaluate("descent.marks !== undefined") else "descent:redraw"


# [map, all]: the last press to its paths on the map, and to the side plots drawn too
LAST_PRESS = """() => {
  const entry = (name) => performance.getEntriesByName(name).at(-1);
  const all = entry(descent.marks !== undefined ? 'descent:drawn' : 'descent:redraw');
  const map = descent.marks !== undefined ? entry('descent:redraw') : all;
  return [map.duration, all.duration];
}"""

# Every input the page gets (slider moves, pointer moves with a button down), page-clock times.
RECORD_INPUTS = """
window.benchInputs = [];
for (const type of ["input", "pointermove"]) {
  const record = (e) => (type === "input" || e.buttons) && window.benchInputs.push(performance.now());
  document.addEventListener(type, record, true);
}
"""

# Per input during the drag: ms until the first map frame answering it or a later input.
LAGS = """(since) => {
  const frames = performance.getEntriesByName('descent:redraw')
    .map((m) => [m.startTime, m.startTime + m.duration]);
  return window.benchInputs.filter((t) => t >= since).flatMap((t) => {
    const answer = frames.filter(([input]) => input >= t).map(([, drawn]) => drawn);
    return answer.length ? [Math.min(...answer) - t] : [];
  });
}"""


def drag(page, points, rounds: int = 3) -> list[float]:
    """Hold the mouse down at points[0] and move through the rest every 16 ms, `rounds` times;
    each move's lag until the map showed it (or a later move)."""
    lags = []
    for _ in range(rounds):
        since = page.evaluate("performance.now()")
        start = time.perf_counter()
        page.mouse.move(*points[0])
        page.mouse.down()
        for p in points[1:]:
            page.mouse.move(*p)
            page.wait_for_timeout(16)
        page.mouse.up()
        page.wait_for_selector("#app[data-status=ready]")
        WINDOWS.append((start, time.perf_counter()))
        lags += page.evaluate(LAGS, since)
    return lags


def thumb(page, slider) -> tuple[float, float, float]:
    """The slider's thumb centre (x, y) and the track's width, in page pixels."""
    box = slider.bounding_box()
    value = page.evaluate("(el) => (el.value - el.min) / (el.max - el.min)", slider.element_handle())
    return box["x"] + 7 + value * (box["width"] - 14), box["y"] + box["height"] / 2, box["width"]


def slider_path(page, slider, moves: int = 40) -> list[tuple[float, float]]:
    slider.scroll_into_view_if_needed()
    x, y, width = thumb(page, slider)
    span = min(0.25 * width, 60)
    return [(x, y)] + [(x + span * math.sin(math.pi * i / moves), y) for i in range(1, moves + 1)]


def start_path(page, moves: int = 40) -> list[tuple[float, float]]:
    x, y = page.evaluate(START_PX)
    return [(x, y)] + [
        (x + 60 * math.sin(2 * math.pi * i / moves), y + 40 * (1 - math.cos(2 * math.pi * i / moves)))
        for i in range(1, moves + 1)
    ]


START_PX = """() => {
  const gd = document.getElementById('paths');
  const full = gd._fullLayout, box = gd.getBoundingClientRect();
  const [x0, x1] = full.xaxis.range, [y0, y1] = full.yaxis.range;
  const [x, y] = descent.state.start;
  return [box.left + full.xaxis._offset + (x - x0) / (x1 - x0) * full.xaxis._length,
          box.top + full.yaxis._offset + (y1 - y) / (y1 - y0) * full.yaxis._length];
}"""


def presses(page, base: str, sent: list | None = None) -> dict[str, list[list[float]]]:
    """The three key-press measures on the page served at `base`."""
    results = {}

    def open_race(url):
        page.goto(base + url)
        page.wait_for_selector("#app[data-status=ready]")
        page.click("#to-end")  # stop the opening animation: each change redraws whole paths

    open_race(NOISY)
    sigma = page.locator("#noise-params .param[data-name=sigma_x] input[type=range]")
    lr = page.locator("#racers .racer").nth(3).locator("input[type=range]").first
    measure(page, sigma, WARMUP, warmup=True)
    results["σ, noise, all 5 racers re-streamed"] = measure(page, sigma, CHANGES)
    results["η, noise, 1 racer re-streamed"] = measure(page, lr, CHANGES)
    open_race(EXACT)
    floor = page.locator("#schedule-params input[type=range]")
    measure(page, floor, WARMUP, warmup=True)
    results["schedule, exact, all 5 re-streamed"] = measure(page, floor, CHANGES)
    return results


def drags(page, base: str) -> dict[str, list[float]]:
    results = {}
    page.goto(base + NOISY)
    page.wait_for_selector("#app[data-status=ready]")
    page.click("#to-end")
    lr = page.locator("#racers .racer").nth(3).locator("input[type=range]").first
    sigma = page.locator("#noise-params .param[data-name=sigma_x] input[type=range]")
    drag(page, slider_path(page, lr, 10), rounds=1)  # warm-up
    results["η slider, 1 of 5 noisy racers (goal ≤ 33 ms)"] = drag(page, slider_path(page, lr))
    page.goto(base + FOUR)
    page.wait_for_selector("#app[data-status=ready]")
    page.click("#to-end")
    results["start point, 4 exact racers × 1,000 steps (goal ≤ 50 ms)"] = drag(page, start_path(page))
    page.goto(base + NOISY)
    page.wait_for_selector("#app[data-status=ready]")
    page.click("#to-end")
    results["σ slider, 5 noisy racers (goal ≤ 100 ms)"] = drag(page, slider_path(page, sigma))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", metavar="REV", help="also time the key presses on this git revision")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(port, ROOT)
    reference = None
    if args.reference:
        tree = Path(tempfile.mkdtemp(prefix="descent-reference-")) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), args.reference],
            check=True,
        )
        ref_port = free_port()
        reference = (tree, serve(ref_port, tree), f"http://127.0.0.1:{ref_port}")
    probe = Probe(base)
    sent = []  # every race the page asked for, replayed below without the browser
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.add_init_script(RECORD_INPUTS)
            page.on(
                "request",
                lambda r: (
                    sent.append(r.post_data)
                    if r.url.startswith(base) and r.url.endswith("/api/paths")
                    else None
                ),
            )
            probe.start()
            pressed = presses(page, base)
            dragged = drags(page, base)
            probe.join()
            before = presses(page, reference[2]) if reference else None
            browser.close()
        # The same races straight from a client, no browser: what the server alone does to its loop.
        alone = Probe(base)
        alone.start()
        with httpx.Client(base_url=base, timeout=30) as http:
            for body in sent[-3 * CHANGES :]:
                headers = {"content-type": "application/json"}
                with http.stream("POST", "/api/paths", content=body, headers=headers) as r:
                    for _ in r.iter_bytes():
                        pass
        alone.join()
    finally:
        server.terminate()
        server.wait(5)
        if reference:
            reference[1].terminate()
            reference[1].wait(5)
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(reference[0])], check=False
            )

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    def stalls(latencies):
        lat = sorted(latencies)
        return (
            f"{len(lat)} requests every 10 ms: worst {lat[-1]:.1f} ms, "
            f"p99 {lat[int(0.99 * (len(lat) - 1))]:.1f} ms, median {statistics.median(lat):.1f} ms"
        )

    print("key press → redrawn race of 5 optimizers × 1,000 steps (medians of 20):")
    for name, rows in pressed.items():
        line = f"  {name}: map {med(rows, 0):.0f} ms, all {med(rows, 1):.0f} ms"
        if before:
            old = before[name]
            line += f"; {args.reference}: map {med(old, 0):.0f} ms, all {med(old, 1):.0f} ms"
            line += f" (map {med(old, 0) / med(rows, 0):.1f}× sooner)"
        print(line)
    print("drag → the map shows the move (each move's lag until the first frame showing it or a later one):")
    for name, lags in dragged.items():
        lags = sorted(lags)
        print(
            f"  {name}: median {statistics.median(lags):.0f} ms,"
            f" p90 {lags[int(0.9 * (len(lags) - 1))]:.0f} ms, {len(lags)} moves"
        )
    print("event-loop probe (goal: worst < 20 ms):")
    print(f"  while changes were redrawn: {stalls(probe.during(WINDOWS))}")
    print(f"  over the whole browser run, page loads included: {stalls(probe.latencies)}")
    replayed = min(len(sent), 3 * CHANGES)
    print(f"  the same {replayed} races replayed without the browser: {stalls(alone.latencies)}")


if __name__ == "__main__":
    main()
