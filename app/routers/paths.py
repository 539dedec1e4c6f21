"""Optimizer paths: streamed over Server-Sent Events as they are computed, or exported whole."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import numpy as np
import orjson
from fastapi import APIRouter, Request, Response

from app import log_entries, runlog
from app.formats import csv_table
from app.heavy import BUSY, HEAVY
from app.schemas.paths import ExportIn, RaceIn
from app.streaming import EVENT_STREAM, FLUSH, EventStream, Flush, WorkerError, in_thread
from core.landscape.paths import Outcome, Steps, race

router = APIRouter(prefix="/api", tags=["paths"])

EVENTS = """Events, each `data` a JSON object:

- `steps`: `{"racer": i, "steps": {"step": [...], "x": [...], "y": [...], "loss": [...], "lr": [...],
  "gx": [...], "gy": [...], "grad_norm": [...], "state": {"m": [[x, y], ...], ...}}}`: consecutive
  steps of racer i, up to 16 in its first batch (whose row 0 is the start), then up to twice as many
  in each batch as in the one before, at most 400. Positions and losses have
  full float64 precision; rates, gradients and state are rounded to float32 (7 significant digits),
  as `/api/paths/export` is not.
- `outcome`: `{"racer": i, "outcome": {"status": "done" | "converged" | "diverged" | "left", "step": k,
  "message": "...", "distance": d, "minimum": j, "heading": [dx, dy] | null, "escape": [x, y] | null}}`:
  racer i has finished. "diverged": update k (not a row of the path) made the loss non-finite or
  went ten domain widths out, in the unit direction `heading`, to `escape` when that is finite.
  "left": the path has been outside the domain since step k and ended there.
- `end`: `{}`: every racer has finished (the stream closes once the race is logged).
- `error`: `{"message": "..."}` if the computation failed.

No number in any event is NaN or infinite: a diverged path ends at its last finite point.
"""


def _encode(obj) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode()


_SHOWN = ("lr", "gx", "gy", "grad_norm")  # read, never computed with: float32 is enough


def _wire(part: Steps) -> dict:
    """A chunk as sent: positions and losses in full, the rest at float32 precision (7 digits)."""
    return {
        "step": part.step,
        "x": part.x,
        "y": part.y,
        "loss": part.loss,
        **{name: getattr(part, name).astype(np.float32) for name in _SHOWN},
        "state": {name: values.astype(np.float32) for name, values in part.state.items()},
    }


def _events(req: RaceIn, log: runlog.ServerLog) -> Iterator[tuple[str, str] | Flush]:
    """The race as (event, JSON) pairs: encoding happens on the worker, not the event loop.

    The `end` event goes out as soon as the last racer finishes; the race is logged after it.
    """
    running = len(req.racers)
    racing = log_entries.logged_race(req.model_dump(), race(**req.core_args()), log)  # logged once it ends
    for i, part in racing:
        if isinstance(part, Steps):
            yield "steps", _encode({"racer": i, "steps": _wire(part)})
            continue
        yield "outcome", _encode({"racer": i, "outcome": part})
        running -= 1
        if not running:
            yield "end", "{}"
            yield FLUSH


async def _batches(req: RaceIn, log: runlog.ServerLog) -> AsyncIterator[list[tuple[str, str]]]:
    async for batch in in_thread(_events(req, log)):
        failed = [item for item in batch if isinstance(item, WorkerError)]
        if failed:
            yield [item for item in batch if not isinstance(item, WorkerError)]
            yield [("error", _encode({"message": str(failed[0])}))]
            return
        yield batch


@router.post("/paths", response_class=Response, responses=EVENT_STREAM, description=EVENTS)
async def stream_paths(req: RaceIn, request: Request) -> EventStream:
    """Race one or more optimizers from one start over the same noise, streamed as they run."""
    return EventStream(_batches(req, request.app.state.log))


@router.post(
    "/paths/export",
    response_class=Response,
    responses=BUSY | {200: {"content": {"text/csv": {}, "application/json": {}}, "description": "the paths"}},
)
async def export_paths(req: ExportIn) -> Response:
    """The whole race as one CSV table (a row per racer and step) or a JSON document."""
    return await HEAVY.run(_export, req)


def _export(req: ExportIn) -> Response:
    parts: dict[int, list[Steps]] = {i: [] for i in range(len(req.racers))}
    outcomes: dict[int, Outcome] = {}
    for i, part in race(**req.core_args()):
        if isinstance(part, Steps):
            parts[i].append(part)
        else:
            outcomes[i] = part
    paths = [Steps.join(parts[i]) for i in range(len(req.racers))]
    if req.format == "csv":
        labels = [(str(i), r.optimizer) for i, r in enumerate(req.racers)]
        body, media = csv_table(paths, labels, ("racer", "optimizer")), "text/csv"
    else:
        config = req.model_dump(exclude={"format"})
        racers = [
            {"optimizer": r.optimizer, "hyper": r.hyper, "steps": paths[i], "outcome": outcomes[i]}
            for i, r in enumerate(req.racers)
        ]
        body, media = _encode({"config": config, "racers": racers}), "application/json"
    filename = f"descent-{req.landscape}.{req.format}"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
