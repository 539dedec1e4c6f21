"""Models of the jobs API (app/routers/network_tools.py): job specs bounded so that one spec costs
about a second at most, and the progress a poll returns."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from app.schemas.common import Strict
from app.schemas.runs import LayerIn, TrainIn
from core.data import own
from core.data.datasets import DATASETS, get_dataset
from core.data.mnist import IMAGE_SETS, get_image_set
from core.optimizers import get_optimizer
from core.params import resolve

MAX_SPECS = 64  # an 8×8 map
MAX_SWEEP_EPOCHS = 100
MAX_SWEEP_LAYERS = 4
MAX_SWEEP_WIDTH = 256
MAX_SWEEP_STEPS = 20_000  # optimizer steps of one spec
MAX_SWEEP_WORK = 2e9  # steps × batch size × parameters of one spec: about a second of training
MAX_IMAGE_TRAIN, MAX_IMAGE_TEST = 10_000, 2_000  # an MNIST subset
MAX_RANGE_STEPS = 2_000


class SweepLayerIn(LayerIn):
    width: int = Field(ge=1, le=MAX_SWEEP_WIDTH)


class SweepConfigIn(TrainIn):
    """A training configuration (TrainIn's fields) for one of many short runs: at most 4 hidden layers
    of 256 units, 100 epochs, 20,000 steps and 2·10⁹ steps × batch × parameters; MNIST only as a
    subset (train_size ≤ 10,000, test_size ≤ 2,000). `throttle` and `surface` are ignored;
    `eval_train_size` (default 1,000) caps the training examples scored per epoch."""

    hidden: list[SweepLayerIn] = Field(
        default=[SweepLayerIn(width=16), SweepLayerIn(width=16)], max_length=MAX_SWEEP_LAYERS
    )
    epochs: int = Field(10, ge=1, le=MAX_SWEEP_EPOCHS)
    eval_train_size: int = Field(1000, ge=0, le=MAX_IMAGE_TRAIN, description="training examples scored")

    def sizes(self) -> tuple[int, int, int, int]:
        """(inputs, classes, training examples, test examples) of the configured data."""
        if self.dataset == own.NAME:  # the stored table's shape (DataGone, a 409, if it has gone)
            table = own.shape(self.data_id)
            return (table.features, table.classes or 1, *table.sizes(self.data))
        if self.dataset in DATASETS:
            points = get_dataset(self.dataset)
            v = resolve(points.params, self.data, f"dataset {self.dataset!r}")
            test = round(v["samples"] * v["test_fraction"])
            return 2, points.classes, v["samples"] - test, test
        images = get_image_set(self.dataset)
        v = resolve(images.params, self.data, f"dataset {self.dataset!r}")
        return math.prod(images.shape), len(images.class_names), v["train_size"], v["test_size"]

    def parameters(self) -> int:
        inputs, classes, _, _ = self.sizes()
        widths = [inputs, *(layer.width for layer in self.hidden), classes]
        return sum((a + 1) * b for a, b in itertools.pairwise(widths))

    def check_work(self, steps: int) -> None:
        if steps > MAX_SWEEP_STEPS:
            raise ValueError(
                f"{steps:,} steps per run; at most {MAX_SWEEP_STEPS:,} (fewer epochs or a larger batch)"
            )
        work = steps * self.batch_size * self.parameters()
        if work > MAX_SWEEP_WORK:
            raise ValueError(
                f"{work:.3g} steps × batch × parameters per run; at most {MAX_SWEEP_WORK:.0e}"
                " (a smaller network, fewer epochs or less data)"
            )

    @model_validator(mode="after")
    def _bounded(self):
        _, _, train, test = self.sizes()
        if self.dataset in IMAGE_SETS and (train > MAX_IMAGE_TRAIN or test > MAX_IMAGE_TEST):
            raise ValueError(
                f"{self.dataset} in a sweep: data.train_size at most {MAX_IMAGE_TRAIN:,} and data.test_size "
                f"at most {MAX_IMAGE_TEST:,} (got {train:,} and {test:,})"
            )
        if self.batch_size > train:
            raise ValueError(f"batch_size must be in [1, {train}] (the training set), got {self.batch_size}")
        return self

    def fields(self) -> dict:
        """core.nn.training.TrainConfig's fields, for core.nn.sweeps."""
        return asdict(self.config())


class TrainJobIn(Strict):
    """A short training run: a map cell or one seed of a band."""

    kind: Literal["train"]
    config: SweepConfigIn
    target: float | None = Field(None, ge=0.0, le=1.0, description="a test accuracy to reach; null: none")
    points: int = Field(200, ge=10, le=500, description="points of the binned loss curve")

    @model_validator(mode="after")
    def _work(self):
        _, _, train, _ = self.config.sizes()
        self.config.check_work(-(-train // self.config.batch_size) * self.config.epochs)
        return self

    def spec(self) -> dict:
        return {"kind": "train", "config": self.config.fields(), "target": self.target, "points": self.points}


class RangeJobIn(Strict):
    """Smith's learning-rate range test: the rate grows exponentially from lr_min to lr_max over about
    `steps` steps (whole epochs); the configuration's lr and epochs are not used."""

    kind: Literal["lr_range"]
    config: SweepConfigIn
    lr_min: float = Field(1e-5, ge=1e-7, le=10.0)
    lr_max: float = Field(1.0, ge=1e-7, le=10.0)
    steps: int = Field(300, ge=20, le=MAX_RANGE_STEPS)

    @model_validator(mode="after")
    def _check(self):
        if self.lr_min >= self.lr_max:
            raise ValueError(f"lr_min must be below lr_max, got {self.lr_min:g} and {self.lr_max:g}")
        get_optimizer(self.config.optimizer).hyperparameters(**{**self.config.hyper, "lr": self.lr_max})
        _, _, train, _ = self.config.sizes()
        per_epoch = -(-train // self.config.batch_size)
        self.config.check_work(max(1, round(self.steps / per_epoch)) * per_epoch)
        return self

    def spec(self) -> dict:
        fields = self.config.fields()
        return {
            "kind": "lr_range",
            "config": fields,
            "lr_min": self.lr_min,
            "lr_max": self.lr_max,
            "steps": self.steps,
        }


JobSpecIn = Annotated[TrainJobIn | RangeJobIn, Field(discriminator="kind")]


class JobsIn(Strict):
    specs: list[JobSpecIn] = Field(
        min_length=1, max_length=MAX_SPECS, description="run independently, in any order"
    )


class JobResultOut(BaseModel):
    index: int = Field(description="the spec's position in the submitted list")
    result: dict[str, Any] | None = Field(
        description="what core.nn.sweeps returns for the spec; null if it failed"
    )
    error: str | None


class PoolOut(BaseModel):
    state: Literal["idle", "starting", "ready", "failed"] = Field(
        description="idle: starts with the next job; starting: jobs wait in the queue"
    )
    where: str = Field(
        description='e.g. "local pool, 2 processes" or "Dask at tcp://…, 8 workers, 16 threads"'
    )
    capacity: int = Field(description="specs in flight at once")
    error: str | None = Field(description="why the last start failed")


class JobOut(BaseModel):
    id: str
    status: Literal["running", "done", "failed", "cancelled"] = Field(
        description="failed: every spec failed (each result says why)"
    )
    total: int = Field(description="specs in the job")
    done: int = Field(description="specs finished (or failed)")
    failed: int
    waiting: int = Field(description="specs not yet handed to the pool")
    pool: PoolOut
    results: list[JobResultOut] = Field(
        description="results that came in since `since`, in the order they came"
    )
    next: int = Field(description="ask with since=next for what comes after these")
    seconds: float = Field(description="since the job started (until it ended)")
