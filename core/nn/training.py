"""Training a network: one generator of events that the command line and the web app both consume.

    for event in train(TrainConfig(dataset="moons", hidden=((16, "relu"),)), controls):
        ...  # dicts with a "type": start, steps, eval, epoch, control, early_stop, diverged, summary

The configuration is declared in core/nn/config.py; the events are typed in core/nn/events.py. They
are plain dicts of numbers, lists and numpy arrays (serialize with orjson's numpy option):

- start: the resolved configuration, data sizes, parameter count, steps per epoch.
- steps: every `chunk` steps, the per-step `loss` (the batch's data loss) and `lr`, as arrays, and
  the `epoch` the last of them belongs to.
- eval: every `eval_every` steps and at each epoch end: train/test loss and accuracy, the test
  confusion matrix, a few misclassified test examples, diagnostics (per-layer gradient norms, dead
  ReLU fractions, weight and activation histograms) and, for 2D inputs, the decision surface.
- epoch: after each evaluated epoch: epoch, train/test loss and accuracy, and `seconds`, the wall
  time of that epoch's training steps (evaluation and the consumer's time between events excluded).
- control: a pause, resume, step, stop or setting change took effect before step `step`.
- early_stop, diverged: why training ended early. summary: the last event, always.

`throttle` (seconds, 0 by default) thins the stream for live displays: steps are sent at most that
often, and evaluations (with their epoch events) happen at most that often, except the last one,
single steps, and every epoch when early stopping needs the test loss. A small network on a toy
set trains hundreds of epochs a second; nobody can watch that many surfaces.

Each step: the batch's loss and gradient, the L1/L2 terms added to it, the whole gradient clipped to
norm `clip_norm` (if set), the optimizer's update, then the max-norm constraint. The live options
(l1, l2, max_norm, clip_norm) and the optimizer's hyperparameters may change between any two steps.

A non-finite loss ends the run with a `diverged` event: no NaN ever leaves this module.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import asdict
from typing import Any, cast

import numpy as np

from core.data import mnist, own
from core.data.datasets import DATASETS, make_dataset, one_hot
from core.nn.config import LIVE, TrainConfig
from core.nn.config import SEED as SEED  # re-exported: the CLI bounds every --seed with it
from core.nn.events import (
    ControlEvent,
    EarlyStopEvent,
    EpochEvent,
    EvalEvent,
    Event,
    Metrics,
    SharpnessEvent,
    StartEvent,
    Status,
    StepsEvent,
    SummaryEvent,
    diverged,
)
from core.nn.network import Network, NetworkSpec
from core.nn.scoring import Scorer
from core.nn.sharpness import EXAMPLES, SharpnessProbe
from core.optimizers import get_optimizer
from core.schedules import get_schedule

REGRESSION_LOSS = "mse"
REGRESSION_OUTPUT = "linear"  # one output, the prediction itself


def load_data(config: TrainConfig, download: bool = True, root=None) -> own.Data:
    """The configured dataset: a 2D toy set, MNIST / Fashion-MNIST (fetched if missing and allowed),
    or uploaded data from the store (core.data.own; DataGone if it has been evicted). `root`: the data
    directory, by default core.data.mnist.data_dir().

    Raises ValueError when the batch size exceeds the training set, or when a regression target is
    to be trained with another loss than MSE.
    """
    data: dict[str, Any] = dict(config.data)  # each dataset checks its own
    split: own.Data
    if config.dataset in DATASETS:
        split = make_dataset(config.dataset, **data)
    elif config.dataset == own.NAME:
        assert config.data_id is not None  # TrainConfig requires it for this dataset
        split = own.load(config.data_id, data, root)
        if split.regression and config.loss != REGRESSION_LOSS:
            raise ValueError(f"a regression target needs loss {REGRESSION_LOSS}, got loss {config.loss!r}")
    else:
        split = mnist.load(config.dataset, **data, root=root, download=download, progress=False)
    if config.batch_size > len(split.y_train):
        n = len(split.y_train)
        raise ValueError(f"batch_size must be in [1, {n}] (the training set), got {config.batch_size}")
    return split


def targets(split: own.Data) -> np.ndarray:
    """The training targets as the network's outputs: one-hot rows, or a regression's (n, 1) column."""
    if split.regression:
        return split.y_train[:, None].astype(np.float32)
    return one_hot(split.y_train, split.classes)


def network_for(config: TrainConfig, split: own.Data) -> Network:
    """The configured network for `split`: as many inputs as it has features and an output per class;
    for a regression one output, linear (whatever `output` says: a softmax of one output is 1)."""
    spec = NetworkSpec(
        split.x_train.shape[1],
        1 if split.regression else split.classes,
        config.hidden,
        REGRESSION_OUTPUT if split.regression else config.output,
        config.loss,
        config.init,
        config.output_init,
        config.norm,
        config.dropout,
    )
    return Network(spec, seed=config.seed)


class Controls:
    """Pause, resume, single-step, stop and retune a run from another thread.

    The training loop calls `gate()` before every step: it reports what changed since the last
    step and blocks while paused, so every control takes effect within one step.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self._stopped = False
        self._credits = 0  # single steps allowed while paused
        self._changes: list[dict] = []

    @property
    def paused(self) -> bool:
        return self._paused

    def _post(self, change: dict, **flags) -> None:
        with self._cond:
            for name, value in flags.items():
                setattr(self, name, value)
            self._changes.append(change)
            self._cond.notify_all()

    def pause(self) -> None:
        self._post({"action": "pause"}, _paused=True)

    def resume(self) -> None:
        self._post({"action": "resume"}, _paused=False)

    def stop(self) -> None:
        self._post({"action": "stop"}, _stopped=True)

    def step(self, n: int = 1) -> None:
        """Let n more steps run while paused."""
        with self._cond:
            self._credits += n
            self._changes.append({"action": "step", "steps": n})
            self._cond.notify_all()

    def set(self, /, **values: float) -> None:
        """New hyperparameter values (already validated by the caller), from the next step on."""
        self._post({"action": "set", "values": values})

    def gate(self) -> tuple[list[dict], str]:
        """(changes since the last call, what to do now): "run", "step" (one step while paused),
        "paused" (report the changes, then call again: it blocks until something happens) or "stop".
        """
        with self._cond:
            while not self._changes and self._paused and not self._stopped and not self._credits:
                self._cond.wait()
            changes, self._changes = self._changes, []
            if self._stopped:
                return changes, "stop"
            if not self._paused:
                return changes, "run"
            if self._credits and not changes:
                self._credits -= 1
                return changes, "step"
            return changes, "paused"


