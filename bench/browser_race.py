"""Slider change to redrawn race, in Chromium: 5 optimizers × 1,000 steps.

The page marks each input event and measures `descent:redraw` once the last stream's `end` event has
been drawn (static/landscapes.js). Three sliders, twenty changes each, the median of each:

- σ of the simulated gradient noise on McCormick: all five racers re-streamed (the heaviest case:
  noisy steps cost the server twice as much);
- the cosine schedule's final fraction on Rosenbrock, exact gradients: all five re-streamed;
- one racer's learning rate (McCormick, noise): that racer alone is re-streamed.

Goal: under 150 ms. Meanwhile a thread asks the server for GET /api/schedules every 10 ms and
records how long each answer took: the longest is the worst event-loop stall. Goal: under 20 ms.
Then the same race requests are replayed from a plain client, probe running, without the browser:
what the server does to its own loop, apart from the browser's share of the CPU.

The server runs in its own process (uvicorn, OPENBLAS_NUM_THREADS=1), the browser is Debian's
Chromium, both on this machine. Run: python bench/browser_race.py
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
  const t = descent.timings;
  const map = performance.getEntriesByName('descent:map-redraw').filter(before).at(-1).duration;
  const drawn = m.startTime + m.duration - end;
  return [m.duration, request - m.startTime, end - request, drawn, t.fg, t.side, map];
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
            measure(page, sigma, WARMUP)
            probe.start()
            results["σ slider, noise, all 5 racers re-streamed"] = measure(page, sigma, CHANGES)
            results["η slider, noise, 1 racer re-streamed"] = measure(page, lr, CHANGES)
            open_race(EXACT)
            floor = page.locator("#schedule-params input[type=range]")
            measure(page, floor, WARMUP)
            results["schedule slider, exact, all 5 re-streamed"] = measure(page, floor, CHANGES)
            probe.stop.set()
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
        alone.stop.set()
        alone.join()
    finally:
        server.terminate()
        server.wait(5)

    def summary(rows):
        total = [r[0] for r in rows]
        parts = [statistics.median(r[i] for r in rows) for i in (1, 2, 3, 4, 5, 6)]
        return (
            f"median {statistics.median(total):.0f} ms (min {min(total):.0f}, max {max(total):.0f}); "
            f"the map alone: median {parts[5]:.0f} ms\n"
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
    print(f"  during the browser runs above: {stalls(probe.latencies)}")
    replayed = min(len(sent), 3 * CHANGES)
    print(f"  the same {replayed} races replayed without the browser: {stalls(alone.latencies)}")


if __name__ == "__main__":
    main()
