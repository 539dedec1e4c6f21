"""Races of optimizers on a landscape (/api/paths): what a race asks for."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from app.schemas.common import (
    LandscapeIn,
    NoiseIn,
    OptimizerName,
    Point,
    ScheduleName,
    Settings,
    Strict,
    noise_of,
)
from core.optimizers import get_optimizer
from core.schedules import get_schedule

MAX_STEPS = 10_000
MAX_RACERS = 8


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
        noise_of(noise)
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
            "noise": noise_of(self.noise),
            "schedule": self.schedule_fn(),
            "seed": self.seed,
        }


class ExportIn(RaceIn):
    format: Literal["csv", "json"] = "csv"
