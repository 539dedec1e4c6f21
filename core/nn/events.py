"""The events of a training run, typed: what core.nn.training.train yields, and the `error` a server
reports when a run's process fails.

Each is a TypedDict, so an event is a plain dict (orjson serializes it, numpy arrays included, with
OPT_SERIALIZE_NUMPY) whose keys come in the order declared here; `type` names its kind. No number in
any of them is ever NaN or infinite: a run whose loss stops being finite sends `diverged` instead.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict, get_args, get_type_hints

import numpy as np

Status = Literal["done", "stopped", "early_stopped", "diverged"]  # how a run ended


class StartEvent(TypedDict):
    """First: the resolved configuration and the sizes of the run."""

    type: Literal["start"]
    config: dict  # dataclasses.asdict of the TrainConfig
    hyper: dict[str, float]  # the optimizer's hyperparameters, defaults filled in
    classes: list[str]  # none for a regression
    regression: bool  # the target is a number: R² (train_r2, test_r2) stands in for accuracy
    features: int  # the network's input width
    train_size: int
    test_size: int
    parameters: int
    steps_per_epoch: int
    total_steps: int


class StepsEvent(TypedDict):
    """Every `chunk` steps (at least, with a throttle): each step's batch loss and learning rate."""

    type: Literal["steps"]
    step: np.ndarray  # int, consecutive
    epoch: int  # the epoch the last of them belongs to
    loss: np.ndarray
    lr: np.ndarray


class Misclassified(TypedDict):
    index: int
    true: int
    predicted: int


class Surface(TypedDict):
    x: np.ndarray
    y: np.ndarray
    probabilities: NotRequired[np.ndarray]  # (classes, len(y), len(x)); a classification's
    values: NotRequired[np.ndarray]  # (len(y), len(x)): a regression's predicted target


class Histogram(TypedDict):
    counts: np.ndarray
    edges: np.ndarray


class Diagnostics(TypedDict):
    layers: list[dict]  # per layer: its name, gradient norm and, for ReLU, the dead fraction
    weights: dict[str, Histogram]
    activations: dict[str, Histogram]


class EvalEvent(TypedDict):
    """Every `eval_every` steps and at each evaluated epoch's end. A loss or accuracy is None when its
    set is empty (a dataset with no test examples). A regression has no accuracy (None), no confusion
    and no misclassified examples, but R² = 1 − Σ(y − ŷ)²/Σ(y − ȳ)² over each set (None when the set
    is empty or its targets are all equal)."""

    type: Literal["eval"]
    step: int
    epoch: float
    train_loss: float | None
    train_accuracy: float | None
    test_loss: float | None
    test_accuracy: float | None
    train_r2: NotRequired[float | None]  # a regression's
    test_r2: NotRequired[float | None]
    confusion: NotRequired[np.ndarray]  # (classes, classes) counts, true class by row
    misclassified: NotRequired[list[Misclassified]]
    surface: NotRequired[Surface]  # 2D inputs with `surface` > 0
    diagnostics: Diagnostics
    sharpness: NotRequired[float | None]  # the latest probe's (with sharpness_every)
    threshold: NotRequired[float | None]


class SharpnessEvent(TypedDict):
    """Every `sharpness_every` steps: λmax of the training loss's Hessian on a fixed subset, and the
    optimizer's stability threshold at its current η (None for rules without one). For Adam and
    RMSprop the threshold applies to `preconditioned`, λmax of P⁻¹H; for the others to `sharpness`.
    A value that is not finite is None."""

    type: Literal["sharpness"]
    step: int
    sharpness: float | None
    threshold: float | None
    preconditioned: NotRequired[float | None]


class Metrics(TypedDict):
    train_loss: float | None
    train_accuracy: float | None
    test_loss: float | None
    test_accuracy: float | None
    train_r2: NotRequired[float | None]  # a regression's
    test_r2: NotRequired[float | None]


class EpochEvent(Metrics):
    """After each evaluated epoch; `seconds`: the wall time of its training steps alone."""

    type: Literal["epoch"]
    epoch: int
    step: int
    seconds: float
    batches: str  # a digest of the epoch's batch order: the same for every run with the same seed


class ControlEvent(TypedDict):
    """A pause, resume, single step, stop or setting change took effect before step `step`."""

    type: Literal["control"]
    step: int
    action: Literal["pause", "resume", "step", "stop", "set"]
    steps: NotRequired[int]  # step: how many
    values: NotRequired[dict[str, float]]  # set: the new values


class EarlyStopEvent(TypedDict):
    type: Literal["early_stop"]
    step: int
    best_epoch: int  # its weights were restored
    stopped_epoch: int


class DivergedEvent(TypedDict):
    type: Literal["diverged"]
    step: int
    message: str


class SummaryEvent(TypedDict):
    """Last, always. The metrics are the last evaluated epoch's (absent if none was)."""

    type: Literal["summary"]
    status: Status
    epochs: int
    steps: int
    seconds: float
    train_loss: NotRequired[float | None]
    train_accuracy: NotRequired[float | None]
    test_loss: NotRequired[float | None]
    test_accuracy: NotRequired[float | None]
    train_r2: NotRequired[float | None]  # a regression's
    test_r2: NotRequired[float | None]
    best_epoch: NotRequired[int]  # with early stopping


class ErrorEvent(TypedDict):
    """A run that failed outside the loop (its process died, or it sent what could not be read)."""

    type: Literal["error"]
    message: str


Event = (
    StartEvent
    | StepsEvent
    | EvalEvent
    | SharpnessEvent
    | EpochEvent
    | ControlEvent
    | EarlyStopEvent
    | DivergedEvent
    | SummaryEvent
    | ErrorEvent
)
KINDS = tuple(get_args(get_type_hints(event)["type"])[0] for event in get_args(Event))  # every `type`
ENDINGS = ("early_stop", "diverged", "summary", "error")  # why a run ended, and its last word
LAST = ("summary", "error")  # nothing follows either


def diverged(step: int) -> DivergedEvent:
    return DivergedEvent(
        type="diverged", step=step, message=f"diverged at step {step}: the loss is not finite"
    )


def error(message: str) -> ErrorEvent:
    return ErrorEvent(type="error", message=message)
