"""What the run log needs from a training run that has ended, read from what the run manager keeps.

app/runs.py calls `training_ended` once per run, from the thread that records its last event (never
the event loop); the race streams log through app.runlog.logged_race. Neither ever raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Protocol

from app import runlog
from core.nn.config import TrainConfig


class History(Protocol):
    """What the run manager keeps of a run (app.runs._History), as the log reads it."""

    def curve(self) -> tuple[list[int], list[float]]: ...

    def evaluations(self) -> list[Mapping]: ...

    def features(self) -> int | None: ...

    def changes(self) -> list[dict]: ...


def _record(config: TrainConfig, history: History, event: Mapping, log: runlog.RunLog) -> int:
    step, loss = history.curve()
    changed = history.changes()  # each with the step it took effect at: the log's curves mark it there
    ending = {**event, **({"changed_while_training": changed} if changed else {})}
    evals = history.evaluations()
    return runlog.record_training(asdict(config), step, loss, evals, ending, log, history.features())


def training_ended(
    config: TrainConfig, history: History, event: Mapping, log: runlog.ServerLog
) -> int | None:
    """Log a run that has sent its `summary` (or `error`) in `log`; errors are reported, never raised."""
    return log.safely("a training run", _record, config, history, event)
