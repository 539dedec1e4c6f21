"""Training runs (/api/runs): the run a user asks for, live changes, predictions and what they return."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from app.schemas.common import Finite, OptimizerName, ScheduleName, Settings, Strict
from core.data.datasets import DATASETS
from core.data.mnist import IMAGE_SETS
from core.nn.activations import ACTIVATIONS
from core.nn.inits import INITS
from core.nn.losses import LOSSES
from core.nn.training import TrainConfig, check_data

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


class ImagesOut(BaseModel):
    shape: list[int]
    images: list[list[float]] = Field(description="row-major pixel values in [0, 1]")
    labels: list[int]


class FiltersOut(BaseModel):
    shape: list[int]
    units: list[int]
    images: list[list[float]] = Field(description="each unit's incoming weights, row-major")
