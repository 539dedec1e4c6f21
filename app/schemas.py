"""Request and response models. Requests are strict (no `false` as a number), closed (unknown fields
are errors) and bounded; names are checked against the core registries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from core.data.datasets import DATASETS, get_dataset
from core.data.mnist import IMAGE_SETS
from core.landscape.landscapes import LANDSCAPES, Landscape, get_landscape
from core.landscape.noise import NOISE_PARAMS, GradientNoise
from core.nn.activations import ACTIVATIONS
from core.nn.inits import INITS
from core.nn.losses import LOSSES
from core.nn.training import TrainConfig, check_data
from core.optimizers import OPTIMIZERS, get_optimizer
from core.params import Param, resolve
from core.schedules import SCHEDULES, get_schedule

MAX_STEPS = 10_000
MAX_RACERS = 8

LandscapeName = Literal[tuple(LANDSCAPES)]
OptimizerName = Literal[tuple(OPTIMIZERS)]
ScheduleName = Literal[tuple(SCHEDULES)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
# FastAPI validates parsed JSON, where a point is a list; strict mode would refuse it as a tuple.
Point = Annotated[list[Finite], Field(min_length=2, max_length=2)]
Settings = Annotated[dict[str, Finite], Field(max_length=16)]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


def _bounded(p: Param):
    return Annotated[int if p.integer else float, Field(ge=p.low, le=p.high, description=p.label)], p.default


# Simulated gradient noise: one field per core.landscape.noise.NOISE_PARAMS entry, bounds included.
NoiseIn = create_model("NoiseIn", __base__=Strict, **{p.name: _bounded(p) for p in NOISE_PARAMS})


def _noise(noise) -> GradientNoise | None:
    return None if noise is None else GradientNoise(**noise.model_dump())


class LandscapeIn(Strict):
    landscape: LandscapeName = "mccormick"
    landscape_params: Settings = {}

    def bound_landscape(self) -> Landscape:
        return get_landscape(self.landscape, **self.landscape_params)

    @model_validator(mode="after")
    def _check_landscape(self):
        self.bound_landscape()  # raises ValueError naming the parameter and its range
        return self


class RacerIn(Strict):
    optimizer: OptimizerName
    hyper: Settings = Field(default={}, description="hyperparameters; missing ones take defaults")

    @model_validator(mode="after")
    def _resolve(self):
        self.hyper = get_optimizer(self.optimizer).hyperparameters(**self.hyper)
        return self


class RaceIn(LandscapeIn):
    racers: list[RacerIn] = Field(min_length=1, max_length=MAX_RACERS)
    start: Point | None = Field(None, description="[x, y]; default: the landscape's start")
    steps: int = Field(500, ge=1, le=MAX_STEPS)
    noise: NoiseIn | None = Field(None, description="simulated stochastic gradients; null: exact")
    schedule: ScheduleName = "constant"
    schedule_params: Settings = {}
    seed: int = Field(0, ge=0, le=2**32 - 1, description="noise seed, shared by all racers")

    @model_validator(mode="after")
    def _check(self):
        landscape = self.bound_landscape()
        if self.start is not None and landscape.far_outside(*self.start):
            raise ValueError(f"start {self.start} lies ten domain widths outside {landscape.domain}")
        self.schedule_fn()
        return self

    @field_validator("noise", mode="after")
    @classmethod
    def _check_noise(cls, noise):
        _noise(noise)
        return noise

    def schedule_fn(self):
        return get_schedule(self.schedule, self.steps, **self.schedule_params)

    def core_args(self) -> dict:
        """Keyword arguments for core.landscape.paths.race."""
        landscape = self.bound_landscape()
        return {
            "landscape": landscape,
            "racers": [(get_optimizer(r.optimizer), r.hyper) for r in self.racers],
            "start": self.start or landscape.start,
            "steps": self.steps,
            "noise": _noise(self.noise),
            "schedule": self.schedule_fn(),
            "seed": self.seed,
        }


class ExportIn(RaceIn):
    format: Literal["csv", "json"] = "csv"


class SurfaceIn(LandscapeIn):
    resolution: int = Field(120, ge=10, le=300, description="grid points per axis")
    arrows: int = Field(20, ge=0, le=40, description="gradient arrows per axis")


class PointIn(LandscapeIn):
    x: Finite
    y: Finite

    @model_validator(mode="after")
    def _near(self):
        landscape = self.bound_landscape()
        if landscape.far_outside(self.x, self.y):
            raise ValueError(f"({self.x:g}, {self.y:g}) lies ten domain widths outside {landscape.domain}")
        return self


# --- responses -----------------------------------------------------------------------------------


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(BaseModel):
    """A 422: each bad field's location and what is wrong with it."""

    detail: list[FieldError]


class ParamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    label: str
    default: float
    low: float
    high: float
    log: bool
    integer: bool
    help: str


class MinimumOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    x: float
    y: float
    value: float
    is_global: bool


class LandscapeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    label: str
    formula: str
    domain: tuple[tuple[float, float], tuple[float, float]]
    minima: list[MinimumOut]
    many_minima: bool = Field(
        description="true: minima lists the global minima only; the local ones are too many to list"
    )
    start: tuple[float, float]
    lr: dict[str, float] = Field(description="suggested learning rate per optimizer family")
    steps: int
    params: list[ParamOut]
    reference: str


class OptimizerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    label: str
    rule: str
    family: str
    reference: str
    params: list[ParamOut]


class ScheduleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    label: str
    formula: str
    params: list[ParamOut]


class RegistryOut(BaseModel):
    landscapes: list[LandscapeOut]
    optimizers: list[OptimizerOut]
    schedules: list[ScheduleOut]
    noise: list[ParamOut]
    max_steps: int
    max_racers: int


class ArrowsOut(BaseModel):
    x: list[float]
    y: list[float]
    u: list[float]
    v: list[float]
    norm: list[float]


class SurfaceOut(BaseModel):
    x: list[float]
    y: list[float]
    z: list[list[float]]
    color: list[list[float]] = Field(description="z, or log10(z − min + δ) when log_scale")
    log_scale: bool
    arrows: ArrowsOut


class StabilityOut(BaseModel):
    curvature: float | None = Field(description="largest Hessian eigenvalue λmax (null if it overflows)")
    lr_limit: float | None = Field(description="2/λmax, the largest stable learning rate of plain GD")


# --- training runs -------------------------------------------------------------------------------

MAX_LAYERS, MAX_WIDTH, MAX_EPOCHS = 8, 2048, 500
DatasetName = Literal[(*DATASETS, *IMAGE_SETS)]
HiddenActivation = Literal[tuple(name for name, a in ACTIVATIONS.items() if not a.output_only)]
OutputActivation = Literal[tuple(ACTIVATIONS)]


class LayerIn(Strict):
    width: int = Field(ge=1, le=MAX_WIDTH)
    activation: HiddenActivation = "relu"


class TrainIn(Strict):
    """A training run: the fields of core.nn.training.TrainConfig, bounded for a shared server."""

    dataset: DatasetName = "moons"
    data: Settings = Field(default={}, description="the dataset's parameters (see /api/datasets)")
    hidden: list[LayerIn] = Field(default=[LayerIn(width=16), LayerIn(width=16)], max_length=MAX_LAYERS)
    output: OutputActivation = "softmax"
    loss: Literal[tuple(LOSSES)] = "cross_entropy"
    init: Literal[tuple(INITS)] = "he"
    output_init: Literal[tuple(INITS)] = "xavier"
    norm: Literal["batch", "layer"] | None = None
    dropout: float = Field(0.0, ge=0.0, le=0.95, description="drop probability")
    optimizer: OptimizerName = "sgd"
    hyper: Settings = {}
    schedule: ScheduleName = "constant"
    schedule_params: Settings = {}
    batch_size: int = Field(16, ge=1, le=4096)
    epochs: int = Field(25, ge=1, le=MAX_EPOCHS)
    l1: float = Field(0.0, ge=0.0, le=1.0)
    l2: float = Field(0.0, ge=0.0, le=1.0)
    max_norm: float = Field(0.0, ge=0.0, le=100.0)
    patience: int = Field(0, ge=0, le=MAX_EPOCHS)
    eval_every: int = Field(0, ge=0, le=1_000_000, description="steps between evaluations; 0: epoch ends")
    eval_train_size: int = Field(0, ge=0, le=60_000, description="training examples scored; 0: all")
    surface: int = Field(0, ge=0, le=100, description="decision-surface grid points per axis (2D data)")
    throttle: float = Field(0.1, ge=0.0, le=10.0, description="least seconds between events of a kind")
    seed: int = Field(0, ge=0, le=2**32 - 1)

    @field_validator("data")
    @classmethod
    def _data(cls, data: dict, info: ValidationInfo) -> dict:
        if "dataset" in info.data:  # else the dataset's own error is reported
            check_data(info.data["dataset"], data)
        return data

    @model_validator(mode="after")
    def _check(self):
        self.config()  # the core's own checks: names, ranges, optimizer and schedule parameters
        return self

    def config(self) -> TrainConfig:
        fields = self.model_dump(exclude={"hidden"})
        return TrainConfig(**fields, hidden=tuple((layer.width, layer.activation) for layer in self.hidden))

    @classmethod
    def from_config(cls, config: TrainConfig) -> TrainIn:
        fields = {name: getattr(config, name) for name in cls.model_fields if name != "hidden"}
        hidden = [LayerIn(width=w, activation=a) for w, a in config.hidden]
        return cls.model_construct(**fields, hidden=hidden)


class HyperIn(Strict):
    values: Settings = Field(description="optimizer hyperparameters and l1, l2, max_norm to change now")


MAX_INPUT = 1e6  # a network input's magnitude: pixels are in [0, 1], the toy sets' points within ±10


class PredictIn(Strict):
    inputs: list[
        Annotated[list[Annotated[Finite, Field(ge=-MAX_INPUT, le=MAX_INPUT)]], Field(max_length=784)]
    ] = Field(min_length=1, max_length=64)


class LoadedOut(BaseModel):
    trained_steps: int | None = Field(
        description="steps the saved model had trained when it was saved; null if its file does not say"
    )


class RunOut(BaseModel):
    id: str
    status: str = Field(description="running, paused, done, stopped, early_stopped, diverged or error")
    subscribers: int
    error: str | None
    loaded: LoadedOut | None = Field(
        default=None, description="set when the run started from an uploaded model (its steps start at 0)"
    )


class PredictOut(BaseModel):
    probabilities: list[list[float]]
    classes: list[str]


class PointsIn(Strict):
    dataset: Literal[tuple(DATASETS)] = "moons"
    data: Settings = {}

    @model_validator(mode="after")
    def _check(self):
        resolve(get_dataset(self.dataset).params, self.data, f"dataset {self.dataset!r}")
        return self
