"""Training a network: one generator of events that the command line and the web app both consume.

    for event in train(TrainConfig(dataset="moons", hidden=((16, "relu"),)), controls):
        ...  # dicts with a "type": start, steps, eval, epoch, control, early_stop, diverged, summary

Events are plain dicts of numbers, lists and numpy arrays (serialize with orjson's numpy option):

- start: the resolved configuration, data sizes, parameter count, steps per epoch.
- steps: every `chunk` steps, the per-step `loss` (the batch's data loss) and `lr`, as arrays, and
  the `epoch` the last of them belongs to.
- eval: every `eval_every` steps and at each epoch end: train/test loss and accuracy, the test
  confusion matrix, a few misclassified test examples, diagnostics (per-layer gradient norms, dead
  ReLU fractions, weight and activation histograms) and, for 2D inputs, the decision surface.
- epoch: after each evaluated epoch: epoch, train/test loss and accuracy, and `seconds`, the wall
  time of that epoch's training steps (evaluation and the consumer's time between events excluded).

`throttle` (seconds, 0 by default) thins the stream for live displays: steps are sent at most that
often, and evaluations (with their epoch events) happen at most that often, except the last one,
single steps, and every epoch when early stopping needs the test loss. A small network on a toy
set trains hundreds of epochs a second; nobody can watch that many surfaces.
- control: a pause, resume, step, stop or setting change took effect before step `step`.
- early_stop, diverged: why training ended early. summary: the last event, always.

A non-finite loss ends the run with a `diverged` event: no NaN ever leaves this module.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict

import numpy as np

from core.data import mnist
from core.data.datasets import DATASETS, Split, make_dataset, one_hot
from core.nn.config import LIVE, TrainConfig
from core.nn.config import SEED as SEED  # re-exported: the CLI bounds every --seed with it
from core.nn.network import Network, NetworkSpec
from core.optimizers import get_optimizer
from core.schedules import get_schedule

HISTOGRAM_BINS = 30
MISCLASSIFIED = 24  # test examples listed per evaluation


def load_data(config: TrainConfig, download: bool = True, root=None) -> Split:
    """The configured dataset: a 2D toy set, or MNIST / Fashion-MNIST (fetched if missing and allowed;
    `root`: the data directory, by default core.data.mnist.data_dir()).

    Raises ValueError when the batch size exceeds the training set.
    """
    if config.dataset in DATASETS:
        split = make_dataset(config.dataset, **config.data)
    else:
        split = mnist.load(config.dataset, **config.data, root=root, download=download, progress=False)
    if config.batch_size > len(split.y_train):
        n = len(split.y_train)
        raise ValueError(f"batch_size must be in [1, {n}] (the training set), got {config.batch_size}")
    return split


def network_for(config: TrainConfig, split: Split) -> Network:
    spec = NetworkSpec(
        split.x_train.shape[1],
        split.classes,
        config.hidden,
        config.output,
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

    def __init__(self):
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

    def set(self, **values: float) -> None:
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


def clip_global_norm(grad: np.ndarray, c: float) -> float:
    """g ← g·min(1, c/(‖g‖ + 10⁻⁶)) in place, over the whole flat gradient; returns ‖g‖ before.

    torch.nn.utils.clip_grad_norm_'s rule, ε included, applied where torch applies it: after the
    backward pass (here: after the L1/L2 terms are added, as a penalty in the loss would put them)
    and before the optimizer's step. c = 0 leaves g alone.
    """
    if not c:
        return math.nan
    squares = float(np.dot(grad, grad))
    if not math.isfinite(squares):  # float32 overflows long before the norm itself would
        squares = float(np.dot(grad.astype(np.float64), grad.astype(np.float64)))
    norm = math.sqrt(squares)
    if c < norm + 1e-6:
        grad *= grad.dtype.type(c / (norm + 1e-6))
    return norm


def _histogram(values) -> dict:
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    return {"counts": counts, "edges": edges}


def _surface_grid(split: Split, resolution: int):
    """A grid over the data's bounding box, padded by a tenth of its size on each side."""
    points = np.concatenate([split.x_train, split.x_test])
    low, high = points.min(axis=0), points.max(axis=0)
    pad = (high - low) / 10
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution, dtype=np.float32)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution, dtype=np.float32)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()])


