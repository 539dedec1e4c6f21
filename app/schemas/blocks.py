"""Request and response models of /api/blocks: strict, closed and bounded, names from the core registries.

A normalization's request is one model per entry of core.nn.blocks.NORM_DEMOS, told apart by `norm`:
batch and layer norm take an (N, C) matrix, instance and group norm an (N, H, W, C) batch, and only
group norm has `groups`. Each model is generated from its registry entry.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationInfo, create_model, field_validator

from app.schemas.common import Finite, ParamOut, Strict
from core.nn.blocks import ELEMENTWISE, NORM_DEMOS, SWEEPS, VANISHING, norm_layer, tensor_shape
from core.nn.norms import EPS
from core.params import Param

# Inputs stay small: each is typed in by hand or drawn on a page.
Z_LIMIT = 100.0  # |z| of the activation curves
SOFTMAX_LIMIT = 1e6  # |z| of a softmax entry; the naive formula overflows from about 710
MAX_VECTOR = 64
MAX_FAN = 2048  # fan-in and fan-out of a sampled weight matrix
VALUE_LIMIT = 1e6  # |x| of a normalized batch
MAX_FEATURES = 64  # N and C of an (N, C) batch
MAX_IMAGES, MAX_SIDE, MAX_CHANNELS = 8, 8, 16  # N, H and W, C of an (N, H, W, C) batch

Value = Annotated[float, Field(ge=-VALUE_LIMIT, le=VALUE_LIMIT, allow_inf_nan=False)]


def _field(p: Param, **extra):
    return Field(p.default, ge=p.low, le=p.high, description=f"{p.label}; {p.help}".rstrip("; "), **extra)


def _list(item, most: int, what: str):
    return Annotated[list[item], Field(min_length=1, max_length=most, description=what)]


# (N, C) and (N, H, W, C), each axis bounded; ragged lists are refused by the validator below.
Features = _list(_list(Value, MAX_FEATURES, "C features"), MAX_FEATURES, "N samples")
Images = _list(
    _list(_list(_list(Value, MAX_CHANNELS, "C channels"), MAX_SIDE, "W"), MAX_SIDE, "H"), MAX_IMAGES, "N"
)
TENSORS = {2: Features, 4: Images}


class ActivationsIn(Strict):
    low: Finite = Field(-6.0, ge=-Z_LIMIT, le=Z_LIMIT, description="left end of the z range")
    high: Finite = Field(
        6.0, ge=-Z_LIMIT, le=Z_LIMIT, validate_default=True, description="right end of the z range"
    )
    points: int = Field(401, ge=11, le=2001)
    threshold: float = _field(VANISHING)
    activations: list[Literal[tuple(ELEMENTWISE)]] = Field(
        default=list(ELEMENTWISE), min_length=1, max_length=len(ELEMENTWISE), description="default: all"
    )

    @field_validator("high")
    @classmethod
    def _above_low(cls, high, info: ValidationInfo):
        low = info.data.get("low")
        if low is not None and not low < high:
            raise ValueError(f"high must be more than low: got low = {low:g}, high = {high:g}")
        return high


class SoftmaxIn(Strict):
    z: list[Annotated[float, Field(ge=-SOFTMAX_LIMIT, le=SOFTMAX_LIMIT, allow_inf_nan=False)]] = Field(
        default=[0.2, 0.57, 0.6, 0.12], min_length=1, max_length=MAX_VECTOR, description="the logits"
    )


class LossesIn(Strict):
    target: float = Field(1.0, ge=0.0, le=1.0, description="the target y of a single output")
    sweep: Literal[tuple(SWEEPS)] = Field("linear", description="ŷ evenly, or log-spaced from 1e-20 to 1")
    points: int = Field(400, ge=10, le=2000)


class InitsIn(Strict):
    inputs: int = Field(512, ge=1, le=MAX_FAN, description="fan-in m")
    neurons: int = Field(256, ge=1, le=MAX_FAN, description="fan-out n")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    bins: int = Field(60, ge=5, le=200)


class XavierRangeIn(Strict):
    max_size: int = Field(4096, ge=4, le=2 * MAX_FAN, description="largest m + n")
    points: int = Field(200, ge=10, le=1000)


def _norm_in(name, demo):
    def x_is_rectangular(cls, x):
        tensor_shape(x, demo.rank)
        return x

    def fits_the_channels(cls, value, info: ValidationInfo):
        """A setting checked against x's channels by the core's own layer (G must divide C)."""
        assert info.field_name is not None  # a field validator always has its field
        if "x" in info.data:
            norm_layer(name, tensor_shape(info.data["x"], demo.rank)[-1], **{info.field_name: value})
        return value

    validators = {"x_rectangular": field_validator("x")(x_is_rectangular)}
    if demo.params:
        validators["fits"] = field_validator(*(p.name for p in demo.params))(fits_the_channels)
    return create_model(
        f"{name.title()}NormIn",
        __base__=Strict,
        __validators__=validators,
        norm=(Literal[name], ...),
        x=(TENSORS[demo.rank], Field(default=demo.example.tolist(), description=f"({demo.layout})")),
        eps=(float, _field(EPS)),
        # checked against x even when left at the default (G = 2 does not divide C = 3)
        **{p.name: (int if p.integer else float, _field(p, validate_default=True)) for p in demo.params},
    )


NORM_MODELS = {name: _norm_in(name, demo) for name, demo in NORM_DEMOS.items()}
NormIn = Annotated[reduce(operator.or_, NORM_MODELS.values()), Field(discriminator="norm")]


def norm_params(req) -> dict:
    """The normalization's own parameters in a request (group norm: groups)."""
    return {p.name: getattr(req, p.name) for p in NORM_DEMOS[req.norm].params}


