"""The networks' registry and the toy sets' points (/api/networks, /api/datasets)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.schemas.common import ParamOut, Settings, Strict
from core.data.datasets import DATASETS, get_dataset
from core.nn.config import Kind
from core.params import resolve


class PointsIn(Strict):
    dataset: Literal[tuple(DATASETS)] = "moons"
    data: Settings = {}

    @model_validator(mode="after")
    def _check(self):
        resolve(get_dataset(self.dataset).params, self.data, f"dataset {self.dataset!r}")
        return self


class Named(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    label: str
    formula: str = ""


class ActivationOut(Named):
    output_only: bool


class DatasetOut(BaseModel):
    name: str
    label: str
    description: str
    kind: str = Field(description="points (2D toy set), images, or upload (data uploaded to this server)")
    classes: list[str]
    params: list[ParamOut]
    available: bool = Field(description="whether the data is on this server")
    remedy: str = Field(description="how to get the data when it is not available")


class ConfigFieldOut(BaseModel):
    """A field of a training run (POST /api/runs), with its bounds on this server."""

    name: str
    label: str
    kind: Kind = Field(description="a number, a registry name, named numbers, or the hidden layers")
    default: Any
    low: float | None = Field(description="a number's least value; null for other kinds")
    high: float | None = Field(description="a number's greatest value here; null for other kinds")
    log: bool
    integer: bool
    help: str
    live: bool = Field(description="a running run takes a new value (POST /api/runs/{id}/hyper)")
    key: str = Field(description="its name in a page's link; empty for fields the pages set themselves")


class RecipeOut(BaseModel):
    label: str
    description: str
    config: dict[str, Any] = Field(description="the fields it sets (as POST /api/runs takes them)")


class NetworksOut(BaseModel):
    datasets: list[DatasetOut]
    activations: list[ActivationOut]
    losses: list[Named]
    inits: list[Named]
    norms: list[Named]
    regularization: list[ParamOut]
    training: list[ParamOut]
    config: list[ConfigFieldOut] = Field(description="every field of POST /api/runs, in order")
    recipes: dict[str, RecipeOut] = Field(description="named configurations the pages start from")
    max_layers: int
    max_width: int
    max_epochs: int


class PointsOut(BaseModel):
    x_train: list[list[float]]
    y_train: list[int]
    x_test: list[list[float]]
    y_test: list[int]
    classes: list[str]
