"""The training configuration's declaration: every field has its Option, and every recipe is valid."""

import dataclasses

import pytest

from core.nn.config import KINDS, LIVE, OPTIONS, TrainConfig
from core.nn.recipes import RECIPES


def test_every_field_is_declared_once_in_field_order():
    assert list(OPTIONS) == [f.name for f in dataclasses.fields(TrainConfig)]
    defaults = TrainConfig()
    for name, option in OPTIONS.items():
        assert option.kind in KINDS
        assert getattr(defaults, name) == option.default, name
        if option.kind == "number":
            assert option.param.name == name, "a number's Param names its field"
            assert option.param.low <= option.served_default <= option.high <= option.param.high
        if option.kind == "choice":
            assert option.optional or option.default in option.choices


@pytest.mark.parametrize("name", [n for n, o in OPTIONS.items() if o.kind == "number"])
def test_every_number_is_checked_against_its_range(name):
    option = OPTIONS[name]
    with pytest.raises(ValueError, match=f"{name} must be in"):
        TrainConfig(**{name: option.param.high + 1})


def test_the_live_options_are_the_regularization_terms_and_clipping():
    assert LIVE == ("l1", "l2", "max_norm", "clip_norm")
    assert TrainConfig(l2=0.25, clip_norm=3.0).live_values() == {
        "l1": 0.0,
        "l2": 0.25,
        "max_norm": 0.0,
        "clip_norm": 3.0,
    }


def test_links_name_each_field_at_most_once():
    keys = [o.key for o in OPTIONS.values() if o.key]
    assert len(keys) == len(set(keys))
    assert not OPTIONS["chunk"].key and OPTIONS["chunk"].internal


def test_norm_names_come_from_the_norms_registry():
    from core.nn.norms import NORMS

    assert OPTIONS["norm"].choices == tuple(NORMS) and OPTIONS["norm"].optional


@pytest.mark.parametrize("name", RECIPES)
def test_every_recipe_is_a_valid_configuration_of_fields_it_names(name):
    recipe = RECIPES[name]
    assert set(recipe.fields) <= set(OPTIONS)
    config = recipe.config()
    for field, value in recipe.fields.items():
        assert getattr(config, field) == value


def test_the_seeds_mnist_recipe():
    c = RECIPES["seed_mnist"].config()
    assert (c.dataset, c.hidden, c.output, c.init, c.output_init) == (
        "mnist",
        ((600, "relu"),),
        "softmax",
        "he",
        "xavier",
    )
    assert (c.optimizer, dict(c.hyper), c.batch_size, c.epochs, c.l2) == ("sgd", {"lr": 0.02}, 16, 25, 2e-4)
