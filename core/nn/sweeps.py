"""Many short training runs for the network tuning tools: one job spec in, one small result out.

    run_job({"kind": "train", "config": {...}, "target": 0.9})     # a map cell, or one seed of a band
    run_job({"kind": "lr_range", "config": {...}, "lr_min": 1e-5, "lr_max": 1.0, "steps": 300})

A spec is a plain dict (the fields of core.nn.training.TrainConfig under "config", `hidden` as pairs;
"data_root": the data folder, where MNIST and uploaded data are read, by default the worker's own),
so it pickles to any worker process or machine; a result is a dict of numbers and short lists. The
functions here are pure: the same spec gives the same result (up to `seconds`), whatever runs them.

- train: the run's status, steps, final train/test loss and accuracy, best test accuracy, the step
  and epoch at which the test accuracy first reached `target` (a regression's R² in place of
  accuracy), and the mini-batch loss curve as
  means over fixed bins of the planned steps (so seeds of one configuration share their x values).
- lr_range: Smith (2017), "Cyclical learning rates for training neural networks": one run whose
  rate grows exponentially per step from lr_min to lr_max (the `lr_range` schedule). It reports the
  loss against the rate, smoothed, the steepest descent (the rate where the smoothed loss falls
  fastest against log η), the minimum, the divergence point (loss not finite, or its running
  average four times its lowest: the run stops there) and a suggested rate: the steepest descent's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.nn.config import TrainConfig
from core.nn.events import EvalEvent
from core.nn.training import Controls, load_data, train
from core.params import by_name, lookup

CURVE_POINTS = 200  # points of a train job's loss curve
RANGE_POINTS = 1000  # points of an lr range test's curves
SMOOTHING = 0.9  # the range test's stop rule: a running average s ← βs + (1−β)·loss, bias-corrected
DIVERGE_FACTOR = 4.0  # the range test stops once the smoothed loss exceeds this many times its minimum


Metric = Literal["test_accuracy", "train_accuracy", "test_r2", "train_r2"]


def config_from(fields: Mapping) -> TrainConfig:
    """A TrainConfig from plain fields (JSON gives `hidden` as lists)."""
    given = dict(fields)
    given["hidden"] = tuple((int(w), str(a)) for w, a in given.get("hidden", ((16, "relu"), (16, "relu"))))
    return TrainConfig(**given)


def _number(x) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _bin_means(step: np.ndarray, loss: np.ndarray, total: int, points: int) -> dict:
    """Means of the losses of steps 1..total in at most `points` bins of equal width, each labelled
    with its last planned step; bins a shorter run never reached are left out."""
    if len(step) == 0:
        return {"step": [], "value": []}
    width = max(1, -(-total // points))
    label = np.minimum((step - 1) // width * width + width, total)
    ends, starts = np.unique(label, return_index=True)
    sums = np.add.reduceat(loss, starts)
    counts = np.diff(np.append(starts, len(loss)))
    return {"step": ends.tolist(), "value": [float(f"{v:.6g}") for v in sums / counts]}


def train_job(spec: Mapping) -> dict:
    """One short training run (see the module docstring); `target`: a test accuracy, or None."""
    config = config_from({**spec["config"], "chunk": 100_000, "throttle": 0.0, "surface": 0})
    target = spec.get("target")
    split = load_data(config, download=False, root=spec.get("data_root"))
    started = time.perf_counter()
    step_parts: list[np.ndarray] = []
    loss_parts: list[np.ndarray] = []
    evals: list[EvalEvent] = []
    summary: dict = {}
    diverged_at: int | None = None
    for event in train(config, split=split):
        if event["type"] == "steps":
            step_parts.append(event["step"])
            loss_parts.append(event["loss"])
        elif event["type"] == "eval":
            evals.append(event)
        elif event["type"] == "diverged":
            diverged_at = event["step"]
        elif event["type"] == "summary":
            summary = dict(event)
    step = np.concatenate(step_parts) if step_parts else np.zeros(0, np.int64)
    loss = np.concatenate(loss_parts) if loss_parts else np.zeros(0)
    per_epoch = -(-len(split.y_train) // config.batch_size)
    key: Metric = (  # a regression's R² stands in for accuracy
        ("test_r2" if len(split.y_test) else "train_r2")
        if split.regression
        else ("test_accuracy" if len(split.y_test) else "train_accuracy")
    )
    reached = next((e for e in evals if e[key] is not None and target is not None and e[key] >= target), None)
    return {
        "status": summary.get("status", "done"),
        "steps": int(summary.get("steps", 0)),
        "epochs": int(summary.get("epochs", 0)),
        "diverged_at": diverged_at,
        "train_loss": _number(summary.get("train_loss")),
        "test_loss": _number(summary.get("test_loss")),
        "accuracy": _number(summary.get(key)),
        "best_accuracy": max((a for e in evals if (a := e[key]) is not None), default=None),
        "steps_to_target": None if reached is None else int(reached["step"]),
        "epochs_to_target": None if reached is None else float(reached["epoch"]),
        "curve": _bin_means(step, loss, per_epoch * config.epochs, spec.get("points", CURVE_POINTS)),
        "accuracy_curve": {
            "step": [int(e["step"]) for e in evals],
            "value": [_number(e[key]) for e in evals],
        },
        "seconds": time.perf_counter() - started,
    }


def centered(loss: np.ndarray, fraction: float = 0.1) -> np.ndarray:
    """A centred moving average over about `fraction` of the run (no lag, shorter windows at the ends)."""
    n = len(loss)
    width = max(3, round(n * fraction) | 1)
    kernel = np.ones(width)
    return np.convolve(loss, kernel, "same") / np.convolve(np.ones(n), kernel, "same")


def range_points(lr: np.ndarray, loss: np.ndarray, diverged: bool) -> dict:
    """Steepest descent, minimum and divergence of a range test's (lr, loss), as steps and rates.

    The loss is smoothed by a centred moving average (`centered`). The steepest descent is the most
    negative slope against log η between the first tenth of the run (noise at the start) and the
    start of the valley: the first point within a tenth of the drop of the minimum. A long, noisy
    floor after the drop (easy data) thus cannot drag the suggestion up to wherever noise put the
    minimum, and the blow-up at the end never counts.
    """
    smoothed = centered(loss)
    n = len(loss)
    low = int(np.argmin(smoothed))
    point = lambda i: None if i is None else {"step": i + 1, "lr": float(lr[i]), "loss": float(smoothed[i])}  # noqa: E731
    steepest = None
    start = n // 10
    if low - start >= 2:
        # where the valley begins: the first point within a tenth of the whole drop of its floor
        top = smoothed[start : low + 1].max()
        valley = start + int(
            np.argmax(smoothed[start : low + 1] <= smoothed[low] + 0.1 * (top - smoothed[low]))
        )
        # slopes against log η over a tenth of the run: over single steps, noise outweighs the descent
        half = max(1, n // 20)
        i = np.arange(max(start, half), min(max(valley, start + 1), n - 1 - half) + 1)
        if len(i):
            log_lr = np.log(lr)
            slope = (smoothed[i + half] - smoothed[i - half]) / (log_lr[i + half] - log_lr[i - half])
            steepest = int(i[np.argmin(slope)])
    return {
        "smoothed": smoothed,
        "minimum": point(low),
        "steepest": point(steepest),
        "divergence": point(n - 1) if diverged else None,
        "suggestion": None if steepest is None else float(lr[steepest]),
    }


def lr_range_job(spec: Mapping) -> dict:
    """Smith's range test: `steps` steps (rounded to whole epochs) from lr_min to lr_max."""
    lr_min, lr_max = float(spec["lr_min"]), float(spec["lr_max"])
    if not 0 < lr_min < lr_max:
        raise ValueError(f"need 0 < lr_min < lr_max, got {lr_min:g} and {lr_max:g}")
    base = config_from({**spec["config"], "chunk": 1, "throttle": 0.0, "surface": 0, "patience": 0})
    split = load_data(base, download=False, root=spec.get("data_root"))
    per_epoch = -(-len(split.y_train) // base.batch_size)
    epochs = max(1, round(int(spec.get("steps", 300)) / per_epoch))
    fields = {**spec["config"], "hidden": base.hidden, "chunk": 1, "throttle": 0.0, "surface": 0}
    fields.update(patience=0, eval_train_size=1, epochs=epochs)
    fields.update(
        hyper={**base.hyper, "lr": lr_max}, schedule="lr_range", schedule_params={"span": lr_max / lr_min}
    )
    config = TrainConfig(**fields)
    controls = Controls()
    started = time.perf_counter()
    rates, losses, status = [], [], "done"
    average, best = 0.0, math.inf
    for event in train(config, controls, split=split):
        if event["type"] == "diverged":
            status = "diverged"  # the loss stopped being finite
        if event["type"] != "steps":
            continue
        for rate, value in zip(event["lr"].tolist(), event["loss"].tolist(), strict=True):
            rates.append(rate)
            losses.append(value)
            average = SMOOTHING * average + (1 - SMOOTHING) * value
            smoothed = average / (1 - SMOOTHING ** len(losses))
            best = min(best, smoothed) if len(losses) >= 10 else best
            if smoothed > DIVERGE_FACTOR * best and status == "done":
                status = "diverged"
                controls.stop()
    lr, loss = np.asarray(rates), np.asarray(losses)
    points = range_points(lr, loss, status == "diverged") if len(loss) else {}
    keep = np.unique(np.linspace(0, len(loss) - 1, min(len(loss), RANGE_POINTS)).round().astype(int))
    return {
        "status": status,
        "steps": len(loss),
        "planned_steps": per_epoch * epochs,
        "lr": lr[keep].tolist(),
        "loss": [float(f"{v:.6g}") for v in loss[keep]],
        "smoothed": [float(f"{v:.6g}") for v in points.get("smoothed", np.zeros(0))[keep]]
        if len(loss)
        else [],
        "steepest": points.get("steepest"),
        "minimum": points.get("minimum"),
        "divergence": points.get("divergence"),
        "suggestion": points.get("suggestion"),
        "seconds": time.perf_counter() - started,
    }


@dataclass(frozen=True)
class JobSpec:
    name: str
    label: str
    run: Callable[[Mapping], dict]


JOBS: dict[str, JobSpec] = by_name(
    [
        JobSpec("train", "a short training run", train_job),
        JobSpec("lr_range", "a learning-rate range test", lr_range_job),
    ]
)


def run_job(spec: Mapping) -> dict:
    """Run one job spec (its "kind" names an entry of JOBS) and return its small result."""
    return lookup(JOBS, spec["kind"], "job kind").run(spec)
