"""One MNIST epoch served and watched in a browser against the same epoch headless.

- headless: core.nn.training.train in this process, nothing watching: the `epoch` event's `seconds`
  (the wall time of the epoch's training steps; evaluation excluded).
- served: the app under uvicorn in a subprocess (each run trains in a process of its own), /mnist
  open in headless Chromium (Playwright) with the same configuration in its URL, Start clicked; the
  page draws everything it draws for a user (the loss curve, progress, accuracy, confusion matrix,
  misclassified digits, first-layer weights). The same `seconds`, read from the page's `epoch`
  event, so both sides time the same steps.

The run is the seed's: 784-600-10 ReLU/softmax, SGD lr 0.02, batch 16, L2 2e-4, on the full 60,000
training images (one epoch: 3,750 steps). Two watched variants: evaluations only at the epoch's end,
and an evaluation every 500 steps (each one redraws the confusion matrix, the gallery and the
weights, and fetches test images and filters from the server while it trains).

    DESCENT_DATA_DIR=/path/to/mnist python bench/served_epoch.py [--repeat 5] [--train-size 60000]

Goal: served within 5% of headless. Pins one BLAS thread in both (see PITFALLS.md).
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from core.data.mnist import load
from core.nn.training import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def config(train_size: int, eval_every: int) -> TrainConfig:
    return TrainConfig(
        dataset="mnist",
        data={"train_size": train_size, "test_size": 10000, "seed": 0},
        hidden=((600, "relu"),),
        optimizer="sgd",
        hyper={"lr": 0.02},
        batch_size=16,
        epochs=1,
        l2=2e-4,
        eval_every=eval_every,
        eval_train_size=10000,
        throttle=0.1,  # what the server gives a run the page starts (TrainIn's default)
    )


def url(c: TrainConfig) -> str:
    data = ",".join(f"{k}:{v}" for k, v in c.data.items())
    return (
        f"/mnist?ds=mnist&data={data}&hidden=600:relu&out=softmax&loss=cross_entropy&init=he&oinit=xavier"
        f"&norm=none&drop=0&opt=sgd&hyper=lr:0.02&sched=constant&bs=16&epochs=1&l1=0&l2=0.0002&maxnorm=0"
        f"&patience=0&every={c.eval_every}&evaltrain={c.eval_train_size}&seed=0"
    )


def headless(c: TrainConfig, split) -> float:
    for event in train(c, split=split):
        if event["type"] == "epoch":
            return event["seconds"]
    raise RuntimeError("no epoch event")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)]
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/schedules", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the server did not start")


def browser_cpu() -> float:
    """CPU seconds used so far by this process's descendants (Playwright's driver and Chromium)."""
    tick = os.sysconf("SC_CLK_TCK")
    children, cpu = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(name))
        cpu[int(name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += children.get(pid, [])
    return total


def served(page, base: str, c: TrainConfig) -> tuple[float, float, float]:
    """(epoch seconds as the server measured them, wall seconds from Start to the summary, CPU
    seconds the browser used meanwhile)."""
    page.goto(base + url(c))
    page.wait_for_selector("#start:not([disabled])")
    cpu = browser_cpu()
    start = time.perf_counter()
    page.click("#start")
    # poll on a timer: the default (every animation frame) would keep the page drawing frames
    page.wait_for_function("() => descent.main.data.summary !== null", timeout=300_000, polling=250)
    wall = time.perf_counter() - start
    cpu = browser_cpu() - cpu
    status = page.evaluate("descent.main.data.summary.status")
    if status != "done":
        raise RuntimeError(f"the served run ended {status}")
    return page.evaluate("descent.main.data.epochs[0].seconds"), wall, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--train-size", type=int, default=60000)
    args = parser.parse_args()
    if not os.environ.get("DESCENT_DATA_DIR"):
        sys.exit("set DESCENT_DATA_DIR to a folder with the four MNIST files")

    split = load("mnist", train_size=args.train_size, test_size=10000, seed=0, download=False, progress=False)
    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    results = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            errors = []
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e: errors.append(str(e)))
            served(page, base, config(2000, 0))  # warm up: the server decodes MNIST once
            for eval_every in (0, 500):
                c = config(args.train_size, eval_every)
                rows = {"headless": [], "served": [], "served wall": [], "browser cpu": []}
                for _ in range(args.repeat):  # interleaved, so drift hits both sides alike
                    rows["headless"].append(headless(c, split))
                    seconds, wall, cpu = served(page, base, c)
                    rows["served"].append(seconds)
                    rows["served wall"].append(wall)
                    rows["browser cpu"].append(cpu / wall)
                results[eval_every] = rows
            browser.close()
            if errors:
                print("console errors:", *errors, sep="\n  ")
    finally:
        server.terminate()
        server.wait(10)

    steps = -(-args.train_size // 16)
    print(f"MNIST, {args.train_size:,} training images, one epoch ({steps:,} steps), batch 16, 784-600-10")
    print(f"median of {args.repeat}; epoch seconds = the training steps only (evaluation excluded)")
    print(f"load average: {os.getloadavg()[0]:.2f} at the end (two cores: other work skews every figure)\n")
    for eval_every, rows in results.items():
        head = statistics.median(rows["headless"])
        serve = statistics.median(rows["served"])
        every = "epoch end only" if eval_every == 0 else f"every {eval_every} steps"
        print(f"evaluations: {every}")
        print(f"  headless epoch        {head:7.2f} s   ({', '.join(f'{x:.2f}' for x in rows['headless'])})")
        print(f"  served + browser      {serve:7.2f} s   ({', '.join(f'{x:.2f}' for x in rows['served'])})")
        print(f"  served / headless     {serve / head:7.3f}   (goal: at most 1.05)")
        best = min(rows["served"]) / min(rows["headless"])
        print(f"  best / best           {best:7.3f}   (the least disturbed of each: other load on the cores)")
        wall = statistics.median(rows["served wall"])
        print(f"  served, Start to end  {wall:7.2f} s   (data, evaluation, events)")
        share = statistics.median(rows["browser cpu"])
        print(f"  browser CPU           {share:7.0%}   of one core, Start to end (Chromium and Playwright)\n")


if __name__ == "__main__":
    main()
