"""HTML pages. Each page embeds the registries it needs, so it draws without a second request."""

from pathlib import Path

import plotly.offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.routers.registry import registry

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parents[2] / "templates")
PLOTLY_URL = f"/vendor/plotly-{plotly.offline.get_plotlyjs_version()}.min.js"
NAV = [("/", "Landscapes"), ("/docs", "API")]

router = APIRouter(include_in_schema=False)


def render(request: Request, template: str, **context) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, template, {"nav": NAV, "plotly_url": PLOTLY_URL, "path": request.url.path, **context}
    )


@router.get("/", response_class=HTMLResponse)
def landscapes_page(request: Request):
    return render(request, "landscapes.html", registry=registry().model_dump(mode="json"))
