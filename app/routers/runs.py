"""Training runs: create, watch over Server-Sent Events, control, ask for predictions, save and load."""

from __future__ import annotations

import io
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.heavy import HEAVY
from app.runs import Busy, Run, RunManager
from app.schemas.common import ValidationErrorOut
from app.schemas.runs import FiltersOut, HyperIn, ImagesOut, LoadedOut, PredictIn, PredictOut, RunOut, TrainIn
from app.streaming import EVENT_STREAM, EventStream
from app.uploads import UploadError, read_npz
from core.data.mnist import IMAGE_SETS, DataError
from core.nn.config import LIVE, PARAMS, TrainConfig
from core.optimizers import get_optimizer
from core.params import resolve

router = APIRouter(prefix="/api/runs", tags=["runs"])
MAX_UPLOAD = 64 * 2**20  # bytes of an uploaded model
TRAINED_STEPS = "trained_steps"  # the saved file's count of steps its weights have trained
MAX_TRAINED_STEPS = 2**53

Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: {"description": "no run with this id (runs live in memory and are forgotten)"}}
ENDED: Responses = {409: {"description": "the run has ended"}}
LOST: Responses = {409: {"description": "the run's process ended without its weights (it crashed)"}}
NOT_IMAGES: Responses = {409: {"description": "the run's data are not images"}}

EVENTS = """The run's events, each `data` a JSON object. A new subscriber first gets `start`, one
`history` event (every step's loss and lr so far, every evaluation and epoch summary without
the bulky parts, every control), the latest full `eval`, and any ending events; then live events:
`steps`, `eval`, `epoch`, `control`, `early_stop`, `diverged`, `error`, and finally `summary`.
See core/nn/events.py for each event's fields. No number is ever NaN or infinite."""


def manager(request: Request) -> RunManager:
    return request.app.state.runs


def find_run(run_id: str, request: Request) -> Run:
    """The run `run_id` (a dependency, so a 404 comes before any stream starts)."""
    run = manager(request).get(run_id)
    if run is None:
        raise HTTPException(404, f"no run {run_id!r}: it never existed or has been forgotten")
    return run


ThisRun = Annotated[Run, Depends(find_run)]


def _out(run: Run) -> RunOut:
    loaded = LoadedOut(trained_steps=run.trained_steps) if run.loaded else None
    return RunOut(id=run.id, status=run.status, subscribers=run.subscribers, error=run.error, loaded=loaded)


def invalid(field: str, message: str, where: str = "body") -> RequestValidationError:
    return RequestValidationError([{"loc": (where, field), "msg": message, "type": "value_error"}])


BINARY = {"schema": {"type": "string", "format": "binary"}}
FILE_BODY = {"requestBody": {"content": {"application/octet-stream": BINARY}}}  # a file's bytes as the body


