"""The training configuration, declared once: every field of `TrainConfig` with its type, range, default
and whether it may change while a run trains.

Each field carries an `Option` in its metadata (`OPTIONS` collects them, in field order): a number's
`Param` (label, default, range, slider scale, help), a choice's valid names (from its registry), whether
the running loop takes a new value (`live`), the tighter bound and other default a shared server gives
it, and its short name in a page's link. The server's request model, `descent train`'s flags and what
the network pages build their forms, links and defaults from (GET /api/networks) are all generated from
`OPTIONS`; the named configurations the pages and benchmarks start from are in core/nn/recipes.py.

Adding a training option is a `Param` and a field here, its use in core/nn/training.py, and a test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, get_args

from core.data import mnist, own
from core.data.datasets import DATASETS, plain
from core.nn.activations import ACTIVATIONS
from core.nn.inits import INITS
from core.nn.layers import DROPOUT
from core.nn.losses import LOSSES
from core.nn.network import L1, L2, MAX_NORM
from core.nn.norms import NORMS
from core.optimizers import OPTIMIZERS, get_optimizer
from core.params import Param, resolve
from core.schedules import SCHEDULES, get_schedule

BATCH = Param("batch_size", "batch size", 16, 1, 65_536, log=True, integer=True)
EPOCHS = Param("epochs", "epochs", 25, 1, 10_000, log=True, integer=True)
PATIENCE = Param("patience", "early-stopping patience (epochs)", 0, 0, 1000, integer=True, help="0: off")
EVAL_EVERY = Param("eval_every", "steps between evaluations", 0, 0, 1_000_000, integer=True, help="0: epochs")
EVAL_TRAIN = Param(
    "eval_train_size", "training examples scored per evaluation", 0, 0, 10**7, integer=True, help="0: all"
)
SURFACE = Param("surface", "decision-surface points per axis", 0, 0, 200, integer=True, help="0: none; 2D")
CHUNK = Param("chunk", "steps per event", 50, 1, 100_000, integer=True)
THROTTLE = Param("throttle", "least seconds between events", 0.0, 0.0, 60.0, help="0: send everything")
SEED = Param("seed", "seed", 0, 0, 2**32 - 1, integer=True, help="initialization, shuffling and dropout")
CLIP_NORM = Param(
    "clip_norm",
    "gradient clip-norm",
    0.0,
    0.0,
    100.0,
    help="the whole gradient (L1/L2 terms included) is scaled to norm ≤ this before each step; 0: off",
)
SHARPNESS_EVERY = Param(
    "sharpness_every",
    "steps between sharpness probes",
    0,
    0,
    1_000_000,
    integer=True,
    help="λmax of the loss's Hessian against the optimizer's stability threshold; 0: off",
)
TRAINING_PARAMS = (BATCH, EPOCHS, PATIENCE, EVAL_EVERY, EVAL_TRAIN, SURFACE, CHUNK, THROTTLE, SEED)

# a Param's number, a registry's name, named numbers (checked by their registry entry), hidden layers,
# a string checked by its field (the hash of uploaded data)
Kind = Literal["number", "choice", "settings", "layers", "text"]
KINDS: tuple[Kind, ...] = get_args(Kind)
_SAME = object()  # a shared server's default is the core's


@dataclass(frozen=True)
class Option:
    """One field of TrainConfig as users meet it."""

    name: str
    label: str
    kind: Kind
    default: Any  # the core's
    key: str = ""  # its name in a page's link ("" for none: the page sets it itself)
    help: str = ""
    param: Param | None = None  # a number's range, scale and help
    choices: tuple[str, ...] = ()  # a choice's valid names
    optional: bool = False  # a choice that may be None
    live: bool = False  # a running loop takes a new value from its next step on
    server_high: float | None = None  # a shared server's upper bound, where tighter than the core's
    server_default: Any = _SAME
    internal: bool = False  # a knob of the loop itself: neither a request field nor a flag

    @property
    def high(self) -> float | None:
        """A number's upper bound on a shared server."""
        if self.server_high is not None:
            return self.server_high
        return self.param.high if self.param else None

    @property
    def served_default(self) -> Any:
        return self.default if self.server_default is _SAME else self.server_default


def _declared(option: Option, **kwargs):
    return field(**kwargs, metadata={"option": option})


def number(param: Param, key: str = "", **extra):
    """A numeric field: its Param's default, range and help."""
    option = Option(param.name, param.label, "number", param.default, key, param.help, param=param, **extra)
    return _declared(option, default=param.default)


def choice(label: str, default: str | None, choices, key: str, optional: bool = False, help: str = ""):
    """A name from a registry (or None, when optional)."""
    option = Option("", label, "choice", default, key, help, choices=tuple(choices), optional=optional)
    return _declared(option, default=default)


