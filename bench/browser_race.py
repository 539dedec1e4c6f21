"""Slider change to redrawn race, in Chromium: 5 optimizers × 1,000 steps.

The page marks each input event and measures `descent:redraw` once the last stream's `end` event has
been drawn (static/landscapes.js). Three sliders, twenty changes each, the median of each:

- σ of the simulated gradient noise on McCormick: all five racers re-streamed (the heaviest case:
  noisy steps cost the server twice as much);
- the cosine schedule's final fraction on Rosenbrock, exact gradients: all five re-streamed;
- one racer's learning rate (McCormick, noise): that racer alone is re-streamed.

Goal: under 150 ms. Meanwhile a thread asks the server for GET /api/schedules every 10 ms and
records how long each answer took: the longest, among those asked while a slider change was being
redrawn, is the worst event-loop stall. Goal: under 20 ms. (Loading the second page, with its
surface and a 4 MB script, is not a slider change: its probes are reported apart.)
Then the same race requests are replayed from a plain client, probe running, without the browser:
what the server does to its own loop, apart from the browser's share of the CPU.

The server runs in its own process (uvicorn, OPENBLAS_NUM_THREADS=1), the browser is Debian's
Chromium, both on this machine. Run: python bench/browser_race.py
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
FLAGS += ["--disable-sync", "--no-first-run", "--enable-unsafe-swiftshader"]
FIVE = "racers=sgd;momentum;nesterov;adam;rmsprop&steps=1000"
NOISY = f"/?{FIVE}&noise=1&batch_size=32"
EXACT = f"/?landscape=rosenbrock&{FIVE}&schedule=cosine"
CHANGES, WARMUP = 20, 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port: int) -> subprocess.Popen:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)]
    server = subprocess.Popen([*cmd, "--log-level", "warning"], cwd=ROOT, env=env)
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


def measure(page, slider, n: int, warmup: bool = False) -> list[float]:
    """Move `slider` one notch n times (alternately right and left); each redraw's duration in ms."""
    times = []
    for i in range(n):
        count = page.evaluate("performance.getEntriesByName('descent:redraw').length")
        start = time.perf_counter()
        slider.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function(f"() => performance.getEntriesByName('descent:redraw').length > {count}")
        page.wait_for_selector("#app[data-status=ready]")
        if not warmup:
            WINDOWS.append((start, time.perf_counter()))
        times.append(page.evaluate(BREAKDOWN))
    return times


# input → request sent (debounce) → stream's end event → drawn, for the last redraw
BREAKDOWN = """() => {
  const m = performance.getEntriesByName('descent:redraw').at(-1);
  const before = (e) => e.startTime <= m.startTime + m.duration;
  const last = (name) => performance.getEntriesByName(name).filter(before).at(-1).startTime;
  const request = last('descent:request'), end = last('descent:end');
  const t = descent.timings;
  const drawn = m.startTime + m.duration - end;
  return [m.duration, request - m.startTime, end - request, drawn, t.fg, t.side];
}"""


def main() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(port)
    probe = Probe(base)
    results = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            sent = []  # every race the page asked for, replayed below without the browser
            page.on("request", lambda r: sent.append(r.post_data) if r.url.endswith("/api/paths") else None)

            def open_race(url):
                page.goto(base + url)
                page.wait_for_selector("#app[data-status=ready]")
                page.click("#to-end")  # stop the opening animation: each change redraws whole paths
                rows = page.evaluate("descent.racers.map(r => r.data.x.length)")
                print(f"{url}: points per racer {rows}")

            open_race(NOISY)
            sigma = page.locator("#noise-params .param[data-name=sigma_x] input[type=range]")
            lr = page.locator("#racers .racer").nth(3).locator("input[type=range]").first
            measure(page, sigma, WARMUP, warmup=True)
            probe.start()
            results["σ slider, noise, all 5 racers re-streamed"] = measure(page, sigma, CHANGES)
            results["η slider, noise, 1 racer re-streamed"] = measure(page, lr, CHANGES)
            open_race(EXACT)
            floor = page.locator("#schedule-params input[type=range]")
            measure(page, floor, WARMUP, warmup=True)
            results["schedule slider, exact, all 5 re-streamed"] = measure(page, floor, CHANGES)
            probe.join()
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

    def summary(rows):
        total = [r[0] for r in rows]
        parts = [statistics.median(r[i] for r in rows) for i in (1, 2, 3, 4, 5)]
        return (
            f"median {statistics.median(total):.0f} ms (min {min(total):.0f}, max {max(total):.0f})\n"
            f"    medians: input to request {parts[0]:.0f}, request to end event {parts[1]:.0f}, "
            f"end event to all drawn {parts[2]:.0f} (map {parts[3]:.0f}, side plots {parts[4]:.0f})"
        )

    def stalls(latencies):
        lat = sorted(latencies)
        return (
            f"{len(lat)} requests every 10 ms: worst {lat[-1]:.1f} ms, "
            f"p99 {lat[int(0.99 * (len(lat) - 1))]:.1f} ms, median {statistics.median(lat):.1f} ms"
        )

    print("slider → redrawn race of 5 optimizers × 1,000 steps, map and side plots (goal < 150 ms):")
    for name, rows in results.items():
        print(f"  {name}: {summary(rows)}")
    print("event-loop probe (goal: worst < 20 ms):")
    print(f"  while slider changes were redrawn: {stalls(probe.during(WINDOWS))}")
    print(f"  over the whole browser run, the second page's load included: {stalls(probe.latencies)}")
    replayed = min(len(sent), 3 * CHANGES)
    print(f"  the same {replayed} races replayed without the browser: {stalls(alone.latencies)}")


if __name__ == "__main__":
    main()
