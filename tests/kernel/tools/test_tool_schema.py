"""`carnel schema` on what a user types: subjects, type names, and subjects the bus refuses."""
from __future__ import annotations

import argparse
import json

import pytest

from carnel.kernel.tools import schema
from carnel.kernel.tools.session import EXIT_OK, EXIT_USAGE, ToolError


def run(subject: str | None, as_json: bool = False) -> int:
    return schema.run(argparse.Namespace(subject=subject, json=as_json), directory=None)


@pytest.mark.parametrize("as_json", [False, True])
@pytest.mark.parametrize("subject, reason", [
    ("vehicle.*", "'vehicle.*': wildcards are allowed only in SUB and UNSUB"),
    (">", "'>': wildcards are allowed only in SUB and UNSUB"),
    ("", "'': subject is empty"),
    ("a..b", "'a..b': token 2 is empty"),
])
def test_a_subject_the_bus_would_refuse_is_a_usage_error_as_in_pub(subject, reason, as_json):
    with pytest.raises(ToolError) as caught:
        run(subject, as_json)
    assert str(caught.value) == reason
    assert caught.value.code == EXIT_USAGE


@pytest.mark.parametrize("name", ["vehicle.Speed", "Signal", "signal_query"])
def test_subjects_type_names_and_tags_are_still_described(name, capsys):
    assert run(name) == EXIT_OK
    assert "FIELD" in capsys.readouterr().out


@pytest.mark.parametrize("pattern, type_name", [("vehicle.>", "Signal"),
                                                ("kernel.process.*", "ProcessStateChanged")])
def test_a_declared_pattern_typed_back_from_the_listing_is_described(pattern, type_name, capsys):
    assert run(pattern) == EXIT_OK
    assert capsys.readouterr().out.startswith(f"{pattern}: published as {type_name}\n\n")
    assert run(pattern, as_json=True) == EXIT_OK
    described = json.loads(capsys.readouterr().out)
    assert described["pattern"] == pattern and type_name in described["published"]["$defs"]
