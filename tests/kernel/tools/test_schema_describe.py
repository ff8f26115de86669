"""`carnel schema`'s text: types with their fields, subjects with their types."""
from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import msgspec.inspect as mi

from carnel.ipc.schemas import registry
from carnel.ipc.schemas.vehicle import Signal, SignalValues
from carnel.kernel.tools.describe import (
    carried, catalogue, describe_subject, describe_type, describe_types, type_text)


class Tyre(msgspec.Struct, frozen=True, kw_only=True, tag="test_tyre"):
    """One tyre's pressure."""

    position: Literal["front_left", "front_right"]
    kpa: Annotated[float, msgspec.Meta(ge=0, le=500)]
    label: Annotated[str, msgspec.Meta(max_length=8, pattern="^[A-Z]+$")] = "OK"
    history: list[float] = []


def test_a_type_shows_its_tag_docstring_and_each_field_s_type_and_default():
    lines = describe_type(Tyre).splitlines()
    assert lines[0] == 'Tyre (tag "test_tyre"): One tyre\'s pressure.'
    rows = {line.split()[0]: line for line in lines[2:]}
    assert rows["position"].split(None, 1)[1].startswith('"front_left" | "front_right"')
    assert "float >= 0 <= 500" in rows["kpa"] and rows["kpa"].endswith("required")
    assert "length <= 8 matching '^[A-Z]+$'" in rows["label"] and rows["label"].endswith('"OK"')
    assert rows["history"].endswith("[]")


def test_struct_fields_bring_their_own_description_once():
    text = describe_types(SignalValues, Signal)
    assert text.count("Signal (tag \"signal\")") == 1 and "list[Signal]" in text


def test_a_published_subject_names_the_pattern_that_declares_it():
    text = describe_subject("vehicle.Speed")
    assert text.startswith("vehicle.Speed: published as Signal (declared for vehicle.>)")
    assert "value         float | int | bool | str  required" in text


def test_a_method_shows_request_and_reply_not_the_wildcard_topic_beside_it():
    assert carried("vehicle.get") == (None, registry.method("vehicle.get"))
    text = describe_subject("vehicle.get")
    assert text.startswith("vehicle.get: request SignalQuery, reply SignalValues")
    assert "published" not in text


def test_an_undeclared_subject_is_none():
    assert describe_subject("nowhere.at.all") is None


def test_the_catalogue_lists_every_declared_topic_and_method():
    text = catalogue()
    for topic in registry.topics():
        assert f"  {topic.pattern} " in text
    for method in registry.methods():
        assert f"  {method.subject} " in text


def test_nested_types_read_as_written():
    assert type_text(mi.type_info(dict[str, list[int | None]])) == "dict[str, list[int | null]]"
