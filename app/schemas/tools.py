"""Request and response models of /api/tools: strict, closed, bounded, and cheap at their caps.

Every request runs `core.landscape.paths.run_many` once or a few times. What a call costs grows with steps ×
paths, plus a fixed overhead per `run_many` call and step (Python, not numpy), so each model declares
its grid first and `steps` last: the check on `steps` sees the grid and refuses work over MAX_WORK,
about half a second on one core. The 100 × 100 map at 500 steps fits.
"""

from __future__ import annotations

import math
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from app.schemas.common import Finite, LandscapeIn, NoiseIn, OptimizerName, Point, Settings, noise_of
from core.landscape.custom import resolve
from core.landscape.landscapes import Landscape
from core.landscape.noise import GradientNoise
from core.landscape.tuning import BATCH, DECAYS, batch_param
from core.optimizers import get_optimizer
from core.params import Param

MAX_TOOL_STEPS = 5000
MAX_GRID = 200  # cells per axis of a map
MAX_SEEDS = 200
MAX_TRADEOFF = 12  # rates and batch sizes of the trade-off grid
MAX_TRADEOFF_SEEDS = 50
MAX_WORK = 6_000_000  # steps × (paths + CALL_COST × run_many calls)
CALL_COST = 500  # a run_many step costs about what 500 more paths in the same call do
SEED_MAX = 2**32 - 1


def tool_limits() -> dict[str, int]:
    """The caps, for the page: it keeps its requests inside them."""
    return {
        "max_steps": MAX_TOOL_STEPS,
        "max_grid": MAX_GRID,
        "max_seeds": MAX_SEEDS,
        "max_tradeoff": MAX_TRADEOFF,
        "max_tradeoff_seeds": MAX_TRADEOFF_SEEDS,
        "max_work": MAX_WORK,
        "call_cost": CALL_COST,
    }


Steps = Annotated[int, Field(ge=1, le=MAX_TOOL_STEPS, description="steps of every run")]


def _optimizer_param(data: dict, name: str) -> Param | None:
    optimizer = data.get("optimizer")
    if optimizer is None:
        return None
    return next((p for p in get_optimizer(optimizer).params if p.name == name), None)


def _bound_landscape(data: dict) -> Landscape | None:
    if any(name not in data for name in ("landscape", "landscape_params", "expression", "domain")):
        return None  # an earlier field failed: that is the error to report
    try:
        return resolve(data["landscape"], data["landscape_params"], data["expression"], data["domain"])
    except ValueError:
        return None  # reported by LandscapeIn's own check


class ToolIn(LandscapeIn):
    """What every tool shares: the landscape, one optimizer with its hyperparameters, the noise."""

    optimizer: OptimizerName = "sgd"
    hyper: Settings = Field(
        default={}, validate_default=True, description="hyperparameters; missing ones take defaults"
    )
    noise: NoiseIn | None = Field(None, description="simulated stochastic gradients; null: exact")
    seed: int = Field(0, ge=0, le=SEED_MAX, description="noise seed")
    tolerance: Finite | None = Field(
        None,
        ge=1e-12,
        le=1e6,
        description="a run succeeds within this of the global minimum's f; null: default",
    )

    work_needs: ClassVar[tuple[str, ...]] = ()  # the fields `cost` reads

    @staticmethod
    def cost(data: dict) -> tuple[int, int]:
        """(paths, run_many calls) of a request, from its validated fields."""
        raise NotImplementedError

    @field_validator("hyper", mode="after")
    @classmethod
    def _check_hyper(cls, hyper, info: ValidationInfo):
        if "optimizer" in info.data:
            return get_optimizer(info.data["optimizer"]).hyperparameters(**hyper)
        return hyper

    @field_validator("noise", mode="after")
    @classmethod
    def _check_noise(cls, noise):
        noise_of(noise)
        return noise

    @field_validator("steps", mode="after", check_fields=False)
    @classmethod
    def _check_work(cls, steps, info: ValidationInfo):
        if any(name not in info.data for name in cls.work_needs):
            return steps  # an earlier field failed: that is the error to report
        paths, calls = cls.cost(info.data)
        work = steps * (paths + CALL_COST * calls)
        if work > MAX_WORK:
            most = MAX_WORK // (paths + CALL_COST * calls)
            raise ValueError(
                f"steps × paths is too much work: at most {most} steps for {paths} paths"
                f" ({calls} run{'s' if calls > 1 else ''}); lower steps or the grid"
            )
        return steps

    def gradient_noise(self) -> GradientNoise | None:
        return noise_of(self.noise)

    def core_args(self) -> dict:
        return {
            "landscape": self.bound_landscape(),
            "optimizer": get_optimizer(self.optimizer),
            "hyper": self.hyper,
            "noise": self.gradient_noise(),
            "seed": self.seed,
            "tolerance": self.tolerance,
        }


