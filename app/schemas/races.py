"""Races of optimizers on one network (/api/races): the race a user asks for and what it returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, create_model, field_validator, model_validator

from app.schemas.common import OptimizerName, Settings, Strict
from app.schemas.runs import FIELD, _TrainFields
from core.nn.config import OPTIONS
from core.nn.race import MAX_RACERS, MIN_RACERS, SURFACE_EVERY, Preset, Racer
from core.nn.surface import DIRECTIONS, RESOLUTION
from core.params import Param

SurfaceKind = Literal[tuple(DIRECTIONS)]
MAX_RESOLUTION = 61  # a shared server's: a grid of 3,721 networks evaluated
SHARED = {name: o for name, o in OPTIONS.items() if not o.internal and name not in ("optimizer", "hyper")}

if TYPE_CHECKING:
    RaceTrainIn = _TrainFields
else:
    RaceTrainIn = create_model(
        "RaceTrainIn",
        __base__=_TrainFields,
        __doc__="What every racer shares: the training fields of POST /api/runs but the optimizer's.",
        __module__=__name__,
        **{name: FIELD[o.kind](o) for name, o in SHARED.items()},
    )


class RacerIn(Strict):
    optimizer: OptimizerName
    hyper: Settings = Field(default={}, description="its hyperparameters (see /api/optimizers)")

    @model_validator(mode="after")
    def _check(self):
        self.racer()  # names each unknown or out-of-range hyperparameter
        return self

    def racer(self) -> Racer:
        return Racer(self.optimizer, dict(self.hyper))


class SurfaceIn(Strict):
    kind: SurfaceKind = Field(
        default="pca", description="PCA of the racers' paths, or filter-normalized random"
    )
    resolution: int = Field(
        default=int(RESOLUTION.default), ge=RESOLUTION.low, le=MAX_RESOLUTION, description=RESOLUTION.help
    )

    @field_validator("resolution")
    @classmethod
    def _odd(cls, resolution: int) -> int:
        if resolution % 2 == 0:
            raise ValueError(f"resolution must be odd, so that the centre is a grid point; got {resolution}")
        return resolution


class RaceSurfaceIn(SurfaceIn):
    every: int = Field(
        default=int(SURFACE_EVERY.default),
        ge=SURFACE_EVERY.low,
        le=SURFACE_EVERY.high,
        description=f"{SURFACE_EVERY.label}; {SURFACE_EVERY.help}",
    )


class RaceIn(Strict):
    """A race: the network and training every racer shares, and each racer's optimizer."""

    training: RaceTrainIn = Field(default_factory=lambda: RaceTrainIn())
    racers: list[RacerIn] = Field(min_length=MIN_RACERS, max_length=MAX_RACERS)
    surface: RaceSurfaceIn = Field(default_factory=lambda: RaceSurfaceIn())


class RacerOut(BaseModel):
    run: str = Field(description="its training run (GET /api/runs/{run})")
    optimizer: str
    hyper: dict[str, float]
    status: str


class SurfaceStateOut(BaseModel):
    state: Literal["idle", "computing"]
    done: int = Field(description="grid rows computed")
    total: int
    error: str | None = Field(description="why the last surface could not be computed, if it could not")


class RaceOut(BaseModel):
    id: str
    status: str = Field(description="running, paused or ended")
    racers: list[RacerOut]
    surface: SurfaceStateOut


class SurfaceOut(SurfaceStateOut):
    result: dict[str, Any] | None = Field(description="the latest `surface` event (see the race's events)")


class PresetOut(BaseModel):
    label: str
    description: str
    request: dict[str, Any] = Field(description="a RaceIn")

    @classmethod
    def of(cls, preset: Preset) -> PresetOut:
        training = dict(preset.training)
        if "hidden" in training:
            training["hidden"] = [{"width": w, "activation": a} for w, a in preset.training["hidden"]]  # type: ignore[attr-defined]
        racers = [{"optimizer": r.optimizer, "hyper": dict(r.hyper)} for r in preset.racers]
        request = {"training": training, "racers": racers, "surface": dict(preset.surface)}
        return cls(label=preset.label, description=preset.description, request=request)


class RangeOut(BaseModel):
    low: int
    high: int
    default: int

    @classmethod
    def of(cls, param: Param, high: float | None = None) -> RangeOut:
        return cls(
            low=int(param.low), high=int(param.high if high is None else high), default=int(param.default)
        )


class RaceOptionsOut(BaseModel):
    min_racers: int
    max_racers: int
    presets: dict[str, PresetOut]
    resolution: RangeOut
    surface_every: RangeOut
