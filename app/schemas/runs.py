"""Training runs (/api/runs): the run a user asks for, live changes, predictions and what they return."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import BaseModel, Field, ValidationInfo, create_model, field_validator, model_validator

from app.schemas.common import Finite, Settings, Strict
from core.nn.activations import ACTIVATIONS
from core.nn.config import OPTIONS, PARAMS, Option, TrainConfig, check_data

MAX_LAYERS, MAX_WIDTH = 8, 2048
MAX_EPOCHS = int(OPTIONS["epochs"].server_high or PARAMS["epochs"].high)
HiddenActivation = Literal[tuple(name for name, a in ACTIVATIONS.items() if not a.output_only)]


class LayerIn(Strict):
    width: int = Field(ge=1, le=MAX_WIDTH)
    activation: HiddenActivation = "relu"


def _described(option: Option) -> str:
    return f"{option.label}; {option.help}" if option.help else option.label


def _number(option: Option):
    p = PARAMS[option.name]
    bounds = Field(ge=p.low, le=option.high, description=_described(option))
    return Annotated[int if p.integer else float, bounds], option.served_default


def _choice(option: Option):
    names = Literal[tuple(option.choices)]
    return (names | None) if option.optional else names, Field(option.default, description=option.label)


def _settings(option: Option):
    return Settings, Field(default={}, description=_described(option))


def _layers(option: Option):
    default = [LayerIn(width=w, activation=a) for w, a in option.default]
    return list[LayerIn], Field(default=default, max_length=MAX_LAYERS, description=_described(option))


def _text(option: Option):
    hexadecimal = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]  # the one text field: a data hash
    return hexadecimal | None, Field(None, description=_described(option))


FIELD = {"number": _number, "choice": _choice, "settings": _settings, "layers": _layers, "text": _text}


class _TrainFields(Strict):
    """What TrainIn does beyond its fields (which are generated from core.nn.config.OPTIONS)."""

    if TYPE_CHECKING:  # a static checker cannot see the generated fields

        def __getattr__(self, name: str) -> Any: ...

    @field_validator("data", check_fields=False)
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
    def from_config(cls, config: TrainConfig) -> Self:
        fields = {name: getattr(config, name) for name in cls.model_fields if name != "hidden"}
        hidden = [LayerIn(width=w, activation=a) for w, a in config.hidden]
        return cls.model_construct(**fields, hidden=hidden)


if TYPE_CHECKING:
    TrainIn = _TrainFields
else:
    TrainIn = create_model(
        "TrainIn",
        __base__=_TrainFields,
        __doc__="A training run: the fields of core.nn.config.TrainConfig, bounded for a shared server.",
        __module__=__name__,
        **{name: FIELD[o.kind](o) for name, o in OPTIONS.items() if not o.internal},
    )


class HyperIn(Strict):
    values: Settings = Field(
        description="optimizer hyperparameters and live training options (see /api/networks) to change now"
    )


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
