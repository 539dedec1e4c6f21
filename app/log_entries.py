"""What the run log records of a run: entries built from core objects and from what the run manager
keeps, with curves and paths downsampled to at most `MAX_POINTS` points.

`logged_race` passes a landscape race's items through and logs the race once it ends; app/runs.py
calls `training_ended` once per training run, from the thread that records its last event (never the
event loop); app/races.py logs a network race with `record_network_race`. Through a `ServerLog`,
none of them ever raises.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from typing import Protocol

import numpy as np

from app.runlog import MAX_POINTS, RunLog, ServerLog, finite
from core.data import own
from core.landscape.paths import Outcome, Steps
from core.nn.config import TrainConfig
from core.optimizers import get_optimizer

# --- curves -------------------------------------------------------------------------------------------


def _numbers(values: np.ndarray) -> list:
    """float64 values rounded to 7 significant digits, so they print short; None where not finite.

    The rounding divides or multiplies an integer by an exact power of ten, so each result is the
    double nearest a 7-digit decimal and prints as one. Powers past 10²² are not exact: values below
    1e-16 or above 1e28 are kept as they are.
    """
    with np.errstate(all="ignore"):
        shift = 6 - np.floor(np.log10(np.abs(values)))
        scale = 10.0 ** np.abs(shift)
        rounded = np.where(shift >= 0, np.round(values * scale) / scale, np.round(values / scale) * scale)
    rounded = np.where(np.abs(shift) <= 22, rounded, values).astype(object)
    rounded[~np.isfinite(values)] = None
    return rounded.tolist()


def downsample(step, value, max_points: int = MAX_POINTS, mean: bool = False) -> dict:
    """{"step": [...], "value": [...]}, at most `max_points` long. By default every k-th point (the
    first and last kept: right for paths); with `mean`, the mean of each bin of consecutive points at
    the bin's last step (right for noisy mini-batch losses)."""
    step, value = np.asarray(step, dtype=np.int64), np.asarray(value, dtype=np.float64)
    n = len(step)
    if n > max_points and mean:
        edges = np.linspace(0, n, max_points + 1).round().astype(np.int64)
        value = np.add.reduceat(value, edges[:-1]) / np.diff(edges)
        step = step[edges[1:] - 1]
    elif n > max_points:
        keep = np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
        step, value = step[keep], value[keep]
    return {"step": step.tolist(), "value": _numbers(value)}


# --- entries ---------------------------------------------------------------------------------------

_UNLOGGED = np.empty(0)


def _loggable(part: Steps) -> Steps:
    """The columns `record_race` logs (step, x, y, loss); a race's others are not kept while it runs."""
    return dataclasses.replace(part, lr=_UNLOGGED, gx=_UNLOGGED, gy=_UNLOGGED, grad_norm=_UNLOGGED, state={})


def logged_race(config: Mapping, items: Iterable, target: ServerLog) -> Iterator:
    """Pass a race's (racer, Steps | Outcome) items through; once the race is over, record each racer.

    `config` is the race request (landscape, landscape_params, start, steps, noise, schedule,
    schedule_params, seed, racers). A race abandoned part way (the consumer went away) is not logged.
    """
    parts: dict[int, list[Steps]] = {}
    outcomes: dict[int, Outcome] = {}
    seconds: dict[int, float] = {}
    iterator = iter(items)
    while True:
        tick = time.perf_counter()
        try:
            item = next(iterator)
        except StopIteration:
            break
        i, part = item
        seconds[i] = seconds.get(i, 0.0) + time.perf_counter() - tick
        if isinstance(part, Steps):
            parts.setdefault(i, []).append(_loggable(part))
        elif isinstance(part, Outcome):
            outcomes[i] = part
        yield item
    target.safely("a race", record_race, config, parts, outcomes, seconds)


def record_race(
    config: Mapping,
    parts: Mapping[int, list[Steps]],
    outcomes: Mapping[int, Outcome],
    seconds: Mapping[int, float],
    target: RunLog,
) -> list[int]:
    """One row per racer, all in one transaction: landscape, optimizer, hyperparameters, noise and
    seed in its config; the outcome's step as `steps` (and as `steps_to_target` when it converged);
    its loss curve and path."""
    race = uuid.uuid4().hex[:12]
    shared = {k: v for k, v in config.items() if k != "racers"}
    entries = []
    for i, racer in enumerate(config["racers"]):
        if i not in outcomes or not parts.get(i):
            continue
        steps, outcome = Steps.join(parts[i]), outcomes[i]
        final = steps.loss[-1] if len(steps) else None
        entry = {
            "kind": "path",
            "problem": config["landscape"],
            "optimizer": racer["optimizer"],
            "lr": racer["hyper"].get("lr"),
            "seed": config.get("seed"),
            "status": outcome.status,
            "steps": outcome.step,
            "steps_to_target": outcome.step if outcome.status == "converged" else None,
            "final_loss": final,
            "wall_seconds": seconds.get(i),
            "race": race if len(config["racers"]) > 1 else None,
            "config": {**shared, "racers": [racer], "racer": i, "race_racers": config["racers"]},
            "results": {"message": outcome.message, "distance": finite(outcome.distance)},
            "curves": {"loss": downsample(steps.step, steps.loss)},
            "path": {
                "x": downsample(steps.step, steps.x)["value"],
                "y": downsample(steps.step, steps.y)["value"],
            },
        }
        entries.append(entry)
    return target.record_many(entries)  # one transaction: a race is logged whole or not at all


