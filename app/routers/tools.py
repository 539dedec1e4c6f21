"""Tuning tools: learning-rate range test, hyperparameter maps, start-point maps, seed bands.

Each endpoint validates one bounded request, calls one function of core.landscape.tuning and sends its arrays.
It computes on the heavy-work threads (app.heavy), so the event loop and the pages' threads stay free
while numpy works (each request is capped to about half a second: see app.tool_schemas). No number
sent is NaN or infinite: a diverged run is its own category (`diverged_at` > 0), never a missing value.
"""

from __future__ import annotations

import math

import numpy as np
import orjson
from fastapi import APIRouter, Response

from app.heavy import BUSY, HEAVY
from app.schemas.tools import (
    HyperMapIn,
    HyperMapOut,
    RangeIn,
    RangeOut,
    SeedBandIn,
    SeedBandOut,
    StartMapIn,
    StartMapOut,
    TradeoffIn,
    TradeoffOut,
)
from core.landscape.tuning import (
    axis_values,
    batch_param,
    batch_tradeoff,
    default_tolerance,
    hyper_map,
    lr_range_test,
    seed_band,
    start_grid,
    start_map,
)

router = APIRouter(prefix="/api/tools", tags=["tools"])
FAN_POINTS = 300  # points per path of a seed fan: plenty for a line, a fraction of the bytes


def _json(doc: dict) -> Response:
    return Response(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


def _finite(a) -> np.ndarray:
    """The array, after checking the core kept its promise: nothing non-finite leaves the server."""
    a = np.asarray(a)
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError("a tool produced a non-finite number")
    return a


@router.post("/lr-range", response_class=Response, responses=BUSY | {200: {"model": RangeOut}})
async def post_lr_range(req: RangeIn) -> Response:
    """One run per learning rate on a log grid, all from the same start: the loss each reached.

    Marks the steepest fall, the lowest loss, the first rate that diverges (leaves the domain, or ends
    above its start) and a suggested rate: of the rates below that point, the fastest to reach the
    target; where none does, the one that ends closest to it.
    """
    return await HEAVY.run(_lr_range, req)


def _lr_range(req: RangeIn) -> Response:
    low, high = req.lr_range()
    lrs = np.geomspace(low, high, req.points)
    r = lr_range_test(**req.core_args(), steps=req.steps, lrs=lrs)
    return _json(
        {
            "lr": r.lr,
            "loss": _finite(r.loss),
            "diverged_at": r.diverged_at,
            "escaped_at": r.escaped_at,
            "steps_to_target": r.steps_to_target,
            "start_loss": r.start_loss,
            "target": r.target,
            "steepest": r.steepest,
            "best": r.best,
            "divergence": r.divergence,
            "suggested": r.suggested,
            "suggested_lr": float(r.lr[r.suggested]) if r.suggested >= 0 else None,
            "reaches": r.reaches,
        }
    )


@router.post("/hyper-map", response_class=Response, responses=BUSY | {200: {"model": HyperMapOut}})
async def post_hyper_map(req: HyperMapIn) -> Response:
    """A map of learning rate × a second hyperparameter (γ, β1, ...) or the batch size: one run per cell.

    Each cell is the run from the same start with that cell's settings over the same noise seed.
    """
    return await HEAVY.run(_hyper_map, req)


def _hyper_map(req: HyperMapIn) -> Response:
    low, high = req.lr_range()
    lrs = np.geomspace(low, high, req.nx)
    ys = axis_values(req.y_param(), *req.y_range(), req.ny)
    assert req.y is not None  # _check_y fills in the default axis
    m = hyper_map(**req.core_args(), steps=req.steps, lrs=lrs, y_name=req.y, y_values=ys)
    return _json(
        {
            "lr": m.lr,
            "y": m.y.astype(float),
            "y_name": m.y_name,
            "final_loss": _finite(m.final_loss),
            "steps_to_target": m.steps_to_target,
            "diverged_at": m.diverged_at,
            "escaped_at": m.escaped_at,
            "target": m.target,
        }
    )


@router.post("/start-map", response_class=Response, responses=BUSY | {200: {"model": StartMapOut}})
async def post_start_map(req: StartMapIn) -> Response:
    """Runs from a grid of starts over the domain: which known minimum each reaches, and when."""
    return await HEAVY.run(_start_map, req)


def _start_map(req: StartMapIn) -> Response:
    args = req.core_args()
    xs, ys = start_grid(args["landscape"], req.nx, req.ny)
    m = start_map(**args, steps=req.steps, xs=xs, ys=ys)
    tolerance = default_tolerance(args["landscape"]) if req.tolerance is None else req.tolerance
    return _json(
        {
            "x": m.x,
            "y": m.y,
            "minimum": m.minimum,
            "steps": m.steps,
            "final_loss": _finite(m.final_loss),
            "global_share": m.global_share,
            "tolerance": tolerance,
            "targets": m.targets,
        }
    )


@router.post("/seed-band", response_class=Response, responses=BUSY | {200: {"model": SeedBandOut}})
async def post_seed_band(req: SeedBandIn) -> Response:
    """The same run over many noise seeds: the fan of paths, the loss band and the share that succeed."""
    return await HEAVY.run(_seed_band, req)


def _seed_band(req: SeedBandIn) -> Response:
    args = req.core_args()
    del args["seed"]
    b = seed_band(**args, steps=req.steps, seeds=req.seed_list())
    every = max(1, math.ceil((req.steps + 1) / FAN_POINTS))
    drawn = np.unique(np.r_[np.arange(0, req.steps + 1, every), req.steps])
    xs, ys = [], []
    for j, gone in enumerate(b.diverged_at):
        keep = drawn[drawn < gone] if gone else drawn
        xs.append(_finite(b.points[keep, 0, j]))
        ys.append(_finite(b.points[keep, 1, j]))
    going = int(np.sum(b.alive > 0))  # the statistics end when the last run diverges
    return _json(
        {
            "seeds": b.seeds,
            "fan": {"step": drawn, "x": xs, "y": ys},
            **{name: _finite(getattr(b, name)[:going]) for name in ("mean", "low", "median", "high")},
            "alive": b.alive,
            "steps_to_target": b.steps_to_target,
            "diverged_at": b.diverged_at,
            "escaped_at": b.escaped_at,
            "success": b.success,
            "target": b.target,
        }
    )


@router.post("/batch-tradeoff", response_class=Response, responses=BUSY | {200: {"model": TradeoffOut}})
async def post_batch_tradeoff(req: TradeoffIn) -> Response:
    """Learning rate × batch size, each cell summarised over seeds: success share and mean steps."""
    return await HEAVY.run(_batch_tradeoff, req)


def _batch_tradeoff(req: TradeoffIn) -> Response:
    args = req.core_args()
    del args["seed"]
    low, high = req.lr_range()
    noise = args["noise"]
    batches = axis_values(batch_param(noise), *req.batch_range(), req.ny).astype(int)
    t = batch_tradeoff(
        **args,
        steps=req.steps,
        lrs=np.geomspace(low, high, req.nx),
        batch_sizes=batches,
        seeds=req.seed_list(),
    )
    return _json(
        {
            "lr": t.lr,
            "batch_size": t.batch_size,
            "success": t.success,
            "mean_steps": np.nan_to_num(t.mean_steps, nan=-1.0),
            "seeds": t.seeds,
        }
    )