def clip_global_norm(grad: np.ndarray, c: float) -> float | None:
    """g ← g·min(1, c/(‖g‖ + 10⁻⁶)) in place, over the whole flat gradient; returns ‖g‖ before
    (None when c = 0: clipping is off and g is left alone).

    torch.nn.utils.clip_grad_norm_'s rule, ε included, applied where torch applies it: after the
    backward pass (here: after the L1/L2 terms are added, as a penalty in the loss would put them)
    and before the optimizer's step.
    """
    if not c:
        return None
    with np.errstate(over="ignore"):
        squares = float(np.dot(grad, grad))
    if not math.isfinite(squares):  # float32 squares overflow long before the norm itself would
        wide = grad.astype(np.float64)
        squares = float(np.dot(wide, wide))
    norm = math.sqrt(squares)
    if c < norm + 1e-6:
        grad *= grad.dtype.type(c / (norm + 1e-6))
    return norm


def train(
    config: TrainConfig,
    controls: Controls | None = None,
    split: own.Data | None = None,
    net: Network | None = None,
) -> Iterator[Event]:
    """Train on `config`; yield events (see the module docstring) until done.

    Pass `split` and `net` (from `load_data` and `network_for`) to keep hold of the network, e.g. to
    ask it for predictions while it trains or to save it afterwards.
    """
    split = split if split is not None else load_data(config)
    net = net if net is not None else network_for(config, split)
    yield from _Run(config, controls or Controls(), split, net).events()