def training_entry(
    config: Mapping,
    step,
    loss,
    evals: Sequence[Mapping],
    ending: Mapping,
    features: int | None = None,
) -> dict:
    """The entry of a training run: its TrainConfig (as a dict), per-step batch losses, its evaluations
    (step, train/test loss and accuracy) and its last event (`summary`, or `error` with a message).
    A regression's R² stands in for accuracy (its curve and final and best values). On uploaded data
    the config also keeps the data's feature count (`data_features`, from the start event): two are
    points, which reopen on the playground."""
    metric = "r2" if any("test_r2" in e for e in evals) else "accuracy"
    key = f"test_{metric}" if any(e.get(f"test_{metric}") is not None for e in evals) else f"train_{metric}"
    accuracy = [(e["step"], e[key]) for e in evals if e.get(key) is not None]  # no test set: train
    curves = {"loss": downsample(step, loss, mean=True)}
    if accuracy:
        steps, values = zip(*accuracy, strict=True)
        curves["accuracy"] = downsample(steps, values)
    error = ending.get("type") == "error"
    final_accuracy = ending.get(f"test_{metric}", ending.get(f"train_{metric}"))
    hyper = get_optimizer(config["optimizer"]).hyperparameters(**(config.get("hyper") or {}))
    config = {**config, "hyper": hyper}
    if config["dataset"] == own.NAME and features is not None:
        config["data_features"] = features
    return {
        "kind": "training",
        "problem": config["dataset"],
        "optimizer": config["optimizer"],
        "lr": hyper.get("lr"),
        "seed": config.get("seed"),
        "status": "error" if error else ending.get("status", "done"),
        "steps": ending.get("steps", int(step[-1]) if len(step) else 0),
        "final_loss": ending.get("train_loss"),
        "final_accuracy": final_accuracy,
        "best_accuracy": max((a for _, a in accuracy), default=None),
        "wall_seconds": ending.get("seconds"),
        "config": config,
        "results": {k: v for k, v in ending.items() if k != "type"},
        "curves": curves,
    }


def record_training(
    config: Mapping,
    step,
    loss,
    evals: Sequence[Mapping],
    ending: Mapping,
    target: RunLog,
    features: int | None = None,
) -> int:
    """A training run (see `training_entry`)."""
    return target.record(training_entry(config, step, loss, evals, ending, features))


def record_network_race(
    entries: Sequence[dict], racers: Sequence[Mapping], surface: Mapping, target: RunLog
) -> list[int]:
    """A race of optimizers on one network: each racer's training entry, linked by a race id and
    holding the whole race (`race_racers`), its place in it (`racer`) and the race's loss-surface
    settings (`race_surface`), in one transaction."""
    race = uuid.uuid4().hex[:12]
    shared = {"race_racers": list(racers), "race_surface": dict(surface)}
    linked = [
        {**entry, "race": race, "config": {**entry["config"], **shared, "racer": k}}
        for k, entry in enumerate(entries)
    ]
    return target.record_many(linked)


# --- a training run that has ended ----------------------------------------------------------------------


class History(Protocol):
    """What the run manager keeps of a run (app.runs._History), as the log reads it."""

    def curve(self) -> tuple[list[int], list[float]]: ...

    def evaluations(self) -> list[Mapping]: ...

    def features(self) -> int | None: ...

    def changes(self) -> list[dict]: ...


def _record(config: TrainConfig, history: History, event: Mapping, log: RunLog) -> int:
    step, loss = history.curve()
    changed = history.changes()  # each with the step it took effect at: the log's curves mark it there
    ending = {**event, **({"changed_while_training": changed} if changed else {})}
    evals = history.evaluations()
    return record_training(asdict(config), step, loss, evals, ending, log, history.features())


def training_ended(config: TrainConfig, history: History, event: Mapping, log: ServerLog) -> int | None:
    """Log a run that has sent its `summary` (or `error`) in `log`; errors are reported, never raised."""
    return log.safely("a training run", _record, config, history, event)