# --- responses -----------------------------------------------------------------------------------


class ActivationCurveOut(BaseModel):
    name: str
    label: str
    formula: str
    z: list[float]
    f: list[float]
    df: list[float] = Field(description="f′(z)")
    vanishing: list[tuple[float, float]] = Field(description="intervals of z where |f′(z)| < threshold")


class ActivationsOut(BaseModel):
    threshold: float
    activations: list[ActivationCurveOut]


class SoftmaxOut(BaseModel):
    z: list[float]
    probs: list[float] = Field(description="softmax(z), computed as e^(z − max z) / Σ e^(z − max z)")
    total: float = Field(description="Σ softmax(z)")
    shifted: list[float] = Field(description="z − max z")
    naive_exp: list[float | None] = Field(description="e^z; null where it overflows to infinity")
    naive: list[float | None] = Field(description="e^z / Σ e^z; null where that is NaN")
    overflow: bool = Field(description="whether the naive formula fails")


class LossCurveOut(BaseModel):
    name: str
    label: str
    formula: str
    value: list[float]
    grad: list[float] = Field(description="∂L/∂ŷ")


class LossesOut(BaseModel):
    target: float
    pred: list[float] = Field(description="the predictions ŷ swept")
    losses: list[LossCurveOut]
    clip: float = Field(description="cross-entropy clips ŷ to [clip, 1 − clip]")


class InitOut(BaseModel):
    name: str
    label: str
    formula: str
    reference: str
    min: float
    max: float
    mean: float
    std: float
    edges: list[float] = Field(description="histogram bin edges")
    counts: list[int]


class InitsOut(BaseModel):
    inputs: int
    neurons: int
    xavier_limit: float = Field(description="√(6/(m + n))")
    inits: list[InitOut]


class XavierRangeOut(BaseModel):
    sizes: list[int] = Field(description="layer sizes m + n")
    limits: list[float] = Field(description="√(6/(m + n))")


class NormOut(BaseModel):
    norm: str
    shape: list[int]
    y: list[float] = Field(description="the normalized batch, flattened (row-major, shaped like x)")
    kept: list[str] = Field(description="the axes one mean and variance is kept for")
    stat_shape: list[int]
    labels: list[str] = Field(description="one per statistic, row-major over stat_shape")
    before: list[list[float]] = Field(description="x's values that share each statistic")
    after: list[list[float]] = Field(description="the same entries of y")
    mean_before: list[float]
    var_before: list[float]
    mean_after: list[float]
    var_after: list[float]


class NormDemoOut(BaseModel):
    name: str
    label: str
    formula: str
    reference: str
    layout: str
    kept: list[str]
    example: list
    params: list[ParamOut]


class BlocksOut(BaseModel):
    activations: list[dict[str, str]]
    losses: list[dict[str, str]]
    inits: list[dict[str, str]]
    norms: list[NormDemoOut]
    sweeps: list[dict[str, str]]
    threshold: ParamOut
    eps: ParamOut
    limits: dict[str, float]
