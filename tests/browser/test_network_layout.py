"""The network pages, the run log and the building blocks at the two common laptop sizes: no control
or readout is cut off by its container, leaves its panel or the window. Screenshots of each are saved
with the test's output (pytest's tmp_path) for a look."""

import random
from dataclasses import asdict
from pathlib import Path

import pytest

from app import log_entries
from core.nn.training import TrainConfig

SIZES = [(1280, 720), (1440, 900)]
PAGES = ["/playground", "/mnist", "/network-tools", "/log", "/blocks"]

# Elements a user reads or works; their boxes must lie inside the window and their panel.
CONTROLS = "button, input:not([type=hidden]):not([type=file]), select, a, output, label, [role=status]"
CONTROLS += ", .metrics, .hint"

SCRIPT = (Path(__file__).parent / "overflow.js").read_text()
FIND_OVERFLOW = "\n".join(line for line in SCRIPT.splitlines() if not line.startswith("//"))


@pytest.fixture(scope="module")
def logged_run(app):
    """Rows with the widest cells the log shows (a race's extra link, long names and numbers), so that
    /log lays out its worst case; returns the training run's id."""
    log = app.state.log.get()
    seed = random.randrange(10**9, 2**31)
    racers = [
        {"optimizer": name, "hyper": {"lr": 0.000123456}}
        for name in ("nesterov", "adagrad", "rmsprop", "adadelta")
    ]
    for i, racer in enumerate(racers):
        log.record(
            {
                "kind": "path",
                "problem": "goldstein_price",
                "optimizer": racer["optimizer"],
                "lr": 0.000123456,
                "seed": seed,
                "status": "diverged",
                "steps": 123456,
                "steps_to_target": 123455,
                "final_loss": 1.23456e-05,
                "wall_seconds": 754.2,
                "race": f"layout{seed}",
                "config": {
                    "landscape": "goldstein_price",
                    "steps": 123456,
                    "seed": seed,
                    "racers": [racer],
                    "racer": i,
                    "race_racers": racers,
                },
                "curves": {"loss": {"step": [0, 1], "value": [3.0, 2.0]}},
                "path": {"x": [0.0, 0.1], "y": [0.0, 0.1]},
            }
        )
    config = asdict(
        TrainConfig(dataset="moons", hidden=((4, "relu"),), epochs=1, optimizer="nesterov", seed=seed)
    )
    steps = list(range(1, 51))
    evals = [{"step": 50, "epoch": 1.0, "train_accuracy": 0.8, "test_accuracy": 0.75, "train_loss": 0.4}]
    ending = {
        "type": "summary",
        "status": "early_stopped",
        "steps": 50,
        "epochs": 1,
        "seconds": 754.2,
        "train_loss": 0.4,
        "test_accuracy": 0.75,
    }
    return log_entries.record_training(config, steps, [1 / s for s in steps], evals, ending, log)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("path", PAGES)
def test_nothing_is_cut_off_or_leaves_its_panel(page, watch, live_server, logged_run, path, size, tmp_path):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    try:
        page.goto(live_server + (f"/log?sel={logged_run}" if path == "/log" else path))
        page.wait_for_load_state("networkidle")
        if path == "/log":
            page.wait_for_function(
                f"() => document.getElementById('app').dataset.compared === '{logged_run}'"
            )
        page.wait_for_timeout(300)  # a resize observer's redraw
        page.screenshot(path=tmp_path / f"{path.strip('/')}-{size[0]}x{size[1]}.png")
        problems = page.evaluate(FIND_OVERFLOW, CONTROLS)
    finally:
        page.set_viewport_size({"width": 1366, "height": 768})
    assert problems == [], f"{path} at {size[0]}×{size[1]}:\n" + "\n".join(problems)
    assert watch.errors == []
