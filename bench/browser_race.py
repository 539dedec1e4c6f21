"""Slider change to redrawn race, in Chromium: 5 optimizers × 1,000 steps on McCormick.

The page marks each input event and measures `descent:redraw` once the last stream's `end` event has
been drawn (static/landscapes.js). Twenty changes of a slider that re-streams all five racers (σ of
the simulated noise), then twenty of one racer's learning rate (that racer alone is re-streamed);
the median of each. Goal: under 150 ms.

Meanwhile a thread asks the server for GET /api/schedules every 10 ms and records how long each
answer took: the longest is the worst event-loop stall. Goal: under 20 ms.

The server runs in its own process (uvicorn, OPENBLAS_NUM_THREADS=1), the browser is Debian's
Chromium. Run: python bench/browser_race.py
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
FLAGS += ["--disable-sync", "--no-first-run", "--enable-unsafe-swiftshader"]
RACE = "?racers=sgd;momentum;nesterov;adam;rmsprop&steps=1000&noise=1&batch_size=32"
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


class Probe(threading.Thread):
    """GET /api/schedules every 10 ms; keeps each answer's latency in ms."""

    def __init__(self, base: str):
        super().__init__(daemon=True)
        self.base, self.latencies, self.stop = base, [], threading.Event()

    def run(self):
        with httpx.Client(base_url=self.base) as http:
            while not self.stop.is_set():
                t = time.perf_counter()
                http.get("/api/schedules").raise_for_status()
                self.latencies.append(1000 * (time.perf_counter() - t))
                self.stop.wait(max(0.0, 0.010 - (time.perf_counter() - t)))


def measure(page, slider, n: int) -> list[float]:
    """Move `slider` one notch n times (alternately right and left); each redraw's duration in ms."""
    times = []
    for i in range(n):
        count = page.evaluate("performance.getEntriesByName('descent:redraw').length")
        slider.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function(f"() => performance.getEntriesByName('descent:redraw').length > {count}")
        page.wait_for_selector("#app[data-status=ready]")
        times.append(page.evaluate(BREAKDOWN))
    return times


# input → request sent (debounce) → stream's end event → drawn, for the last redraw
BREAKDOWN = """() => {
  const m = performance.getEntriesByName('descent:redraw').at(-1);
  const before = (e) => e.startTime <= m.startTime + m.duration;
  const last = (name) => performance.getEntriesByName(name).filter(before).at(-1).startTime;
  const request = last('descent:request'), end = last('descent:end');
  return [m.duration, request - m.startTime, end - request, m.startTime + m.duration - end];
}"""


def main() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(port)
    probe = Probe(base)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(base + "/" + RACE)
            page.wait_for_selector("#app[data-status=ready]")
            page.click("#to-end")  # stop the opening animation: each change redraws whole paths
            rows = page.evaluate("descent.racers.map(r => r.data.x.length)")
            print(f"race: {len(rows)} racers, {rows} points each, McCormick, simulated noise")

            sigma = page.locator("#noise-params .param[data-name=sigma_x] input[type=range]")
            lr = page.locator("#racers .racer").nth(3).locator("input[type=range]").first
            measure(page, sigma, WARMUP)
            probe.start()
            everyone = measure(page, sigma, CHANGES)
            one = measure(page, lr, CHANGES)
            probe.stop.set()
            probe.join()
            browser.close()
    finally:
        server.terminate()
        server.wait(5)

    def summary(rows):
        total = [r[0] for r in rows]
        parts = [statistics.median(r[i] for r in rows) for i in (1, 2, 3)]
        return (
            f"median {statistics.median(total):.0f} ms (min {min(total):.0f}, max {max(total):.0f}; medians: "
            f"input to request {parts[0]:.0f}, request to end event {parts[1]:.0f}, "
            f"end event to drawn {parts[2]:.0f})"
        )

    lat = sorted(probe.latencies)
    print(f"slider → redrawn race, all 5 racers re-streamed (σ slider): {summary(everyone)}   goal < 150 ms")
    print(f"slider → redrawn race, 1 racer re-streamed (its η slider):  {summary(one)}")
    print(
        f"event-loop probe, {len(lat)} requests every 10 ms: worst {lat[-1]:.1f} ms, "
        f"p99 {lat[int(0.99 * (len(lat) - 1))]:.1f} ms, median {statistics.median(lat):.1f} ms   goal < 20 ms"
    )


if __name__ == "__main__":
    main()
