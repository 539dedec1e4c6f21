"""Request and response models. Requests are strict (no `false` as a number), closed (unknown fields
are errors) and bounded; names are checked against the core registries."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from core.landscapes import LANDSCAPES, Landscape, get_landscape
from core.noise import NOISE_PARAMS, GradientNoise
from core.optimizers import OPTIMIZERS, get_optimizer
from core.params import Param
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


# Simulated gradient noise: one field per core.noise.NOISE_PARAMS entry, bounds included.
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
        """Keyword arguments for core.paths.race."""
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


# --- responses -----------------------------------------------------------------------------------


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
    curvature: float = Field(description="largest Hessian eigenvalue λmax")
    lr_limit: float | None = Field(description="2/λmax, the largest stable learning rate of plain GD")