async def read_body(request: Request, cap: int, too_large: str) -> bytes:
    """The request's body, or a 413 (`too_large`) as soon as more than `cap` bytes have come."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise HTTPException(413, too_large)
    return bytes(body)


def unfit(e: ValueError) -> RequestValidationError:
    """A 422 for a configuration its data refuses: a batch larger than the training set, or a
    regression target with another loss than MSE (the field named), else one about the data."""
    message = str(e)
    if message.startswith("batch_size"):
        return invalid("batch_size", message)
    return invalid("loss" if "regression target" in message else "data", message)


@router.post(
    "",
    status_code=201,
    responses={
        429: {"description": "too many runs are training"},
        409: {"description": "the dataset is not on this server; the message says how to get it"},
    },
)
def create_run(req: TrainIn, request: Request) -> RunOut:
    """Start training. The run goes on without any subscriber until it ends or is left unwatched."""
    try:
        run = manager(request).create(req.config())
    except Busy as e:
        raise HTTPException(429, str(e)) from None
    except DataError as e:
        raise HTTPException(409, str(e)) from None
    except ValueError as e:
        raise unfit(e) from None
    return _out(run)


# Before the /{run_id} routes: otherwise those match "upload" first (and a 405's Allow header lies).
@router.post(
    "/upload",
    status_code=201,
    openapi_extra=FILE_BODY,
    responses={
        413: {"description": "the file is too large"},
        422: {
            "description": "not a model saved by Descent; the message says why",
            "model": ValidationErrorOut,
        },
        429: {"description": "too many runs are training, or too many long computations are waiting"},
        409: {"description": "the model's dataset is not on this server"},
    },
)
async def upload_model(request: Request) -> RunOut:
    """Load a saved .npz: a new run that starts from its weights, paused after evaluating them. The
    file is checked before anything in it is inflated (see app/uploads.py), off the event loop."""
    body = await read_body(request, MAX_UPLOAD, f"a model file may have at most {MAX_UPLOAD // 2**20} MB")
    return await HEAVY.run(_load_model, request, body)


@router.get("/{run_id}", responses=NOT_FOUND)
def get_run(run: ThisRun) -> RunOut:
    return _out(run)


@router.get(
    "/{run_id}/events", response_class=Response, responses=EVENT_STREAM | NOT_FOUND, description=EVENTS
)
async def run_events(run: ThisRun) -> EventStream:
    """Subscribe to a run: what it missed first, then live events until it ends."""
    return EventStream(run.subscribe())


def _live(run: Run) -> Run:
    if run.finished:
        raise HTTPException(409, f"run {run.id!r} has ended ({run.status})")
    return run


@router.post("/{run_id}/pause", responses=NOT_FOUND | ENDED)
def pause(run: ThisRun) -> RunOut:
    """Pause before the next step."""
    _live(run).controls.pause()
    return _out(run)


@router.post("/{run_id}/resume", responses=NOT_FOUND | ENDED)
def resume(run: ThisRun) -> RunOut:
    _live(run).controls.resume()
    return _out(run)


@router.post("/{run_id}/step", responses=NOT_FOUND | ENDED)
def single_step(run: ThisRun) -> RunOut:
    """While paused: take one step, then evaluate."""
    _live(run).controls.step()
    return _out(run)


@router.post("/{run_id}/stop", responses=NOT_FOUND)
def stop(run: ThisRun) -> RunOut:
    """End the run. A run that has already ended is left as it is (200, its final status): stopping
    is idempotent, so a page that stops a run as it finishes gets no error."""
    if not run.finished:
        run.controls.stop()
    return _out(run)


@router.post("/{run_id}/hyper", responses=NOT_FOUND | ENDED)
def set_hyper(run: ThisRun, req: HyperIn) -> RunOut:
    """Change the learning rate (the schedule's base), other optimizer hyperparameters, or the live
    training options (l1, l2, max_norm, clip_norm: `live` in GET /api/networks), from the next step on."""
    _live(run).controls.set(**live_changes(run.config, req.values))
    return _out(run)


def live_changes(config: TrainConfig, values: dict[str, float]) -> dict[str, float]:
    """The values a running `config` may take (its optimizer's hyperparameters, the live options), each
    checked against its range; else a 422 naming the value and its range."""
    spec = get_optimizer(config.optimizer)
    allowed = (*spec.params, *(PARAMS[name] for name in LIVE))
    try:
        resolved = resolve(allowed, values, f"run with {spec.name}")
    except ValueError as e:
        raise invalid("values", str(e)) from None
    return {k: v for k, v in resolved.items() if k in values}


@router.post("/{run_id}/predict", responses=NOT_FOUND | LOST)
def predict(run: ThisRun, req: PredictIn) -> PredictOut:
    """Class probabilities for inputs (e.g. a drawn 28×28 digit as 784 values in [0, 1]), from the
    current weights, also while the run trains."""
    if any(len(row) != run.inputs for row in req.inputs):
        raise invalid("inputs", f"each input must have {run.inputs} values")
    probabilities = run.predict(np.asarray(req.inputs, dtype=np.float32))
    if probabilities is None:
        raise HTTPException(409, f"run {run.id!r} ended without its weights ({run.error})")
    if not np.isfinite(probabilities).all():
        raise invalid("inputs", "the network's output overflows for these inputs: use smaller values")
    return PredictOut(probabilities=probabilities.tolist(), classes=list(run.class_names))


@router.get(
    "/{run_id}/model",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "an .npz"},
        **NOT_FOUND,
        **LOST,
    },
)
def download_model(run: ThisRun) -> Response:
    """The current weights as an .npz of named arrays, with the network spec and run configuration."""
    steps = run.steps_done  # before the weights: a running run's weights are at least this far
    arrays = run.weights()
    if arrays is None:
        raise HTTPException(409, f"run {run.id!r} ended without its weights ({run.error})")
    arrays["config"] = np.array(TrainIn.from_config(run.config).model_dump_json())
    arrays[TRAINED_STEPS] = np.array(steps, dtype=np.int64)
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    filename = f"descent-{run.config.dataset}-{run.id[:6]}.npz"
    return Response(
        buffer.getvalue(),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _read_model(body: bytes) -> tuple[dict[str, np.ndarray], TrainIn, int | None]:
    """The arrays and training configuration of an uploaded .npz, or a 422 that says what is wrong."""
    try:
        arrays = read_npz(body)
    except UploadError as e:
        raise invalid("file", str(e)) from None
    if "config" not in arrays:
        raise invalid("file", "the .npz has no 'config' array: it was not saved by Descent")
    saved = arrays.pop(TRAINED_STEPS, None)  # files saved before it was recorded lack it
    trained = None
    if saved is not None:
        whole = saved.shape == () and saved.dtype.kind in "iu"
        if not whole or not 0 <= int(saved) <= MAX_TRAINED_STEPS:
            raise invalid("file", f"'{TRAINED_STEPS}' must be one whole number in [0, {MAX_TRAINED_STEPS}]")
        trained = int(saved)
    try:
        req = TrainIn.model_validate_json(str(arrays.pop("config")))
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise invalid("config", f"the saved configuration is not valid: {problems}") from None
    return arrays, req, trained


def _load_model(request: Request, body: bytes) -> RunOut:
    arrays, req, trained = _read_model(body)
    try:
        run = manager(request).create(req.config(), weights=arrays, trained_steps=trained)
    except Busy as e:
        raise HTTPException(429, str(e)) from None
    except DataError as e:
        raise HTTPException(409, str(e)) from None
    except ValueError as e:
        raise invalid("file", f"the weights do not fit the saved network: {e}") from None
    return _out(run)


def _image_shape(run: Run) -> list[int]:
    spec = IMAGE_SETS.get(run.config.dataset)
    if spec is None:
        raise HTTPException(409, f"run {run.id!r} trains on 2D points, not images")
    return list(spec.shape)


@router.get("/{run_id}/images", responses=NOT_FOUND | NOT_IMAGES)
def test_images(
    run: ThisRun, indices: Annotated[str, Query(pattern=r"^\d{1,9}(,\d{1,9}){0,63}$")]
) -> ImagesOut:
    """Test images of the run's data (e.g. those an evaluation listed as misclassified), by index."""
    shape = _image_shape(run)
    rows = [int(i) for i in indices.split(",")]
    if max(rows) >= len(run.split.y_test):
        raise invalid("indices", f"indices must be in [0, {len(run.split.y_test) - 1}]", "query")
    return ImagesOut(
        shape=shape, images=run.split.x_test[rows].tolist(), labels=run.split.y_test[rows].tolist()
    )


@router.get("/{run_id}/filters", responses=NOT_FOUND | NOT_IMAGES)
def first_layer_filters(run: ThisRun, count: Annotated[int, Query(ge=1, le=256)] = 64) -> FiltersOut:
    """The first layer's incoming weights of `count` units, shaped like the input images."""
    shape = _image_shape(run)
    arrays = run.weights()
    if arrays is None:
        raise HTTPException(409, f"run {run.id!r} ended without its weights ({run.error})")
    weights = arrays["dense0.W"]
    units = list(range(min(count, weights.shape[1])))
    return FiltersOut(shape=shape, units=units, images=weights[:, units].T.tolist())
