"""The registry of landscapes, optimizers, schedules and noise (/api/registry)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import ParamOut


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
    numerical_minima: bool = Field(
        False, description="true: the minima were found numerically (a typed formula), not known exactly"
    )


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
