"""A landscape's surface and stability readout (/api/landscapes)."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from app.schemas.common import Finite, LandscapeIn


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
