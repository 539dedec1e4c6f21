"""Models of the run-log API (app/routers/log.py): bounded query parameters and the rows it returns."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.runlog import HEADLINE, KINDS, MAX_POINTS

Kind = Literal[KINDS]
SortColumn = Literal[HEADLINE]
MAX_PAGE = 200


class RunHeadOut(BaseModel):
    """A run's headline: what the log's table shows and sorts by."""

    id: int
    created: float = Field(description="when it ended, in seconds since 1970 (UTC)")
    kind: Kind = Field(description="path (one racer of a race on a landscape) or training")
    problem: str = Field(description="the landscape or the dataset")
    optimizer: str
    lr: float | None = Field(description="the (base) learning rate")
    seed: int | None
    status: str = Field(
        description="paths: done, converged, diverged; training: done, stopped, early_stopped, "
        "diverged, error"
    )
    diverged: bool
    steps: int | None = Field(description="steps taken (a path: the step it converged or diverged at)")
    steps_to_target: int | None = Field(description="a path: the step it converged at; null if it did not")
    final_loss: float | None = Field(
        description="a path: the loss at its last point; training: the training loss"
    )
    final_accuracy: float | None = Field(description="training: the last test accuracy")
    best_accuracy: float | None = Field(description="training: the best test accuracy of any evaluation")
    wall_seconds: float | None
    race: str | None = Field(description="the racers of one race share this")


class LogItemOut(RunHeadOut):
    config: dict[str, Any] = Field(description="as in GET /api/log/{id}: what a link to reopen the run needs")


class LogPageOut(BaseModel):
    total: int = Field(description="runs that match the filter, on every page")
    items: list[LogItemOut]


class CurveOut(BaseModel):
    step: list[int] = Field(max_length=MAX_POINTS)
    value: list[float | None] = Field(max_length=MAX_POINTS)


class PathOut(BaseModel):
    x: list[float | None] = Field(max_length=MAX_POINTS)
    y: list[float | None] = Field(max_length=MAX_POINTS)


class RunOut(RunHeadOut):
    """Everything the log keeps of a run."""

    config: dict[str, Any] = Field(
        description="a path: the race request with this racer alone in `racers` (all of them in "
        "`race_racers`); training: core.nn.training.TrainConfig's fields"
    )
    results: dict[str, Any] = Field(
        description="a path: outcome message, distance to the nearest minimum; training: the summary event"
    )
    curves: dict[str, CurveOut] = Field(
        description="`loss` (per step; a long training curve as means of consecutive steps) and, "
        "for training, `accuracy` (per evaluation)"
    )
    path: PathOut | None = Field(description="a path's points (downsampled); null for training")
