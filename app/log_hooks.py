"""What the run log needs from a training run that has ended, read from what the run manager keeps.

app/runs.py calls `training_ended` once per run, from the thread that records its last event (never
the event loop); the race streams log through app.runlog.logged_race. Neither ever raises.
"""

from __future__ import annotations

from dataclasses import asdict

import orjson

from app import runlog
from core.nn.training import TrainConfig


def _column(fragments: list[str]) -> list:
    return orjson.loads("[" + ",".join(f for f in fragments if f) + "]")


def _record(config: TrainConfig, history, event: dict) -> int:
    """history: app.runs._History (per-step columns and evaluation records as JSON text)."""
    step, loss = _column(history.columns["step"]), _column(history.columns["loss"])
    evals = [orjson.loads(text) for text in history.records["evals"]]
    settings = [orjson.loads(text) for text in history.records["controls"]]
    # each live change with the step it took effect at: the log's curves mark it there
    sets = [c for c in settings if c.get("action") == "set"]
    changed = [{"step": c.get("step"), "values": c.get("values")} for c in sets]
    ending = {**event, **({"changed_while_training": changed} if changed else {})}
    return runlog.record_training(asdict(config), step, loss, evals, ending)


def training_ended(config: TrainConfig, history, event: dict) -> int | None:
    """Log a run that has sent its `summary` (or `error`); errors are reported, never raised."""
    return runlog.safely("a training run", _record, config, history, event)
