"""Jobs for the network tuning tools: a list of independent specs (short training runs, LR range tests)
run on the process pool; poll for progress, cancel. See app/jobs.py and core/nn/sweeps.py."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request

from app.jobs import Busy, Job, JobManager
from app.routers.log import SharedPathRoute
from app.schemas.network_tools import (
    MAX_IMAGE_TEST,
    MAX_IMAGE_TRAIN,
    MAX_RANGE_STEPS,
    MAX_SPECS,
    MAX_SWEEP_EPOCHS,
    MAX_SWEEP_LAYERS,
    MAX_SWEEP_WIDTH,
    JobOut,
    JobResultOut,
    JobsIn,
    PoolOut,
)
from core.data.mnist import IMAGE_SETS, locate

router = APIRouter(prefix="/api/jobs", tags=["jobs"], route_class=SharedPathRoute)

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no job with this id (jobs live in memory and are forgotten)"}
}
JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def manager(request: Request) -> JobManager:
    return request.app.state.jobs


def job_limits(request: Request) -> dict:
    """The caps a page needs to build valid jobs."""
    return {
        "max_specs": min(MAX_SPECS, manager(request).limits.max_specs),
        "max_epochs": MAX_SWEEP_EPOCHS,
        "max_layers": MAX_SWEEP_LAYERS,
        "max_width": MAX_SWEEP_WIDTH,
        "max_image_train": MAX_IMAGE_TRAIN,
        "max_image_test": MAX_IMAGE_TEST,
        "max_range_steps": MAX_RANGE_STEPS,
        "pool": pool(request).model_dump(),
    }


def pool(request: Request) -> PoolOut:
    """Where jobs run, and whether that pool is ready."""
    return PoolOut(**vars(manager(request).pool()))


def _out(request: Request, job: Job, since: int = 0) -> JobOut:
    results = [JobResultOut(index=i, result=r, error=e) for i, r, e in job.results[since:]]
    end = job.ended if job.ended is not None else time.monotonic()
    return JobOut(
        id=job.id,
        status=job.status,
        total=len(job.specs),
        done=job.done,
        failed=job.failed,
        waiting=job.waiting,
        pool=pool(request),
        results=results,
        next=since + len(results),
        seconds=end - job.created,
    )


def _find(request: Request, job_id: str) -> Job:
    job = manager(request).get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r}: it never existed or has been forgotten")
    return job


@router.post(
    "",
    status_code=201,
    responses={
        429: {"description": "too many jobs are running"},
        409: {"description": "a spec's dataset is not on this server; the message says how to get it"},
    },
)
def submit_job(req: JobsIn, request: Request) -> JobOut:
    """Run every spec on the pool; while it starts, the job waits. A job nobody polls for a minute is
    cancelled."""
    for name in {s.config.dataset for s in req.specs} & set(IMAGE_SETS):
        if locate(name) is None:
            raise HTTPException(409, f"{name} is not on this server: run `descent data {name}`")
    try:
        job = manager(request).submit([s.spec() for s in req.specs])
    except Busy as e:
        raise HTTPException(429, str(e)) from None
    return _out(request, job)


@router.get("/pool")
def get_pool(request: Request) -> PoolOut:
    """Where jobs run ("local pool, 2 processes", "Dask at tcp://…, 8 workers, 16 threads"), and
    whether that pool is ready."""
    return pool(request)


@router.get("/{job_id}", responses=NOT_FOUND)
def get_job(
    job_id: JobId,
    request: Request,
    since: Annotated[int, Query(ge=0, le=1_000_000, description="results already seen")] = 0,
) -> JobOut:
    """Progress, and the results that came in after the first `since`."""
    job = _find(request, job_id)
    return _out(request, job, min(since, job.done))


@router.delete("/{job_id}", responses=NOT_FOUND)
def cancel_job(job_id: JobId, request: Request) -> JobOut:
    """Cancel: no more of its specs start, and those in the pool are withdrawn (one already running
    may finish, its result dropped); the results that came are kept. A finished job is left as it is."""
    job = _find(request, job_id)
    manager(request).cancel(job)
    return _out(request, job, job.done)
