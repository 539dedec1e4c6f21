"""What the network pages build their controls from, and the data they draw."""

from __future__ import annotations

from fastapi import APIRouter

from app.schemas.common import ParamOut
from app.schemas.networks import (
    ActivationOut,
    ConfigFieldOut,
    DatasetOut,
    Named,
    NetworksOut,
    PointsIn,
    PointsOut,
    RecipeOut,
)
from app.schemas.runs import MAX_EPOCHS, MAX_LAYERS, MAX_WIDTH, TrainIn
from core.data import own
from core.data.datasets import DATASETS, make_dataset
from core.data.mnist import DATA_DIR_ENV, IMAGE_SETS, data_dir, locate
from core.nn.activations import ACTIVATIONS
from core.nn.config import OPTIONS, TRAINING_PARAMS, Option
from core.nn.inits import INITS
from core.nn.losses import LOSSES
from core.nn.network import REGULARIZATION
from core.nn.norms import NORMS
from core.nn.recipes import RECIPES, Recipe

router = APIRouter(prefix="/api", tags=["networks"])


def _datasets() -> list[DatasetOut]:
    toy = [
        DatasetOut(
            name=d.name,
            label=d.label,
            description=d.description,
            kind="points",
            classes=list(d.class_names),
            params=[ParamOut.model_validate(p) for p in d.params],
            available=True,
            remedy="",
        )
        for d in DATASETS.values()
    ]
    images = []
    for s in IMAGE_SETS.values():
        remedy = (
            f"Run `descent data {s.name}` on the server (it downloads and verifies the four files), or copy"
            f" them into {data_dir() / s.name}, or set {DATA_DIR_ENV} to a folder that holds them"
            + (f", or `apt-get install {s.debian_package}`" if s.debian_package else "")
            + "."
        )
        images.append(
            DatasetOut(
                name=s.name,
                label=s.label,
                description=s.description,
                kind="images",
                classes=list(s.class_names),
                params=[ParamOut.model_validate(p) for p in s.params],
                available=locate(s.name) is not None,
                remedy=remedy,
            )
        )
    upload = DatasetOut(
        name=own.NAME,
        label=own.LABEL,
        description=own.DESCRIPTION,
        kind="upload",
        classes=[],
        params=[ParamOut.model_validate(p) for p in own.PARAMS],
        available=True,
        remedy="Upload a file (POST /api/data) and train with its id as data_id.",
    )
    return toy + images + [upload]


def _config_field(option: Option) -> ConfigFieldOut:
    p = option.param
    return ConfigFieldOut(
        name=option.name,
        label=option.label,
        kind=option.kind,
        default=TrainIn.model_fields[option.name].get_default(call_default_factory=True),
        low=p.low if p else None,
        high=option.high,
        log=bool(p and p.log),
        integer=bool(p and p.integer),
        help=option.help,
        live=option.live,
        key=option.key,
    )


def _recipe(recipe: Recipe) -> RecipeOut:
    fields = TrainIn.from_config(recipe.config()).model_dump(mode="json", include=set(recipe.fields))
    return RecipeOut(label=recipe.label, description=recipe.description, config=fields)


@router.get("/networks")
def get_networks() -> NetworksOut:
    """Datasets (with availability), activations, losses, initializations, norms, regularization and
    training parameters, with every range; every field of a training run (`config`: its default,
    bounds here and whether a running run takes a new value) and the named `recipes`."""
    return NetworksOut(
        datasets=_datasets(),
        activations=[ActivationOut.model_validate(a) for a in ACTIVATIONS.values()],
        losses=[Named.model_validate(x) for x in LOSSES.values()],
        inits=[Named.model_validate(x) for x in INITS.values()],
        norms=[Named.model_validate(x) for x in NORMS.values()],
        regularization=[ParamOut.model_validate(p) for p in REGULARIZATION],
        training=[ParamOut.model_validate(p) for p in TRAINING_PARAMS],
        config=[_config_field(o) for o in OPTIONS.values() if not o.internal],
        recipes={name: _recipe(r) for name, r in RECIPES.items()},
        max_layers=MAX_LAYERS,
        max_width=MAX_WIDTH,
        max_epochs=MAX_EPOCHS,
    )


@router.post("/datasets/points")
def post_points(req: PointsIn) -> PointsOut:
    """The points of a 2D toy dataset, exactly as a run with the same parameters trains on them."""
    split = make_dataset(req.dataset, **req.data)
    return PointsOut(
        x_train=split.x_train.tolist(),
        y_train=split.y_train.tolist(),
        x_test=split.x_test.tolist(),
        y_test=split.y_test.tolist(),
        classes=list(split.class_names),
    )
