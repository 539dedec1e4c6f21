"""What the network pages' JavaScript names by hand, checked against the training schema they otherwise
read from GET /api/networks (core/nn/config.py and core/nn/recipes.py): a field renamed or a recipe
dropped in the core fails here, not in a user's browser."""

import re
from pathlib import Path

import pytest

from core.nn.config import LIVE, OPTIONS
from core.nn.events import KINDS
from core.nn.recipes import RECIPES

STATIC = Path(__file__).resolve().parents[2] / "static"
PAGES = ["mnist.js", "playground.js", "network_tools.js"]  # each builds its link on the schema's fields


def source(name: str) -> str:
    return (STATIC / name).read_text()


def test_the_schemas_link_keys_are_its_own_and_the_pages_keys_are_others():
    schema = [o.key for o in OPTIONS.values() if o.key]
    assert len(schema) == len(set(schema)), "two fields share a link key"
    for page in PAGES:
        own = re.findall(r'\{ name: "\w+", key: "(\w+)"', source(page))
        assert own, f"{page} declares no link fields of its own: has the pattern changed?"
        assert not set(own) & set(schema), f"{page} reuses a training field's link key"


@pytest.mark.parametrize("page", PAGES)
def test_the_recipes_a_page_starts_from_exist(page):
    text = source(page)
    named = re.findall(r'recipe\(cat, "(\w+)"', text) + re.findall(r"cat\.recipes\.(\w+)", text)
    assert named, f"{page} names no recipe: has the pattern changed?"
    assert set(named) <= set(RECIPES)


def test_the_training_fields_the_pages_name_exist():
    text = "".join(source(page) for page in [*PAGES, "run_form.js"])
    lists = re.findall(r"(?:trainingParams\s*[:=]|evalParams =)\s*\[([^\]]*)\]", text)
    named = {name for items in lists for name in re.findall(r'"(\w+)"', items)}
    named |= set(re.findall(r'f\.name !== "(\w+)"', text))
    assert {"batch_size", "epochs", "seed", "eval_train_size"} <= named, "the patterns still find them"
    assert named <= set(OPTIONS)


def test_every_live_option_has_a_short_label_for_the_marks_on_the_curves():
    labels = re.search(r"SETTING_LABELS = \{([^}]*)\}", source("charts.js"))
    assert labels, "charts.js's SETTING_LABELS: has the pattern changed?"
    assert set(LIVE) <= set(re.findall(r"(\w+):", labels.group(1)))


def test_the_pages_read_live_settings_and_link_fields_from_the_schema():
    config = source("run_config.js")
    assert "net.config.filter((f) => f.live" in config and "configFields(net.config)" in config
    for page in PAGES:
        assert "cat.fields" in source(page) or "recipe(cat" in source(page)
        for name in LIVE:  # no hand-written list of the live options left
            assert f'"{name}"' not in source(page), f"{page} names the live option {name}"


def test_the_pages_listen_for_every_kind_of_training_event():
    """run_data.js's list of event types: the core's kinds, and `history`, the server's backlog for a
    subscriber who arrives late (app/runs.py)."""
    listed = re.search(r"EVENT_TYPES = \[([^\]]*)\]", source("run_data.js"))
    assert listed, "run_data.js's EVENT_TYPES: has the pattern changed?"
    assert set(re.findall(r'"(\w+)"', listed.group(1))) == {*KINDS, "history"}