def settings(label: str, key: str, help: str = ""):
    """Named numbers, checked against the registry entry they belong to."""
    return _declared(Option("", label, "settings", {}, key, help), default_factory=dict)


def layers(label: str, default: tuple, key: str, help: str = ""):
    return _declared(Option("", label, "layers", default, key, help), default=default)


def text(label: str, key: str, help: str = ""):
    """A string, or None (its default)."""
    return _declared(Option("", label, "text", None, key, help, optional=True), default=None)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on; the same config and seed give the same run."""

    dataset: str = choice("dataset", "moons", [*DATASETS, *mnist.IMAGE_SETS, own.NAME], key="ds")
    data: Mapping[str, float] = settings("the dataset's parameters", "data", help="see /api/datasets")
    data_id: str | None = text(
        "uploaded data", "did", help=f"the hash POST /api/data gave; dataset {own.NAME!r} only"
    )
    hidden: tuple[tuple[int, str], ...] = layers(
        "hidden layers", ((16, "relu"), (16, "relu")), "hidden", help="(width, activation) each"
    )
    output: str = choice("output activation", "softmax", ACTIVATIONS, key="out")
    loss: str = choice("loss", "cross_entropy", LOSSES, key="loss")
    init: str = choice("hidden layers' initialization", "he", INITS, key="init")
    output_init: str = choice("output layer's initialization", "xavier", INITS, key="oinit")
    norm: str | None = choice("normalization", None, NORMS, key="norm", optional=True)
    dropout: float = number(DROPOUT, key="drop")
    optimizer: str = choice("optimizer", "sgd", OPTIMIZERS, key="opt")
    hyper: Mapping[str, float] = settings("optimizer hyperparameters", "hyper", help="see /api/optimizers")
    schedule: str = choice("learning-rate schedule", "constant", SCHEDULES, key="sched")
    schedule_params: Mapping[str, float] = settings("the schedule's parameters", "sp")
    batch_size: int = number(BATCH, key="bs", server_high=4096)
    epochs: int = number(EPOCHS, key="epochs")  # full-batch training takes thousands (an epoch is a step)
    l1: float = number(L1, key="l1", live=True)
    l2: float = number(L2, key="l2", live=True)
    max_norm: float = number(MAX_NORM, key="maxnorm", live=True)
    clip_norm: float = number(CLIP_NORM, key="clip", live=True)
    patience: int = number(PATIENCE, key="patience", server_high=500)
    eval_every: int = number(EVAL_EVERY, key="every")
    eval_train_size: int = number(EVAL_TRAIN, key="evaltrain", server_high=60_000)
    surface: int = number(SURFACE, server_high=100)
    sharpness_every: int = number(SHARPNESS_EVERY, key="sharp")
    chunk: int = number(CHUNK, internal=True)  # at least, with a throttle
    throttle: float = number(THROTTLE, server_high=10.0, server_default=0.1)
    seed: int = number(SEED, key="seed")

    def __post_init__(self):
        for name, param in PARAMS.items():
            object.__setattr__(self, name, param.check(getattr(self, name)))
        for option in CHOICES:
            value = getattr(self, option.name)
            if value not in option.choices and not (value is None and option.optional):
                raise ValueError(f"unknown {option.name} {value!r}; valid: {', '.join(option.choices)}")
        get_optimizer(self.optimizer).hyperparameters(**self.hyper)
        get_schedule(self.schedule, 1, **self.schedule_params)
        check_data(self.dataset, self.data)
        if self.dataset == own.NAME:
            if self.data_id is None:
                raise ValueError(f"dataset {own.NAME!r} needs a data_id: the hash POST /api/data gave")
            own.check_id(self.data_id)
        else:
            object.__setattr__(self, "data_id", None)  # it names uploaded data only

    def live_values(self) -> dict[str, float]:
        """The values of the live options (those a running loop takes anew)."""
        return {name: getattr(self, name) for name in LIVE}


def check_data(dataset: str, data: Mapping[str, float]) -> dict:
    """The dataset's parameters with `data` overlaid; a ValueError naming any that is unknown or out
    of range."""
    if dataset == own.NAME:
        return resolve(own.PARAMS, plain(dict(data)), f"dataset {dataset!r}")
    params = (DATASETS.get(dataset) or mnist.get_image_set(dataset)).params
    return resolve(params, plain(dict(data)), f"dataset {dataset!r}")


# Every field's Option, in field order; its name is the field's.
OPTIONS: dict[str, Option] = {f.name: replace(f.metadata["option"], name=f.name) for f in fields(TrainConfig)}
CHOICES = tuple(o for o in OPTIONS.values() if o.kind == "choice")
PARAMS: dict[str, Param] = {name: o.param for name, o in OPTIONS.items() if o.param is not None}  # numbers
LIVE = tuple(name for name, o in OPTIONS.items() if o.live)  # numbers a running loop takes anew