class _Scorer:
    """Loss, accuracy, confusion and diagnostics of the current network on fixed data."""

    def __init__(self, net: Network, split: Split, config: TrainConfig):
        self.net, self.split, self.loss = net, split, net.loss
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
        if len(y) == 0:
            return None, None, None
        probs = self.net.predict_proba(x)
        loss = self.loss.value(one_hot(y, self.classes), probs)
        predicted = probs.argmax(axis=1)
        return float(loss), float(np.mean(predicted == y)), predicted

    def eval_event(self, step: int, epoch: float) -> dict | None:
        """The evaluation event, or None when the network has stopped being finite (diverged)."""
        with np.errstate(all="ignore"):
            return self._eval_event(step, epoch)

    def _eval_event(self, step: int, epoch: float) -> dict | None:
        if not np.isfinite(self.net.params).all():
            return None
        train_loss, train_acc, _ = self._score(self.x_train, self.y_train)
        test_loss, test_acc, predicted = self._score(self.split.x_test, self.split.y_test)
        if not all(math.isfinite(v) for v in (train_loss, test_loss) if v is not None):
            return None
        event = {
            "type": "eval",
            "step": step,
            "epoch": epoch,
            "train_loss": train_loss,
            "train_accuracy": train_acc,
            "test_loss": test_loss,
            "test_accuracy": test_acc,
        }
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
            event["surface"] = {"x": xs, "y": ys, "probabilities": grid}
        event["diagnostics"] = self.diagnostics()
        return event

    def diagnostics(self) -> dict:
        """From the last training batch: per-layer gradient norms, dead ReLUs, histograms."""
        net = self.net
        return {
            "layers": net.diagnostics(),
            "weights": {name: _histogram(w) for name, w in net.weights().items()},
            "activations": {name: _histogram(a) for name, a in net.activations().items()},
        }


def _diverged(step: int) -> dict:
    return {"type": "diverged", "step": step, "message": f"diverged at step {step}: the loss is not finite"}


