"""The run log: every race and training run the server has finished, kept across restarts
(app/runlog.py). List and sort, read one with its curves, delete, export. A log whose file is damaged
or cannot be written answers 503, naming the file and what to do."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, ClassVar, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from starlette.convertors import Convertor, register_url_convertor

from app import runlog
from app.schemas.log import MAX_PAGE, Kind, LogItemOut, LogPageOut, RunOut, SortColumn


class SharedPathRoute(APIRoute):
    """A route that shares its path with routes of other methods (GET and DELETE /api/log/{id}): its
    405 names every method allowed on the path, where Starlette names only the first route's. A path
    without parameters (GET /api/jobs/pool, declared first) is its own: the parametrized paths it
    also matches (/api/jobs/{job_id}) never serve it."""

    methods_by_path: ClassVar[dict[re.Pattern, set[str]]] = {}
    literal_paths: ClassVar[set[re.Pattern]] = set()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        SharedPathRoute.methods_by_path.setdefault(self.path_regex, set()).update(self.methods or ())
        if not self.param_convertors:
            SharedPathRoute.literal_paths.add(self.path_regex)

    async def handle(self, scope, receive, send) -> None:
        if self.methods and scope["method"] not in self.methods:
            path = scope["path"]
            matching = [regex for regex in self.methods_by_path if regex.match(path)]
            literal = [regex for regex in matching if regex in self.literal_paths]
            allowed = {m for regex in literal or matching for m in self.methods_by_path[regex]}
            raise HTTPException(405, headers={"Allow": ", ".join(sorted(allowed | self.methods))})
        await super().handle(scope, receive, send)


class DigitsConvertor(Convertor[str]):
    """Digits, left as text for the parameter's own validation: Starlette's int convertor calls int(),
    which raises past Python's 4,300-digit limit (a 500)."""

    regex = "[0-9]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("digits", DigitsConvertor())

MAX_ID = 2**62


def _digits_in_range(value):
    """Refuse more significant digits than MAX_ID has before anything parses them."""
    if isinstance(value, str) and len(value.lstrip("0")) > len(str(MAX_ID)):
        raise PydanticCustomError(
            "less_than_equal", "Input should be less than or equal to {le}", {"le": MAX_ID}
        )
    return value


UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "the run log cannot be used: its file is damaged, cannot be written or comes from "
        "a newer Descent; the detail names the file and what to do"
    }
}
router = APIRouter(prefix="/api/log", tags=["run log"], route_class=SharedPathRoute, responses=UNAVAILABLE)

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no run with this id in the log (never logged, deleted or dropped)"}
}
RunId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="the run's id in the log"), BeforeValidator(_digits_in_range)
]
MEDIA = {"csv": "text/csv", "json": "application/json"}


@contextmanager
def usable_log(request: Request) -> Iterator[runlog.RunLog]:
    """The server's run log, checked once; a log that cannot be used is a 503 naming its file and what
    to do."""
    try:
        log = request.app.state.log.get()
        log.check_once()
        yield log
    except runlog.RunLogError as error:
        raise HTTPException(503, str(error)) from None


@router.get("")
def list_runs(
    request: Request,
    kind: Annotated[Kind | None, Query(description="only paths or only training runs")] = None,
    sort: Annotated[SortColumn, Query(description="a headline column; empty values sort last")] = "created",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=runlog.MAX_ROWS)] = 0,
) -> LogPageOut:
    """One page of logged runs (headline and configuration), sorted by any headline column (ties: newest
    first)."""
    with usable_log(request) as log:
        total, rows = log.list(kind, sort, order == "desc", limit, offset)
    return LogPageOut(total=total, items=[LogItemOut(**row) for row in rows])


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}, "application/json": {}},
            "description": "CSV: a row per run, the headline columns and the configuration as JSON text. "
            "JSON: a list of runs as GET /api/log/{id} returns them, curves and paths included.",
        }
    },
)
def export_runs(
    request: Request,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
    kind: Annotated[Kind | None, Query()] = None,
) -> StreamingResponse:
    """Every logged run (or every run of one kind), newest first, as a file. The whole file is checked
    first, so a damaged log is a 503 rather than a download that stops part way."""
    with usable_log(request) as log:
        if problem := log.check():
            raise runlog.RunLogError(problem)
    chunks = log.export_chunks(format, kind)
    name = f"descent-runs{'-' + kind if kind else ''}.{format}"
    return StreamingResponse(
        chunks, media_type=MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/{run_id:digits}", responses=NOT_FOUND)
def get_run(request: Request, run_id: RunId) -> RunOut:
    """A run's headline, configuration, results, loss (and accuracy) curve and, for a path, its points."""
    with usable_log(request) as log:
        row = log.get(run_id)
    if row is None:
        raise HTTPException(404, f"no run {run_id} in the log")
    return RunOut(**row)


@router.delete("/{run_id:digits}", status_code=204, responses=NOT_FOUND)
def delete_run(request: Request, run_id: RunId) -> Response:
    """Remove a run from the log."""
    with usable_log(request) as log:
        deleted = log.delete(run_id)
    if not deleted:
        raise HTTPException(404, f"no run {run_id} in the log")
    return Response(status_code=204)
