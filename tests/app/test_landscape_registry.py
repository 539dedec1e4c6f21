"""The landscapes' minima as the pages read them: the core registry's, field for field."""

import pytest

from core.landscape.landscapes import LANDSCAPES


@pytest.mark.parametrize("name", list(LANDSCAPES))
def test_registry_json_carries_every_minimum_and_the_many_minima_flag(client, name):
    (doc,) = [ls for ls in client.get("/api/registry").json()["landscapes"] if ls["name"] == name]
    ls = LANDSCAPES[name]
    assert doc["many_minima"] is ls.many_minima
    assert doc["minima"] == [
        {"x": m.x, "y": m.y, "value": m.value, "is_global": m.is_global} for m in ls.minima
    ]
