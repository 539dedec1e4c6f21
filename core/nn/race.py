"""A race of optimizers on one network: every racer starts from the same weights and sees the same
mini-batches in the same order, so their curves differ only because of the optimizer.

One seed decides both: a racer's TrainConfig is the race's with its own optimizer and hyperparameters
(`racer_configs`), and `train` draws the initial weights and each epoch's batch order from the seed
alone (every epoch event carries a digest of its order, so fairness can be checked, not assumed).

    race = Race(base, [Racer("sgd", {"lr": 0.1}), Racer("adam", {"lr": 0.01})])
    for k, event in race.events():           # racer k's training events, interleaved
        ...
    race.trajectories[k].points()            # its weight snapshots, for the loss surface

The server trains each racer in a process of its own (app/races.py) and keeps the same
`Trajectory`s; the command line runs them here, in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from core.data.own import Data
from core.nn.config import TrainConfig
from core.nn.events import LAST, Event
from core.nn.network import Network
from core.nn.surface import Plane, finite_lists, interpolation, plane, surface
from core.nn.training import load_data, network_for, targets, train
from core.optimizers import get_optimizer
from core.params import Param, by_name

MIN_RACERS, MAX_RACERS = 2, 6
MAX_SNAPSHOTS = 64  # kept per racer: past that every other one goes and snapshots come half as often
SNAPSHOT_BYTES = 32 * 2**20  # and at most this much of them (16 snapshots of the seed's MNIST network)
RESOLUTION = Param(
    "resolution", "surface points per axis", 21, 5, 61, integer=True, help="odd: the centre is a point"
)
SURFACE_EVERY = Param(
    "every", "epochs between surface recomputations", 5, 0, 1000, integer=True, help="0: on demand only"
)


@dataclass(frozen=True)
class Racer:
    optimizer: str
    hyper: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "hyper", get_optimizer(self.optimizer).hyperparameters(**self.hyper))


def racer_configs(base: TrainConfig, racers: list[Racer]) -> list[TrainConfig]:
    """Each racer's config: the race's, with its optimizer and hyperparameters; a ValueError for a
    race of too few or too many."""
    if not MIN_RACERS <= len(racers) <= MAX_RACERS:
        raise ValueError(f"a race has {MIN_RACERS} to {MAX_RACERS} racers, got {len(racers)}")
    return [replace(base, optimizer=r.optimizer, hyper=dict(r.hyper)) for r in racers]


class Trajectory:
    """A racer's weight snapshots (float32 copies), at most MAX_SNAPSHOTS of them (fewer for a network
    so large that they would pass SNAPSHOT_BYTES): when full, every other one is dropped (the first
    always stays) and only every `stride`-th offered one is kept."""

    def __init__(self, cap: int = MAX_SNAPSHOTS):
        self.cap, self.stride, self.offered = cap, 1, 0  # the cap shrinks to SNAPSHOT_BYTES' worth
        self.steps: list[int] = []
        self.weights: list[np.ndarray] = []

    def offer(self, step: int, params: np.ndarray) -> bool:
        """Keep this snapshot if it is due; True if kept."""
        self.offered += 1
        if (self.offered - 1) % self.stride:
            return False
        self.cap = max(2, min(self.cap, SNAPSHOT_BYTES // (4 * max(1, params.size))))
        if len(self.steps) >= self.cap:
            self.steps, self.weights = self.steps[::2], self.weights[::2]
            self.stride *= 2
        self.steps.append(step)
        self.weights.append(np.array(params, dtype=np.float32))
        return True

    def points(self) -> np.ndarray:
        """(snapshots, parameters)."""
        return np.stack(self.weights) if self.weights else np.empty((0, 0), np.float32)

    def __len__(self) -> int:
        return len(self.steps)


class Race:
    """The racers of one race trained in turn in this process (the command line's race)."""

    def __init__(self, base: TrainConfig, racers: list[Racer], split: Data | None = None):
        self.configs = racer_configs(base, racers)
        self.racers = racers
        self.split = split if split is not None else load_data(base)
        self.nets: list[Network] = [network_for(c, self.split) for c in self.configs]
        self.initial = self.nets[0].params.copy()
        self.trajectories = [Trajectory() for _ in racers]

    def events(self) -> Iterator[tuple[int, Event]]:
        """(racer, event) pairs, one event of each unfinished racer in turn, until all have ended.
        A snapshot of a racer's weights is kept at each of its evaluations."""
        runs = {
            k: train(config, None, self.split, net)
            for k, (config, net) in enumerate(zip(self.configs, self.nets, strict=True))
        }
        while runs:
            for k in list(runs):
                event = next(runs[k], None)
                if event is None:
                    del runs[k]
                    continue
                if event["type"] == "eval":
                    self.trajectories[k].offer(event["step"], self.nets[k].params)
                yield k, event
                if event["type"] in LAST:
                    del runs[k]


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    description: str
    training: Mapping[str, object]  # TrainConfig fields
    racers: tuple[Racer, ...]
    surface: Mapping[str, object]


# Cohen et al.'s conditions (MSE on a linear output, tanh layers, a small image subset, full batch):
# three tanh layers sharpen from λmax ≈ 22 past 2/η for each η here (bench/edge_of_stability.py).
EDGE_OF_STABILITY = {
    "dataset": "mnist",
    "data": {"train_size": 500, "test_size": 1000},
    "hidden": ((200, "tanh"), (200, "tanh"), (200, "tanh")),
    "output": "linear",
    "loss": "mse",
    "init": "xavier",
    "output_init": "xavier",
    "batch_size": 500,  # the whole training set: gradient descent (an epoch is one step)
    "epochs": 10_000,
    "sharpness_every": 100,
}
EDGE_OF_STABILITY_RATES = (0.08, 0.07, 0.06)  # 2/η = 25, 28.6, 33.3

PRESETS: dict[str, Preset] = by_name(
    [
        Preset(
            "moons",
            "Three optimizers on moons",
            "SGD, momentum and Adam on a 16-16 ReLU network, from the same weights and batches",
            {
                "dataset": "moons",
                "hidden": ((16, "relu"), (16, "relu")),
                "batch_size": 16,
                "epochs": 30,
                "sharpness_every": 25,
            },
            (Racer("sgd", {"lr": 0.1}), Racer("momentum", {"lr": 0.05}), Racer("adam", {"lr": 0.01})),
            {"kind": "pca", "resolution": 21, "every": 5},
        ),
        Preset(
            "edge_of_stability",
            "Edge of stability",
            "Full-batch gradient descent at three step sizes on 784-200-200-200-10 tanh, MSE, 500 MNIST"
            " images: λmax rises to 2/η and hovers there while the loss keeps falling (Cohen et al., 2021)",
            EDGE_OF_STABILITY,
            tuple(Racer("sgd", {"lr": lr}) for lr in EDGE_OF_STABILITY_RATES),
            {"kind": "pca", "resolution": 21, "every": 0},
        ),
    ]
)


ALPHAS = np.linspace(-0.5, 1.5, 41)  # the 1D interpolation's α: from before the start to past the end
SURFACE_EXAMPLES = 1000  # the fixed evaluation subset of a race's surface: the first training examples


def surface_examples(split: Data) -> tuple[np.ndarray, np.ndarray]:
    """The surface's evaluation subset as (inputs, the network's targets), for classes or a regression."""
    rows = slice(0, SURFACE_EXAMPLES)
    return split.x_train[rows], targets(split)[rows]


def race_surface(
    net: Network,
    x: np.ndarray,
    y: np.ndarray,
    initial: np.ndarray,
    trajectories: Sequence[tuple[Sequence[int], np.ndarray]],
    kind: str,
    resolution: int,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict, Plane]:
    """The `surface` event of a race, and its plane (core/nn/surface.py): the loss over a grid on the
    plane through the shared initial weights (PCA of the racers' paths, or filter-normalized random),
    each racer's projected path with the steps of its snapshots, and the loss along the straight line
    from the initial weights to each racer's latest weights (Goodfellow, Vinyals and Saxe, 2015).

    `trajectories`: each racer's (steps, (snapshots, parameters) weights); `net` gives the network's
    shape; (x, y) is the fixed evaluation subset. While the paths are too short for PCA (they do not
    yet spread in two directions) the plane is random, and the event's `note` says so."""
    walked = [points for _, points in trajectories]
    note = None
    try:
        on = plane(net, [w for w in walked if len(w)], initial, kind, seed)
    except ValueError as e:  # too few snapshots yet for two principal directions
        if kind != "pca":
            raise
        on = plane(net, walked, initial, "random", seed)
        note = f"drawn on random directions: {e}"
    event = {
        "type": "surface",
        **surface(net, x, y, walked, initial, resolution=resolution, progress=progress, on=on),
        "note": note,
    }
    event["paths"] = [
        {"racer": k, "step": list(steps), "a": [p[0] for p in path], "b": [p[1] for p in path]}
        for k, ((steps, _), path) in enumerate(zip(trajectories, event["paths"], strict=True))
    ]
    ends = [w[-1] for w in walked if len(w)]
    line = interpolation(net, x, y, initial, ends, ALPHAS) if ends else np.zeros((0, len(ALPHAS)))
    event["interpolation"] = {"alpha": ALPHAS.tolist(), "loss": finite_lists(line)}
    return event, on