class _FromStart(ToolIn):
    start: Point | None = Field(None, description="[x, y]; default: the landscape's start")

    @field_validator("start", mode="after")
    @classmethod
    def _check_start(cls, start, info: ValidationInfo):
        landscape = _bound_landscape(info.data)
        if start is None or landscape is None:
            return start
        if landscape.far_outside(*start):
            raise ValueError(f"start {start} lies ten domain widths outside {landscape.domain}")
        if not math.isfinite(landscape.f(*start)):
            raise ValueError(f"the loss at start {start} is not finite")
        return start

    def core_args(self) -> dict:
        args = super().core_args()
        return {**args, "start": tuple(self.start or args["landscape"].start)}


class _LrAxis(_FromStart):
    lr_min: Finite | None = Field(None, gt=0, description="smallest learning rate; null: the optimizer's")
    lr_max: Finite | None = Field(None, gt=0, description="largest learning rate; null: the optimizer's")

    @field_validator("lr_min", "lr_max", mode="after")
    @classmethod
    def _check_lr(cls, value, info: ValidationInfo):
        lr = _optimizer_param(info.data, "lr")
        if value is None or lr is None:
            return value
        if not lr.low <= value <= lr.high:
            raise ValueError(
                f"{info.field_name} must be in [{lr.low:g}, {lr.high:g}] for {info.data['optimizer']}, "
                f"got {value:g}"
            )
        low = info.data.get("lr_min")
        if info.field_name == "lr_max" and low is not None and not low < value:
            raise ValueError(f"lr_max must be more than lr_min = {low:g}, got {value:g}")
        return value

    def lr_range(self) -> tuple[float, float]:
        """The rates' range: as given, or the optimizer's whole range (from 1e-6 at least)."""
        lr = get_optimizer(self.optimizer).params[0]
        low = max(lr.low, 1e-6) if self.lr_min is None else self.lr_min
        high = lr.high if self.lr_max is None else self.lr_max
        return (low, high) if low < high else (lr.low, high)


class RangeIn(_LrAxis):
    points: int = Field(60, ge=2, le=MAX_GRID, description="learning rates on a log grid")
    steps: Steps = Field(150, validate_default=True)

    work_needs: ClassVar = ("points",)

    @staticmethod
    def cost(data):
        return data["points"], 1


