"""Users' own data: upload a CSV or .npz into the content-hash store, describe it, read its points.

Uploaded (or drawn) data is validated by core/data/uploads.py, then kept in a `DataStore` in `uploads`
under the data folder, at most DESCENT_UPLOAD_STORE_BYTES of it (the least recently used goes first).
A training configuration names it by its hash (`dataset: "upload"`, `data_id`), so a link reproduces a
run on the same server for as long as the store keeps its data; then it says plainly that it is gone.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse

from app import settings
from app.heavy import HEAVY
from app.routers.runs import FILE_BODY, invalid, read_body
from app.schemas.common import ValidationErrorOut
from app.schemas.data import DataKind, DataOut, DataPointsOut
from core.data import own
from core.data.store import DataStore
from core.data.uploads import LIMITS, DataError, Table, read_points, read_table

router = APIRouter(prefix="/api/data", tags=["data"])
MAX_BYTES = LIMITS.max_bytes  # of an uploaded file (the security layer's limit for this path too)
NAMES_KEPT = 1024  # upload names remembered (the store keys data by content, not by name)
DataId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$", description="the data's SHA-256, hexadecimal")]
GONE: dict[int | str, dict[str, Any]] = {
    404: {"description": "the data is not (or no longer) on this server"}
}
ERRORS = {"model": ValidationErrorOut}
_names: OrderedDict[str, str] = OrderedDict()


@functools.lru_cache(maxsize=4)
def _store(folder: Path, max_bytes: int) -> DataStore:
    return DataStore(folder, max_bytes)


def store() -> DataStore:
    """The server's store: in the data folder, capped by DESCENT_UPLOAD_STORE_BYTES (read each time, so
    a changed environment takes effect)."""
    return _store(own.uploads_folder(), settings.UPLOAD_STORE_BYTES.read())


async def gone(request: Request, exc: Exception) -> JSONResponse:
    """409 for a request whose training data has been evicted (DataGone), with its plain message."""
    return JSONResponse({"detail": str(exc)}, status_code=409)


def _remember(key: str, filename: str) -> None:
    _names[key] = filename
    _names.move_to_end(key)
    while len(_names) > NAMES_KEPT:
        _names.popitem(last=False)


def _stored(key: str) -> Table:
    table = store().get(key)
    if table is None:
        raise HTTPException(404, own.gone_message(key))
    return table


@router.post(
    "",
    status_code=201,
    openapi_extra=FILE_BODY,
    responses={
        413: {"description": "the file is too large"},
        422: {
            "description": "the file cannot be used; the message says where and why",
            "model": ValidationErrorOut,
        },
        429: {"description": "too many long computations are waiting"},
        507: {"description": "the data folder cannot be written (or is full); nothing was kept"},
    },
)
async def upload_data(
    request: Request,
    kind: Annotated[DataKind, Query(description="points: a CSV x1,x2,label; table: a CSV or .npz")],
    filename: Annotated[str, Query(min_length=1, max_length=255, description="ends in .csv or .npz")],
    label_column: Annotated[
        str, Query(min_length=1, max_length=LIMITS.max_name, description="a table's label column")
    ] = "label",
    regression: Annotated[bool, Query(description="the label is a numeric target (loss mse)")] = False,
) -> DataOut:
    """Validate the file's bytes (the body) and keep them in the store. A refused file is a 422 naming
    the line (or row), the column, what was wrong and what is valid; nothing of it is kept."""
    body = await read_body(request, MAX_BYTES, f"a data file may have at most {MAX_BYTES:,} bytes")
    return await HEAVY.run(_upload, body, kind, filename, label_column, regression)


def _upload(body: bytes, kind: str, filename: str, label_column: str, regression: bool) -> DataOut:
    try:
        if kind == "points":
            table = read_points(body, regression=regression)
        else:
            table = read_table(body, filename, label_column, regression=regression)
        key = store().put(table)
    except DataError as e:
        raise invalid("file", str(e)) from None
    except OSError as e:  # the data folder is not writable, or the disk is full: nothing was kept
        folder = own.uploads_folder()
        raise HTTPException(
            507,
            f"the server cannot keep the data in {folder}: {e.strerror or e}; set DESCENT_DATA_DIR to a "
            "writable folder with free space",
        ) from None
    _remember(key, filename)
    return DataOut.of(key, table, filename)


@router.get("/{data_id}", responses=GONE)
def get_data(data_id: DataId) -> DataOut:
    """What the stored data is: its columns, rows, classes or regression target."""
    return DataOut.of(data_id, _stored(data_id), _names.get(data_id, ""))


@router.get(
    "/{data_id}/points",
    responses={**GONE, 409: {"description": "the data has more (or fewer) than two features"}},
)
def get_points(data_id: DataId) -> DataPointsOut:
    """A two-feature table's rows as points (as stored: not split, not standardized), for the
    playground to draw and edit."""
    table = _stored(data_id)
    if table.x.shape[1] != 2:
        raise HTTPException(
            409, f"the data has {table.x.shape[1]} features; only data of two features are points to draw"
        )
    return DataPointsOut(
        x=table.x.tolist(),
        y=table.y.tolist(),
        class_names=list(table.class_names),
        regression=table.regression,
    )
