"""The core registries as JSON: what the page builds its selects and sliders from."""

from functools import cache

from fastapi import APIRouter

from app.schemas.common import ParamOut
from app.schemas.paths import MAX_RACERS, MAX_STEPS
from app.schemas.registry import LandscapeOut, OptimizerOut, RegistryOut, ScheduleOut
from core.landscape.landscapes import LANDSCAPES
from core.landscape.noise import NOISE_PARAMS
from core.optimizers import OPTIMIZERS
from core.schedules import SCHEDULES

router = APIRouter(prefix="/api", tags=["registries"])


@cache  # the registries are fixed once imported
def registry() -> RegistryOut:
    return RegistryOut(
        landscapes=[LandscapeOut.model_validate(ls) for ls in LANDSCAPES.values()],
        optimizers=[OptimizerOut.model_validate(spec) for spec in OPTIMIZERS.values()],
        schedules=[ScheduleOut.model_validate(spec) for spec in SCHEDULES.values()],
        noise=[ParamOut.model_validate(p) for p in NOISE_PARAMS],
        max_steps=MAX_STEPS,
        max_racers=MAX_RACERS,
    )


@router.get("/registry")
async def get_registry() -> RegistryOut:
    """Landscapes, optimizers, schedules and noise settings, with every parameter's range."""
    return registry()


@router.get("/landscapes")
async def get_landscapes() -> list[LandscapeOut]:
    return registry().landscapes


@router.get("/optimizers")
async def get_optimizers() -> list[OptimizerOut]:
    return registry().optimizers


@router.get("/schedules")
async def get_schedules() -> list[ScheduleOut]:
    return registry().schedules
