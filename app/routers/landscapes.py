"""A landscape's surface for the map, and the stability readout at a point."""

import numpy as np
import orjson
from fastapi import APIRouter, Response

from app.schemas.common import LandscapeIn
from app.schemas.landscapes import PointIn, StabilityOut, SurfaceIn, SurfaceOut
from app.schemas.registry import LandscapeOut
from core.landscape.custom import CUSTOM
from core.landscape.surfaces import stability, surface

router = APIRouter(prefix="/api", tags=["landscapes"])


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


@router.post("/landscape")
def post_landscape(req: LandscapeIn) -> LandscapeOut:
    """A landscape as the registry describes it: a built-in with its parameters, or (landscape
    'custom') a typed formula on its domain, with the minima found in it numerically."""
    landscape = req.bound_landscape()
    out = LandscapeOut.model_validate(landscape)
    out.numerical_minima = landscape.name == CUSTOM
    return out


@router.post("/surface", response_class=Response, responses={200: {"model": SurfaceOut}})
def post_surface(req: SurfaceIn) -> Response:
    """f on a grid over the plot domain (with log colours where its range is wide) and −∇f arrows.

    Values go out in float32 precision: plenty for a picture, half the bytes.
    """
    s = surface(req.bound_landscape(), req.resolution, req.arrows)
    arrows = {"x": s.arrow_x, "y": s.arrow_y, "u": s.arrow_u, "v": s.arrow_v, "norm": s.arrow_norm}
    doc = {
        **{name: _f32(getattr(s, name)) for name in ("x", "y", "z", "color")},
        "log_scale": s.log_scale,
        "arrows": {name: _f32(a) for name, a in arrows.items()},
    }
    return Response(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


@router.post("/stability")
def post_stability(req: PointIn) -> StabilityOut:
    """λmax of the Hessian at (x, y) and 2/λmax, past which plain gradient descent oscillates."""
    s = stability(req.bound_landscape(), req.x, req.y)
    return StabilityOut(curvature=s.curvature, lr_limit=s.lr_limit)