class HyperMapIn(_LrAxis):
    optimizer: OptimizerName = "momentum"
    nx: int = Field(60, ge=2, le=MAX_GRID, description="learning rates (columns) on a log grid")
    y: str | None = Field(
        None,
        max_length=32,
        validate_default=True,
        description="the row axis: a hyperparameter of the optimizer other than lr, or batch_size (needs "
        "noise); null: γ, β1 or ρ where the optimizer has one, else batch_size with noise",
    )
    y_min: Finite | None = Field(None, description="first row value; null: the axis's default range")
    y_max: Finite | None = Field(None, description="last row value")
    ny: int = Field(
        40, ge=2, le=MAX_GRID, description="rows (fewer for batch sizes: each a whole number once)"
    )
    steps: Steps = Field(300, validate_default=True)

    work_needs: ClassVar = ("nx", "ny", "y", "noise")

    @staticmethod
    def cost(data):
        if data["y"] == BATCH:
            return data["nx"] * data["ny"], data["ny"]
        return data["nx"] * data["ny"], 1

    @field_validator("y", mode="after")
    @classmethod
    def _check_y(cls, y, info: ValidationInfo):
        if "optimizer" not in info.data or "noise" not in info.data:
            return y
        spec = get_optimizer(info.data["optimizer"])
        names = [p.name for p in spec.params if p.name != "lr"]
        noise = info.data["noise"]
        if y is None:
            y = next((n for n in DECAYS if n in names), BATCH)
            if y == BATCH and noise is None:
                raise ValueError(f"{spec.name} has no γ, β1 or ρ: name y, or add noise for a batch_size axis")
        if y == BATCH:
            if noise is None:
                raise ValueError("a batch_size axis needs noise: the batch size sets the gradient noise")
        elif y not in names:
            raise ValueError(f"y must be one of {', '.join([*names, BATCH])} for {spec.name}, got {y!r}")
        return y

    @field_validator("y_min", "y_max", mode="after")
    @classmethod
    def _check_y_range(cls, value, info: ValidationInfo):
        if value is None or not {"optimizer", "noise", "y"} <= info.data.keys() or info.data["y"] is None:
            return value  # an earlier field failed: that is the error to report
        p = _y_param(info.data)
        if p is None:
            return value
        if not p.low <= value <= p.high:
            raise ValueError(
                f"{info.field_name} must be in [{p.low:g}, {p.high:g}] for {p.name}, got {value:g}"
            )
        low = info.data.get("y_min")
        if info.field_name == "y_max" and low is not None and not low < value:
            raise ValueError(f"y_max must be more than y_min = {low:g}, got {value:g}")
        if info.field_name == "y_min" and not value < p.high:
            raise ValueError(f"y_min must be less than {p.high:g}, the top of {p.name}, got {value:g}")
        return value

    def y_param(self) -> Param:
        p = _y_param({"optimizer": self.optimizer, "y": self.y, "noise": self.noise})
        assert p is not None  # _check_y refuses a batch_size axis without noise
        return p

    def y_range(self) -> tuple[float, float]:
        """The rows' range: as given, or the parameter's (γ, β1, ρ: up to 0.999)."""
        p = self.y_param()
        low = p.low if self.y_min is None else self.y_min
        high = (0.999 if p.name in DECAYS else p.high) if self.y_max is None else self.y_max
        return (low, high) if low < high else (low, p.high)


def _y_param(data: dict) -> Param | None:
    """The Param of the map's row axis (batch_size: 1 to the dataset size)."""
    if data["y"] == BATCH:
        noise = noise_of(data["noise"])
        return None if noise is None else batch_param(noise)
    return _optimizer_param(data, data["y"])


class StartMapIn(ToolIn):
    nx: int = Field(40, ge=2, le=MAX_GRID, description="start points across the domain")
    ny: int = Field(40, ge=2, le=MAX_GRID, description="start points up the domain")
    steps: Steps = Field(500, validate_default=True)

    work_needs: ClassVar = ("nx", "ny")

    @staticmethod
    def cost(data):
        return data["nx"] * data["ny"], 1


class SeedBandIn(_FromStart):
    noise: NoiseIn = Field(description="simulated stochastic gradients: what the seeds vary")
    seeds: int = Field(40, ge=1, le=MAX_SEEDS, description="runs, with seeds seed, seed + 1, ... (mod 2³²)")
    steps: Steps = Field(300, validate_default=True)

    work_needs: ClassVar = ("seeds",)

    @staticmethod
    def cost(data):
        return data["seeds"], 1

    def seed_list(self) -> list[int]:
        return [(self.seed + j) % (SEED_MAX + 1) for j in range(self.seeds)]


class TradeoffIn(_LrAxis):
    noise: NoiseIn = Field(description="simulated stochastic gradients; batch_size is replaced by the grid's")
    nx: int = Field(6, ge=1, le=MAX_TRADEOFF, description="learning rates on a log grid")
    batch_min: int = Field(1, ge=1, le=1_000_000, description="smallest batch size")
    batch_max: int | None = Field(
        None, ge=1, le=1_000_000, description="largest batch size; null: the dataset"
    )
    ny: int = Field(6, ge=1, le=MAX_TRADEOFF, description="batch sizes on a log grid (each once)")
    seeds: int = Field(20, ge=1, le=MAX_TRADEOFF_SEEDS, description="runs per cell: seed, seed + 1, ...")
    steps: Steps = Field(300, validate_default=True)

    work_needs: ClassVar = ("nx", "ny", "seeds")

    @staticmethod
    def cost(data):
        return data["nx"] * data["ny"] * data["seeds"], data["ny"]

    @field_validator("batch_max", mode="after")
    @classmethod
    def _check_batches(cls, batch_max, info: ValidationInfo):
        noise, low = info.data.get("noise"), info.data.get("batch_min")
        if batch_max is None:
            return batch_max
        if noise is not None and batch_max > noise.dataset_size:
            raise ValueError(
                f"batch_max must be at most the dataset size {noise.dataset_size}, got {batch_max}"
            )
        if low is not None and low > batch_max:
            raise ValueError(f"batch_max must be at least batch_min = {low}, got {batch_max}")
        return batch_max

    def seed_list(self) -> list[int]:
        return [(self.seed + j) % (SEED_MAX + 1) for j in range(self.seeds)]

    def batch_range(self) -> tuple[int, int]:
        size = self.noise.dataset_size  # type: ignore[attr-defined]  # NoiseIn is made by create_model
        high = size if self.batch_max is None else self.batch_max
        return min(self.batch_min, high), high


