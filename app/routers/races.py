"""Races of optimizers on one network (the network lab): start, watch over Server-Sent Events, control
every racer at once or one racer's hyperparameters, and compute the network's own loss surface."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response

from app.races import Race, RaceManager, SurfaceSettings
from app.routers.log import SharedPathRoute
from app.routers.runs import invalid, live_changes
from app.runs import Busy
from app.schemas.races import (
    MAX_RESOLUTION,
    PresetOut,
    RaceIn,
    RaceOptionsOut,
    RaceOut,
    RacerOut,
    RangeOut,
    SurfaceIn,
    SurfaceOut,
    SurfaceStateOut,
)
from app.schemas.runs import HyperIn
from app.streaming import EVENT_STREAM, EventStream
from core.data.mnist import DataError
from core.nn.race import MAX_RACERS, MIN_RACERS, PRESETS, SURFACE_EVERY
from core.nn.surface import RESOLUTION

router = APIRouter(
    prefix="/api/races", tags=["races"], route_class=SharedPathRoute
)  # GET and POST .../surface

Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"description": "no race with this id (races live in memory and are forgotten)"}}
ENDED: Responses = {409: {"description": "the race has ended"}}

EVENTS = """The race's events, each `data` a JSON object. First `race` (the shared config and each
racer's run), then every racer's own events exactly as GET /api/runs/{run}/events sends them (a late
subscriber gets each racer's catch-up `history` first), each with `"racer": k` added. `sharpness`
events come every `sharpness_every` steps. The race's own events: `surface_progress` (grid rows done),
`surface` (kind, explained variance for PCA, the axes `a` and `b`, the `loss` grid with one row per b,
`centre_loss`, each racer's projected `paths`, and the `interpolation` from the initial weights to each
racer's latest), `surface_error`, `point` (a new snapshot projected onto the latest plane), and last
`race_end`. No number is NaN or infinite (a grid point whose loss overflows is null)."""


def races(request: Request) -> RaceManager:
    return request.app.state.races


def find_race(race_id: Annotated[str, Path(max_length=64)], request: Request) -> Race:
    race = races(request).get(race_id)
    if race is None:
        raise HTTPException(404, f"no race {race_id!r}: it never existed or has been forgotten")
    return race


ThisRace = Annotated[Race, Depends(find_race)]


def _out(race: Race) -> RaceOut:
    racers = [RacerOut(**r) for r in race.start_event()["racers"]]
    return RaceOut(id=race.id, status=race.status, racers=racers, surface=SurfaceStateOut(**race.surface))


def options() -> RaceOptionsOut:
    return RaceOptionsOut(
        min_racers=MIN_RACERS,
        max_racers=MAX_RACERS,
        presets={name: PresetOut.of(p) for name, p in PRESETS.items()},
        resolution=RangeOut.of(RESOLUTION, high=MAX_RESOLUTION),
        surface_every=RangeOut.of(SURFACE_EVERY),
    )


@router.get("/options")
def race_options() -> RaceOptionsOut:
    """The bounds of a race and its named presets (each a ready RaceIn)."""
    return options()


@router.post(
    "",
    status_code=201,
    responses={
        429: {"description": "the racers do not fit under the cap of runs training at once"},
        409: {"description": "the dataset is not on this server; the message says how to get it"},
    },
)
def create_race(req: RaceIn, request: Request) -> RaceOut:
    """Start a race: one training run per racer, all from the same weights and batches."""
    racers = [r.racer() for r in req.racers]
    try:
        race = races(request).create(
            req.training.config(), racers, SurfaceSettings(**req.surface.model_dump())
        )
    except Busy as e:
        raise HTTPException(429, str(e)) from None
    except DataError as e:
        raise HTTPException(409, str(e)) from None
    except ValueError as e:
        field = str(e).split(" ", 1)[0] if str(e).startswith("batch_size") else "data"
        raise invalid(field, str(e)) from None
    return _out(race)


@router.get("/{race_id}", responses=NOT_FOUND)
def get_race(race: ThisRace) -> RaceOut:
    return _out(race)


@router.get(
    "/{race_id}/events", response_class=Response, responses=EVENT_STREAM | NOT_FOUND, description=EVENTS
)
async def race_events(race: ThisRace) -> EventStream:
    """Subscribe to a race: what it missed first, then live events until it ends."""
    return EventStream(race.subscribe())


def _live(race: Race) -> Race:
    if race.finished or all(run.finished for run in race.runs):
        raise HTTPException(409, f"race {race.id!r} has ended")
    return race


@router.post("/{race_id}/pause", responses=NOT_FOUND | ENDED)
def pause(race: ThisRace) -> RaceOut:
    """Pause every racer before its next step."""
    _live(race).each("pause")
    return _out(race)


@router.post("/{race_id}/resume", responses=NOT_FOUND | ENDED)
def resume(race: ThisRace) -> RaceOut:
    _live(race).each("resume")
    return _out(race)


@router.post("/{race_id}/step", responses=NOT_FOUND | ENDED)
def single_step(race: ThisRace) -> RaceOut:
    """While paused: every racer takes one step, then evaluates."""
    _live(race).each("step")
    return _out(race)


@router.post("/{race_id}/stop", responses=NOT_FOUND)
def stop(race: ThisRace) -> RaceOut:
    """End every racer (idempotent: a race that has ended is left as it is)."""
    race.each("stop")
    return _out(race)


@router.post("/{race_id}/racers/{racer}/hyper", responses=NOT_FOUND | ENDED)
def set_hyper(race: ThisRace, racer: Annotated[int, Path(ge=0, lt=MAX_RACERS)], req: HyperIn) -> RaceOut:
    """Change one racer's learning rate or other hyperparameters (or live options), from its next step."""
    if racer >= len(race.runs):
        raise HTTPException(404, f"race {race.id!r} has racers 0 to {len(race.runs) - 1}, not {racer}")
    run = race.runs[racer]
    if run.finished:
        raise HTTPException(409, f"racer {racer} has ended ({run.status})")
    run.controls.set(**live_changes(run.config, req.values))
    return _out(race)


@router.post(
    "/{race_id}/surface", status_code=202, responses=NOT_FOUND | {409: {"description": "one is computing"}}
)
def recompute_surface(race: ThisRace, req: SurfaceIn) -> RaceOut:
    """Compute the loss surface now, in the background; its progress and result come on the race's
    events (and from GET .../surface)."""
    if not any(len(t) for t in race.trajectories):
        raise HTTPException(409, "the racers have not been evaluated yet: try again in a moment")
    if not race.recompute(req.kind, req.resolution):
        raise HTTPException(409, "a surface is being computed for this race; wait for it to finish")
    return _out(race)


@router.get("/{race_id}/surface", responses=NOT_FOUND)
def get_surface(race: ThisRace) -> SurfaceOut:
    return SurfaceOut(**race.surface_out())
