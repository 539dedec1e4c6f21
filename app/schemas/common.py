"""What every router's models share: strict requests, bounded numbers, names from the core registries,
the landscape a request is about, and the shape of a validation error."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from core.landscape.custom import NAMES, custom_domain, flat_domain, resolve
from core.landscape.expression import MAX_LENGTH, parse
from core.landscape.landscapes import Landscape
from core.landscape.noise import NOISE_PARAMS, GradientNoise
from core.optimizers import OPTIMIZERS
from core.params import Param
from core.schedules import SCHEDULES

LandscapeName = Literal[NAMES]
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


def noise_of(noise) -> GradientNoise | None:
    return None if noise is None else GradientNoise(**noise.model_dump())


class LandscapeIn(Strict):
    landscape: LandscapeName = "mccormick"
    landscape_params: Settings = {}
    expression: str | None = Field(
        None,
        max_length=MAX_LENGTH,
        description="f(x, y) typed in, with landscape 'custom' only: numbers, x, y, pi, e, + - * / ** and "
        "calls of known functions (see README)",
    )
    domain: list[Finite] | None = Field(
        None,
        min_length=4,
        max_length=4,
        description="[x low, x high, y low, y high] of a custom landscape; null: [-3, 3, -3, 3]",
    )

    @field_validator("expression", mode="after")
    @classmethod
    def _check_expression(cls, expression):
        if expression is not None:
            parse(expression)  # an ExpressionError (a ValueError) naming the token and its position
        return expression

    @field_validator("domain", mode="after")
    @classmethod
    def _check_domain(cls, domain):
        if domain is not None:
            custom_domain(flat_domain(domain))
        return domain

    def bound_landscape(self) -> Landscape:
        return resolve(self.landscape, self.landscape_params, self.expression, self.domain)

    @model_validator(mode="after")
    def _check_landscape(self):
        self.bound_landscape()  # raises ValueError naming the parameter and its range
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
