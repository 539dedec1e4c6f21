"""Scoring a network while it trains: the `eval` events of core/nn/training.py.

Loss and accuracy on the training set (or a fixed sample of it) and the test set, the test confusion
matrix, a few misclassified test examples, per-layer diagnostics from the last training batch and,
for 2D inputs, the class probabilities over a grid (the decision surface). A regression (one linear
output trained with MSE) reports R² in place of accuracy, and its surface is the predicted value.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np

from core.data.datasets import one_hot
from core.data.own import Data
from core.nn.config import TrainConfig
from core.nn.events import Diagnostics, EvalEvent, Histogram
from core.nn.network import Network

HISTOGRAM_BINS = 30
MISCLASSIFIED = 24  # test examples listed per evaluation


def _histogram(values) -> Histogram:
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    return {"counts": counts, "edges": edges}


def r2_score(y: np.ndarray, predicted: np.ndarray) -> float | None:
    """1 − Σ(y − ŷ)²/Σ(y − ȳ)², in float64; None for no rows or targets that are all equal."""
    y, predicted = np.asarray(y, np.float64), np.asarray(predicted, np.float64)
    total = float(np.sum(np.square(y - y.mean()))) if len(y) else 0.0
    if total == 0.0:
        return None
    return 1.0 - float(np.sum(np.square(y - predicted))) / total


def _surface_grid(split: Data, resolution: int):
    """A grid over the data's bounding box, padded by a tenth of its size on each side."""
    points = np.concatenate([split.x_train, split.x_test])
    low, high = points.min(axis=0), points.max(axis=0)
    pad = (high - low) / 10
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution, dtype=np.float32)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()])


class Scorer:
    """Loss, accuracy, confusion and diagnostics of the current network on fixed data."""

    def __init__(self, net: Network, split: Data, config: TrainConfig):
        self.net, self.split, self.loss = net, split, net.loss
        self.regression = split.regression
        k = split.classes
        self.classes = k
        n = config.eval_train_size
        if n and n < len(split.y_train):
            rows = np.sort(np.random.default_rng(config.seed).permutation(len(split.y_train))[:n])
            self.x_train, self.y_train = split.x_train[rows], split.y_train[rows]
        else:
            self.x_train, self.y_train = split.x_train, split.y_train
        planar = config.surface and split.x_train.shape[1] == 2
        self.grid = _surface_grid(split, config.surface) if planar else None

    def _score(self, x, y):
        """(loss, accuracy or R², predicted classes or None) of one set."""
        if len(y) == 0:
            return None, None, None
        if self.regression:
            predicted = self.net.predict_proba(x)
            loss = self.loss.value(y[:, None].astype(predicted.dtype), predicted)
            return float(loss), r2_score(y, predicted[:, 0]), None
        probs = self.net.predict_proba(x)
        loss = self.loss.value(one_hot(y, self.classes), probs)
        predicted = probs.argmax(axis=1)
        return float(loss), float(np.mean(predicted == y)), predicted

    def eval_event(self, step: int, epoch: float) -> EvalEvent | None:
        """The evaluation event, or None when the network has stopped being finite (diverged)."""
        with np.errstate(all="ignore"):
            return self._eval_event(step, epoch)

    def _eval_event(self, step: int, epoch: float) -> EvalEvent | None:
        if not np.isfinite(self.net.params).all():
            return None
        train_loss, train_acc, _ = self._score(self.x_train, self.y_train)
        test_loss, test_acc, predicted = self._score(self.split.x_test, self.split.y_test)
        if not all(math.isfinite(v) for v in (train_loss, test_loss) if v is not None):
            return None
        event = cast(  # its diagnostics come last, after the optional parts
            EvalEvent,
            {
                "type": "eval",
                "step": step,
                "epoch": epoch,
                "train_loss": train_loss,
                "train_accuracy": None if self.regression else train_acc,
                "test_loss": test_loss,
                "test_accuracy": None if self.regression else test_acc,
            },
        )
        if self.regression:
            event["train_r2"], event["test_r2"] = train_acc, test_acc
        if predicted is not None:
            truth = self.split.y_test
            k = self.classes
            event["confusion"] = np.bincount(truth * k + predicted, minlength=k * k).reshape(k, k)
            wrong = np.flatnonzero(predicted != truth)[:MISCLASSIFIED]
            event["misclassified"] = [
                {"index": int(i), "true": int(truth[i]), "predicted": int(predicted[i])} for i in wrong
            ]
        if self.grid is not None:
            xs, ys, points = self.grid
            probs = self.net.predict_proba(points)
            if not np.isfinite(probs).all():
                return None
            grid = np.ascontiguousarray(probs.T).reshape(-1, len(ys), len(xs))
            if self.regression:
                event["surface"] = {"x": xs, "y": ys, "values": grid[0]}
            else:
                event["surface"] = {"x": xs, "y": ys, "probabilities": grid}
        event["diagnostics"] = self.diagnostics()
        return event

    def diagnostics(self) -> Diagnostics:
        """From the last training batch: per-layer gradient norms, dead ReLUs, histograms."""
        net = self.net
        return {
            "layers": net.diagnostics(),
            "weights": {name: _histogram(w) for name, w in net.weights().items()},
            "activations": {name: _histogram(a) for name, a in net.activations().items()},
        }