class _Run:
    """One call of `train`, in named steps: gate (controls and live settings), step, flush, evaluate,
    early stopping and the summary. `status` stays "done" until something ends the run early."""

    def __init__(self, config: TrainConfig, controls: Controls, split: own.Data, net: Network):
        if not np.isfinite(net.params).all():
            raise ValueError(
                "the network's weights are not all finite: it can be neither trained nor evaluated"
            )
        self.config, self.controls, self.split, self.net = config, controls, split, net
        spec = get_optimizer(config.optimizer)
        self.base = spec.hyperparameters(**config.hyper)  # as set; "lr" is the schedule's base
        self.hp = dict(self.base)  # what the optimizer reads at each step
        self.live = config.live_values()  # l1, l2, max_norm, clip_norm: they may change at any step
        self.n = len(split.y_train)
        self.per_epoch = -(-self.n // config.batch_size)
        self.total = self.per_epoch * config.epochs
        self.factors = get_schedule(config.schedule, self.total, **config.schedule_params)(
            np.arange(self.total)
        )
        self.rng = np.random.default_rng(config.seed)
        self.targets = targets(split)
        self.scorer = Scorer(net, split, config)
        self.opt = spec.make(net.params, self.hp)
        _, self.opt_state = next(self.opt)
        self.probe = None  # λmax every `sharpness_every` steps, on the first EXAMPLES training examples
        if config.sharpness_every:
            rows = slice(0, EXAMPLES)
            x, y = split.x_train[rows], self.targets[rows]
            self.probe = SharpnessProbe(net, x, y, config.optimizer, seed=config.seed)
        self.sharpness: dict[str, float | None] = {}  # the latest probe's sharpness and threshold
        self.losses: list[float] = []  # steps taken but not yet sent, and their rates
        self.rates: list[float] = []
        self.step, self.epochs_done = 0, 0
        self.batches = ""  # the digest of the current epoch's batch order
        self.status: Status = "done"
        self.stepped = False  # the last step was a single step while paused: evaluate where it led
        self.final: Metrics | None = None  # the last evaluated epoch's
        self.best_loss, self.best_epoch = math.inf, 0  # early stopping's: the lowest test loss so far
        self.best_weights: dict[str, np.ndarray] = {}
        self.started = self.last_flush = self.last_eval = 0.0

    def events(self) -> Iterator[Event]:
        yield self._start()
        first = self.scorer.eval_event(0, 0.0)
        if first is None:  # finite weights, but not their loss: no training
            self.status = "diverged"
            yield diverged(0)
        else:
            yield first
            yield from self._probe()
        self.started = self.last_flush = self.last_eval = time.perf_counter()
        epoch = 0
        for epoch in range(1, self.config.epochs + 1) if first is not None else ():
            yield from self._epoch(epoch)
            if self.status != "done":
                break
        if self.losses:
            yield self._flush(epoch)
        yield self._summary()

    def _start(self) -> StartEvent:
        return StartEvent(
            type="start",
            config=asdict(self.config),
            hyper=dict(self.base),
            classes=list(self.split.class_names),
            regression=self.split.regression,
            features=int(self.split.x_train.shape[1]),
            train_size=self.n,
            test_size=len(self.split.y_test),
            parameters=int(self.net.params.size),
            steps_per_epoch=self.per_epoch,
            total_steps=self.total,
        )

    def _epoch(self, epoch: int) -> Iterator[Event]:
        """One pass over the shuffled training set, then its evaluation unless the throttle skips it."""
        order, size = self.rng.permutation(self.n), self.config.batch_size
        self.batches = hashlib.blake2b(order.tobytes(), digest_size=8).hexdigest()
        seconds = 0.0
        for start in range(0, self.n, size):
            state = yield from self._gate(epoch)
            if state == "stop":
                self.status = "stopped"
                return
            tick = time.perf_counter()
            if not self._step(order[start : start + size]):
                yield from self._diverge(epoch, self.step + 1)
                return
            seconds += time.perf_counter() - tick
            self.stepped = state == "step"
            yield from self._after_step(epoch, last=start + size >= self.n)
            if self.status != "done":
                return
        self.epochs_done = epoch
        c = self.config
        if epoch == c.epochs or c.patience or self.stepped or self._due(self.last_eval):
            yield from self._end_epoch(epoch, seconds)

    def _gate(self, epoch: int) -> Generator[Event, None, str]:
        """Before a step: apply and report what the controls changed, waiting here while paused (the
        steps taken so far sent first). Returns "run", "step" (one step while paused) or "stop"."""
        state = "paused"
        while state == "paused":
            if self.controls.paused and self.losses:
                yield self._flush(epoch)  # show every step taken before the pause
            changes, state = self.controls.gate()
            for change in changes:
                if change["action"] == "set":
                    self._set(change["values"])
                yield cast(ControlEvent, {"type": "control", "step": self.step + 1, **change})
        return state

    def _set(self, values: dict[str, float]) -> None:
        """New live options or optimizer hyperparameters (a new lr is the schedule's new base)."""
        for name, value in values.items():
            if name in LIVE:
                self.live[name] = value
                continue
            self.base[name] = value
            if name != "lr":
                self.hp[name] = value

    def _step(self, rows: np.ndarray) -> bool:
        """One optimizer step on the batch `rows`; False, with nothing changed, if its loss is not finite."""
        net, live = self.net, self.live
        with np.errstate(all="ignore"):  # overflow is how divergence starts: caught just below
            loss = net.loss_and_grad(self.split.x_train[rows], self.targets[rows])
            if not math.isfinite(loss):
                return False
            net.add_regularization(live["l1"], live["l2"])
            clip_global_norm(net.grad, live["clip_norm"])
            self.hp["lr"] = float(self.base["lr"] * self.factors[self.step])  # a numpy float64 would upcast
            _, self.opt_state = self.opt.send(net.grad)
            net.apply_max_norm(live["max_norm"])
        self.step += 1
        self.losses.append(loss)
        self.rates.append(self.hp["lr"])
        return True

    def _after_step(self, epoch: int, last: bool) -> Iterator[Event]:
        """Send the steps when a chunk is due, and evaluate every `eval_every` steps and after a single
        step (the epoch's `last` step is evaluated with its epoch)."""
        c = self.config
        periodic = c.eval_every and self.step % c.eval_every == 0 and self._due(self.last_eval)
        evaluate = (self.stepped or periodic) and not last
        if evaluate or (len(self.losses) >= c.chunk and self._due(self.last_flush)):
            yield self._flush(epoch)
        if self.probe is not None and self.step % c.sharpness_every == 0:
            yield from self._probe()
        if evaluate:
            yield from self._evaluate(epoch, self.step / self.per_epoch)

    def _probe(self) -> Iterator[SharpnessEvent]:
        """The sharpness at the current weights, if probing, against the threshold at the current η."""
        if self.probe is None:
            return
        measured = self.probe.measure(self.hp, self.opt_state, self.step)
        self.sharpness = {"sharpness": measured["sharpness"], "threshold": measured["threshold"]}
        yield cast(SharpnessEvent, {"type": "sharpness", "step": self.step, **measured})

    def _end_epoch(self, epoch: int, seconds: float) -> Iterator[Event]:
        if self.losses:
            yield self._flush(epoch)
        last = yield from self._evaluate(epoch, float(epoch))
        if last is None:
            return
        self.final = Metrics(
            train_loss=last["train_loss"],
            train_accuracy=last["train_accuracy"],
            test_loss=last["test_loss"],
            test_accuracy=last["test_accuracy"],
        )
        if self.split.regression:
            self.final["train_r2"], self.final["test_r2"] = last.get("train_r2"), last.get("test_r2")
        yield EpochEvent(
            type="epoch", epoch=epoch, step=self.step, seconds=seconds, batches=self.batches, **self.final
        )
        if self.config.patience and last["test_loss"] is not None:
            yield from self._early_stop(epoch, last["test_loss"])

    def _early_stop(self, epoch: int, test_loss: float) -> Iterator[Event]:
        """Keep the best weights; after `patience` epochs without a better test loss, restore them."""
        if test_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.best_weights = test_loss, epoch, self.net.snapshot()
        elif epoch - self.best_epoch >= self.config.patience:
            self.net.restore(self.best_weights)
            self.status = "early_stopped"
            yield EarlyStopEvent(
                type="early_stop", step=self.step, best_epoch=self.best_epoch, stopped_epoch=epoch
            )
            if (restored := self.scorer.eval_event(self.step, float(epoch))) is not None:
                yield restored

    def _evaluate(self, epoch: int, at: float) -> Generator[Event, None, EvalEvent | None]:
        """The evaluation at epoch `at` (fractional between epoch ends), or the divergence it reveals."""
        event = self.scorer.eval_event(self.step, at)
        if event is None:
            yield from self._diverge(epoch, self.step)
            return None
        self.last_eval = time.perf_counter()
        event.update(self.sharpness)  # type: ignore[typeddict-item]
        yield event
        return event

    def _diverge(self, epoch: int, step: int) -> Iterator[Event]:
        self.status = "diverged"
        if self.losses:
            yield self._flush(epoch)
        yield diverged(step)

    def _flush(self, epoch: int) -> StepsEvent:
        """The steps not yet sent."""
        step, losses, rates = self.step, self.losses, self.rates
        event = StepsEvent(
            type="steps",
            step=np.arange(step - len(losses) + 1, step + 1),
            epoch=epoch,
            loss=np.array(losses),
            lr=np.array(rates),
        )
        losses.clear()
        rates.clear()
        self.last_flush = time.perf_counter()
        return event

    def _due(self, since: float) -> bool:
        return time.perf_counter() - since >= self.config.throttle

    def _summary(self) -> SummaryEvent:
        summary = SummaryEvent(
            type="summary",
            status=self.status,
            epochs=self.epochs_done,
            steps=self.step,
            seconds=time.perf_counter() - self.started,
        )
        if self.final is not None:
            summary.update(self.final)
        if self.config.patience:
            summary["best_epoch"] = self.best_epoch
        return summary
