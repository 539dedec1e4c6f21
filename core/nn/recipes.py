"""Named training configurations: the seed's recipes and what each page starts from.

A recipe names only the TrainConfig fields it sets; every other field keeps its default (see
core/nn/config.py). The network pages read them from GET /api/networks (`recipes`), `descent train`
takes its defaults from the seed's MNIST recipe, and bench/mnist_recipes.py runs the seed's three.

    RECIPES["seed_mnist"].config()                  # the TrainConfig
    RECIPES["seed_mnist"].config(epochs=1)          # with fields overridden
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.nn.config import TrainConfig
from core.params import by_name

SEED_MNIST = {
    "dataset": "mnist",
    "hidden": ((600, "relu"),),
    "optimizer": "sgd",
    "hyper": {"lr": 0.02},
    "batch_size": 16,
    "epochs": 25,
    "l2": 2e-4,
}
MNIST_SUBSET = {"train_size": 10_000, "test_size": 2_000}  # an epoch in seconds on two cores
MOONS_16_16 = {"dataset": "moons", "hidden": ((16, "relu"), (16, "relu"))}


@dataclass(frozen=True)
class Recipe:
    name: str
    label: str
    description: str
    fields: Mapping[str, object]  # the TrainConfig fields it sets, in the core's terms

    def config(self, **overrides) -> TrainConfig:
        return TrainConfig(**{**self.fields, **overrides})


RECIPES: dict[str, Recipe] = by_name(
    [
        Recipe(
            "seed_mnist",
            "The seed's MNIST recipe",
            "784-600-10, ReLU then softmax, He then Xavier, SGD η 0.02, batch 16, L2 2e-4, 25 epochs on"
            " every image (the seed reports 98.03 % test accuracy)",
            SEED_MNIST,
        ),
        Recipe(
            "mnist_page",
            "The MNIST page's start",
            "the seed's recipe on a 10,000/2,000-image subset for 10 epochs, evaluated every 125 steps",
            {**SEED_MNIST, "data": MNIST_SUBSET, "epochs": 10, "eval_every": 125, "eval_train_size": 2000},
        ),
        Recipe(
            "seed_pytorch",
            "The seed's PyTorch recipe",
            "784-600-10, Adam η 2e-4, batch 32, 30 epochs, torch's weight_decay 1e-3 as an L2 term"
            " (our L2 adds 2λw: λ = 5e-4)",
            {**SEED_MNIST, "optimizer": "adam", "hyper": {"lr": 2e-4}, "batch_size": 32, "epochs": 30}
            | {"l2": 5e-4},
        ),
        Recipe(
            "playground",
            "The playground's start",
            "moons, 2-16-16-2 with ReLU, Adam η 0.01, batch 16, 200 epochs",
            {**MOONS_16_16, "optimizer": "adam", "hyper": {"lr": 0.01}, "epochs": 200},
        ),
        Recipe(
            "seed_moons",
            "The seed's moons comparison",
            "its nonlinear network: 16 ReLU then 16 sigmoid units, plain SGD η 0.1, batch 16, 200 epochs"
            " (the linear one has no hidden layer)",
            {
                "dataset": "moons",
                "hidden": ((16, "relu"), (16, "sigmoid")),
                "optimizer": "sgd",
                "hyper": {"lr": 0.1},
                "epochs": 200,
            },
        ),
        Recipe(
            "tools_points",
            "The tuning tools' start on 2D points",
            "moons, 2-16-16-2 with ReLU, momentum η 0.05 γ 0.9, batch 16, 10 epochs",
            {**MOONS_16_16, "optimizer": "momentum", "hyper": {"lr": 0.05, "gamma": 0.9}, "epochs": 10},
        ),
        Recipe(
            "tools_images",
            "The tuning tools' start on images",
            "MNIST, 784-100-10 with ReLU, Adam η 0.001, batch 64, 3 epochs",
            {
                "dataset": "mnist",
                "hidden": ((100, "relu"),),
                "optimizer": "adam",
                "hyper": {"lr": 0.001},
                "batch_size": 64,
                "epochs": 3,
            },
        ),
    ]
)
