"""HTML pages. Each page embeds the registries it needs, so it draws without a second request."""

from pathlib import Path

import plotly.offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import runlog
from app.routers.blocks import blocks_registry
from app.routers.network_tools import job_limits
from app.routers.networks import get_networks
from app.routers.races import race_options
from app.routers.registry import registry
from app.schemas.tools import tool_limits
from core.data.datasets import DATASETS

PACKAGED = Path(__file__).parents[1]  # the app package: a wheel carries templates/ and static/ in it
ASSETS = PACKAGED if (PACKAGED / "templates").is_dir() else Path(__file__).resolve().parents[2]  # a checkout
TEMPLATES = Jinja2Templates(directory=ASSETS / "templates")
PLOTLY_URL = f"/vendor/plotly-{plotly.offline.get_plotlyjs_version()}.min.js"
NAV = [
    ("/", "Landscapes"),
    ("/tools", "Landscape tools"),
    ("/playground", "Network playground"),
    ("/network-tools", "Network tools"),
    ("/mnist", "MNIST"),
    ("/lab", "Network lab"),
    ("/blocks", "Building blocks"),
    ("/log", "Run log"),
    ("/docs", "API"),
]
RUN_KEYS = ("run", "run2")  # query parameters that name runs a page re-attaches to

router = APIRouter(include_in_schema=False)


def render(request: Request, template: str, **context) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, template, {"nav": NAV, "plotly_url": PLOTLY_URL, "path": request.url.path, **context}
    )


@router.get("/", response_class=HTMLResponse)
def landscapes_page(request: Request):
    return render(request, "landscapes.html", registry=registry().model_dump(mode="json"))


@router.get("/tools", response_class=HTMLResponse)
def tools_page(request: Request):
    """The tuning tools; the registry it embeds also writes the landscape page's links."""
    return render(request, "tools.html", registry=registry().model_dump(mode="json"), limits=tool_limits())


@router.get("/blocks", response_class=HTMLResponse)
def blocks_page(request: Request):
    return render(request, "blocks.html", blocks=blocks_registry().model_dump(mode="json"))


def _runs(request: Request) -> dict[str, str | None]:
    """The status of each run the link names (None: forgotten), so the page never asks for a 404."""
    manager = request.app.state.runs
    ids = [request.query_params.get(key) for key in RUN_KEYS]
    return {i: (run.status if (run := manager.get(i)) else None) for i in ids if i}


def _network_page(request: Request, template: str, **extra) -> HTMLResponse:
    page = {
        "registry": registry().model_dump(mode="json", include={"optimizers", "schedules"}),
        "networks": get_networks().model_dump(mode="json"),
        "runs": _runs(request),
        **extra,
    }
    return render(request, template, page=page)


@router.get("/playground", response_class=HTMLResponse)
def playground_page(request: Request):
    return _network_page(request, "playground.html")


@router.get("/mnist", response_class=HTMLResponse)
def mnist_page(request: Request):
    return _network_page(request, "mnist.html")


@router.get("/lab", response_class=HTMLResponse)
def lab_page(request: Request):
    """Races of optimizers on one network, its loss surface and its sharpness."""
    race_id = request.query_params.get("race")
    race = request.app.state.races.get(race_id) if race_id else None
    linked = {race_id: race.status if race else None} if race_id else {}  # None: forgotten (no 404 asked)
    return _network_page(request, "lab.html", races=race_options().model_dump(mode="json"), race=linked)


@router.get("/log", response_class=HTMLResponse)
def log_page(request: Request):
    """The run log; embeds the registry so its links can be written in the landscape page's terms."""
    return render(
        request,
        "log.html",
        registry=registry().model_dump(mode="json"),
        log_path=request.app.state.log.path,
        max_rows=f"{runlog.MAX_ROWS:,}",
        page={"toy_datasets": list(DATASETS), "training": get_networks().model_dump(mode="json")["config"]},
    )


@router.get("/network-tools", response_class=HTMLResponse)
def network_tools_page(request: Request):
    """LR range test, hyperparameter maps and seed bands for networks (jobs on the process pool)."""
    return _network_page(request, "network_tools.html", limits=job_limits(request))