def train(
    config: TrainConfig,
    controls: Controls | None = None,
    split: Split | None = None,
    net: Network | None = None,
) -> Iterator[dict]:
    """Train on `config`; yield events (see the module docstring) until done.

    Pass `split` and `net` (from `load_data` and `network_for`) to keep hold of the network, e.g. to
    ask it for predictions while it trains or to save it afterwards.
    """
    controls = controls or Controls()
    split = split if split is not None else load_data(config)
    net = net if net is not None else network_for(config, split)
    if not np.isfinite(net.params).all():
        raise ValueError("the network's weights are not all finite: it can be neither trained nor evaluated")
    spec = get_optimizer(config.optimizer)
    base = spec.hyperparameters(**config.hyper)
    hp = dict(base)
    reg = {name: getattr(config, name) for name in LIVE}
    n = len(split.y_train)
    per_epoch = -(-n // config.batch_size)
    total = per_epoch * config.epochs
    factors = get_schedule(config.schedule, total, **config.schedule_params)(np.arange(total))
    rng = np.random.default_rng(config.seed)
    targets = one_hot(split.y_train, split.classes)
    scorer = _Scorer(net, split, config)
    opt = spec.make(net.params, hp)
    next(opt)

    yield {
        "type": "start",
        "config": asdict(config),
        "hyper": dict(base),
        "classes": list(split.class_names),
        "train_size": n,
        "test_size": len(split.y_test),
        "parameters": int(net.params.size),
        "steps_per_epoch": per_epoch,
        "total_steps": total,
    }
    losses, rates = [], []
    step, status, diverged_at = 0, "done", 0
    if (first := scorer.eval_event(0, 0.0)) is None:  # finite weights, but not their loss: no training
        status = "diverged"
        yield _diverged(0)
    else:
        yield first
    best = {"loss": math.inf, "epoch": 0, "snapshot": None}
    started = time.perf_counter()
    last_flush = last_eval = started
    epochs_done, final = 0, {}

    def flush(epoch: int) -> dict:
        nonlocal last_flush
        event = {
            "type": "steps",
            "step": np.arange(step - len(losses) + 1, step + 1),
            "epoch": epoch,
            "loss": np.array(losses),
            "lr": np.array(rates),
        }
        losses.clear()
        rates.clear()
        last_flush = time.perf_counter()
        return event

    def due(since: float) -> bool:
        return time.perf_counter() - since >= config.throttle

    stepped = False
    for epoch in range(1, config.epochs + 1) if first is not None else ():
        order = rng.permutation(n)
        seconds = 0.0
        for start in range(0, n, config.batch_size):
            state = "paused"
            while state == "paused":
                if controls.paused and losses:
                    yield flush(epoch)  # show every step taken before the pause
                changes, state = controls.gate()
                for change in changes:
                    if change["action"] == "set":
                        for name, value in change["values"].items():
                            (reg if name in LIVE else base)[name] = value
                            if name != "lr":
                                hp[name] = value
                    yield {"type": "control", "step": step + 1, **change}
            if state == "stop":
                status = "stopped"
                break
            tick = time.perf_counter()
            rows = order[start : start + config.batch_size]
            with np.errstate(all="ignore"):  # overflow is how divergence starts: caught just below
                loss = net.loss_and_grad(split.x_train[rows], targets[rows])
                if not math.isfinite(loss):
                    status, diverged_at = "diverged", step + 1
                    break
                net.add_regularization(reg["l1"], reg["l2"])
                clip_global_norm(net.grad, reg["clip_norm"])
                hp["lr"] = float(base["lr"] * factors[step])  # a numpy float64 would upcast float32 math
                opt.send(net.grad)
                net.apply_max_norm(reg["max_norm"])
            seconds += time.perf_counter() - tick
            step += 1
            losses.append(loss)
            rates.append(hp["lr"])
            stepped = state == "step"  # a single step while paused: show where it led
            periodic = config.eval_every and step % config.eval_every == 0 and due(last_eval)
            evaluate = (stepped or periodic) and start + config.batch_size < n  # else the epoch's
            if evaluate or (len(losses) >= config.chunk and due(last_flush)):
                yield flush(epoch)
            if evaluate:
                if (event := scorer.eval_event(step, step / per_epoch)) is None:
                    status, diverged_at = "diverged", step
                    break
                last_eval = time.perf_counter()
                yield event
        if status == "diverged":
            if losses:
                yield flush(epoch)
            yield _diverged(diverged_at)
            break
        if status == "stopped":
            break
        epochs_done = epoch
        if not (epoch == config.epochs or config.patience or stepped or due(last_eval)):
            continue  # throttled: no evaluation this epoch
        if losses:
            yield flush(epoch)
        if (last := scorer.eval_event(step, float(epoch))) is None:
            status = "diverged"
            yield _diverged(step)
            break
        last_eval = time.perf_counter()
        yield last
        metrics = {k: last[k] for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")}
        final = metrics
        yield {"type": "epoch", "epoch": epoch, "step": step, "seconds": seconds, **metrics}
        if config.patience and last["test_loss"] is not None:
            if last["test_loss"] < best["loss"]:
                best.update(loss=last["test_loss"], epoch=epoch, snapshot=net.snapshot())
            elif epoch - best["epoch"] >= config.patience:
                net.restore(best["snapshot"])
                status = "early_stopped"
                yield {
                    "type": "early_stop",
                    "step": step,
                    "best_epoch": best["epoch"],
                    "stopped_epoch": epoch,
                }
                yield scorer.eval_event(step, float(epoch))
                break

    if losses:
        yield flush(epoch)
    yield {
        "type": "summary",
        "status": status,
        "epochs": epochs_done,
        "steps": step,
        "seconds": time.perf_counter() - started,
        **final,
        **({"best_epoch": best["epoch"]} if config.patience else {}),
    }
