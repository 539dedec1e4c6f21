"""The FastAPI application: routers, templates, static files and offline assets."""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import itertools
import re
import sys
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
import plotly
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from threadpoolctl import threadpool_limits

from app import runlog, server, settings
from app.jobs import JobLimits, JobManager
from app.races import RaceManager
from app.routers import (
    blocks,
    data,
    landscapes,
    log,
    network_tools,
    networks,
    pages,
    paths,
    races,
    registry,
    runs,
    tools,
)
from app.runs import Limits, RunManager
from app.security import BodyLimit, SameOrigin, SecurityHeaders, content_security_policy
from core.data.own import DataGone

STATIC = pages.ASSETS / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
SWAGGER = Path(fastapi_offline.__file__).parent / "static"
YEAR = "public, max-age=31536000, immutable"
OPENAPI_URL = "/openapi.json"  # FastAPI's default, named for the docs page
TRIM_SECONDS = 10  # how often freed memory is handed back to the system


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each bad field and why; the offending input is not echoed (it may not be JSON)."""
    assert isinstance(exc, RequestValidationError)  # the handler is registered for it alone
    detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=422)


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Pin BLAS to one thread (runs and streams share two cores: see README), switch between Python
    threads every millisecond so the event loop answers promptly while workers compute, check the run
    log (in the background: it reads the whole file, and says in one line if it is damaged), sweep
    idle and old runs every second, hand freed memory back every few seconds, start a job pool that is
    slow to start (a Dask cluster) in the background, and stop every run and the job pool on
    shutdown."""
    threadpool_limits(1)
    app.state.jobs.start()
    checked = asyncio.create_task(asyncio.to_thread(app.state.log.check))
    sys.setswitchinterval(0.001)
    gc.collect()
    gc.freeze()  # the app's own objects never need collecting: full collections stay short

    async def sweep():
        for second in itertools.count(1):
            await asyncio.sleep(1.0)
            app.state.runs.sweep()
            if second % TRIM_SECONDS == 0:
                await asyncio.to_thread(server.release_memory)

    task = asyncio.create_task(sweep())
    try:
        yield
    finally:
        task.cancel()
        checked.cancel()
        app.state.runs.stop_all()
        await asyncio.to_thread(app.state.jobs.shutdown)  # a Dask cluster takes a moment to close


class Descent(FastAPI):
    """FastAPI with the security headers outside everything else, so that every response carries them:
    Starlette's own 500s and what any middleware answers by itself (a 413, a refused Host) included."""

    csp = content_security_policy([])

    def build_middleware_stack(self):
        return SecurityHeaders(super().build_middleware_stack(), csp=self.csp)


def create_app(limits: Limits | None = None, allowed_hosts: list[str] | None = None) -> Descent:
    """The app; `limits` caps training runs (default: see app.runs.Limits, or DESCENT_* variables);
    `allowed_hosts` are names it answers to besides localhost and its own address (default:
    $DESCENT_ALLOWED_HOSTS)."""
    app = Descent(
        lifespan=lifespan,
        responses={
            400: {"description": "the request body could not be read, or the Host is not this server"},
            403: {"description": "a cross-origin request to change state"},
            413: {"description": "the request body is too large"},
            415: {"description": "a request body that is neither JSON nor octet-stream"},
        },
        title="Descent",
        openapi_url=OPENAPI_URL,
        summary="See and tune gradient-based optimizers",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
    )
    app.state.log = runlog.ServerLog()  # opened on first use: a run log that cannot be opened stops nothing
    app.state.runs = RunManager(limits or Limits.from_env(), app.state.log)
    app.state.races = RaceManager(app.state.runs, app.state.log)
    app.state.jobs = JobManager(JobLimits.from_env())
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DataGone, data.gone)  # wherever a request names evicted data: 409
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/vendor/swagger", StaticFiles(directory=SWAGGER), name="swagger")
    for router in (
        registry.router,
        landscapes.router,
        paths.router,
        networks.router,
        runs.router,
        races.router,
        data.router,
        blocks.router,
        log.router,
        network_tools.router,
        tools.router,
        pages.router,
    ):
        app.include_router(router)

    @app.get(pages.PLOTLY_URL, include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": YEAR})

    docs = get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title="Descent API",
        swagger_js_url="/vendor/swagger/swagger-ui-bundle.js",
        swagger_css_url="/vendor/swagger/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    ).body

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return HTMLResponse(docs)

    # Swagger UI starts itself from one inline script: allow exactly that script, by hash.
    inline = re.findall(rb"<script>(.*?)</script>", docs, re.S)
    hashes = [base64.b64encode(hashlib.sha256(s).digest()).decode() for s in inline]
    app.csp = content_security_policy(hashes)
    app.add_middleware(BodyLimit, limits={"/api/runs/upload": runs.MAX_UPLOAD, "/api/data": data.MAX_BYTES})
    names = settings.allowed_hosts() if allowed_hosts is None else allowed_hosts
    app.add_middleware(SameOrigin, names=names)  # outermost of these: a refused request is not read
    return app