# --- responses -------------------------------------------------------------------------------------

TARGET = "the target: a run reaches it at the first step whose loss is at most this (f* + tolerance)"
STEPS_TO_TARGET = "first step whose loss is at most the target, -1 if never"
ESCAPED = "step at which the run left the domain (loss below f* − tolerance), -1 if never"


class RangeOut(BaseModel):
    lr: list[float]
    loss: list[float] = Field(
        description="loss after `steps` steps (a diverged run: at its last finite point)"
    )
    diverged_at: list[int] = Field(description="step at which each run diverged, 0 if it never did")
    escaped_at: list[int] = Field(description=ESCAPED)
    steps_to_target: list[int] = Field(description=STEPS_TO_TARGET)
    start_loss: float
    target: float = Field(description=TARGET)
    steepest: int = Field(description="index of the steepest fall of log(loss − f*) against log η; -1: none")
    best: int = Field(description="index of the lowest |loss − f*| below the divergence point; -1: none")
    divergence: int = Field(
        description="index of the first rate that diverges, leaves the domain or ends above its start; -1"
    )
    suggested: int = Field(
        description="index of the suggested rate: the fastest to reach the target below the divergence "
        "point, else the closest to it; -1 if even the smallest rate fails"
    )
    suggested_lr: float | None
    reaches: bool = Field(
        description="whether the suggested rate reaches the target (else it is the closest)"
    )


class HyperMapOut(BaseModel):
    lr: list[float] = Field(description="columns")
    y: list[float] = Field(description="rows: values of y_name")
    y_name: str
    final_loss: list[list[float]] = Field(description="[row][column] loss at the end (diverged: last finite)")
    steps_to_target: list[list[int]] = Field(description=STEPS_TO_TARGET)
    diverged_at: list[list[int]] = Field(description="step of divergence, 0 if never: a category of its own")
    escaped_at: list[list[int]] = Field(description=ESCAPED + ": a category of its own")
    target: float = Field(description=TARGET)


class StartMapOut(BaseModel):
    x: list[float]
    y: list[float]
    minimum: list[list[int]] = Field(
        description="[row][column] index into the landscape's minima reached; -1: none reached; -2: diverged"
    )
    steps: list[list[int]] = Field(description="first step at or below that minimum's target; -1 otherwise")
    final_loss: list[list[float]]
    global_share: float = Field(description="share of starts that reach a global minimum")
    tolerance: float
    targets: list[float] = Field(description="each known minimum's target: f there + tolerance")


class FanOut(BaseModel):
    step: list[int] = Field(description="the steps drawn (every k-th, the last included)")
    x: list[list[float]] = Field(description="one list per seed, cut at its divergence")
    y: list[list[float]]


class SeedBandOut(BaseModel):
    seeds: list[int]
    fan: FanOut
    mean: list[float] = Field(
        description="mean loss per step over the runs still counted (see alive); ends when none is"
    )
    low: list[float] = Field(description="10% quantile")
    median: list[float]
    high: list[float] = Field(description="90% quantile")
    alive: list[int] = Field(description="runs that have neither diverged nor left the domain by each step")
    steps_to_target: list[int] = Field(description=STEPS_TO_TARGET)
    diverged_at: list[int]
    escaped_at: list[int] = Field(description=ESCAPED)
    success: float = Field(description="share of runs that reach the target, never leave nor diverge")
    target: float = Field(description=TARGET)


class TradeoffOut(BaseModel):
    lr: list[float]
    batch_size: list[int]
    success: list[list[float]] = Field(description="[batch][rate] share of seeds reaching the target")
    mean_steps: list[list[float]] = Field(description="mean steps to the target of those; -1 if none did")
    seeds: int
