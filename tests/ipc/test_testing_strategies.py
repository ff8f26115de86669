"""Strategies derived from schemas: every value they generate is one the typed decoder accepts."""
from __future__ import annotations

import datetime
import enum
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NamedTuple, TypedDict

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.ipc.schemas import registry
from carnel.ipc.testing import payloads_for, strategies, strategy_for


def round_trips(message_type: type, value) -> None:
    """Encoded and decoded with the type's decoder, it is the same value, or where NaN makes
    values unequal to themselves, encodes to the same bytes again."""
    encoded = msgspec.msgpack.encode(value)
    decoded = msgspec.msgpack.Decoder(message_type).decode(encoded)
    assert decoded == value or msgspec.msgpack.encode(decoded) == encoded


@pytest.mark.parametrize("message_type", registry.message_types(), ids=lambda t: t.__name__)
@given(data=st.data())
def test_every_schema_s_values_round_trip_through_its_decoder(message_type, data):
    value = data.draw(strategy_for(message_type))
    assert isinstance(value, message_type)
    round_trips(message_type, value)


def test_there_is_a_strategy_for_every_schema():
    assert set(strategies()) == set(registry.message_types())


class Gear(enum.Enum):
    PARK = "P"
    DRIVE = "D"


class Point(NamedTuple):
    x: float
    y: float


class Extra(TypedDict, total=False):
    note: str


@dataclass
class Window:
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a window ends after it starts")


class Reading(msgspec.Struct, frozen=True, kw_only=True, tag="test_reading"):
    sensor: Annotated[str, msgspec.Meta(min_length=2, max_length=8, pattern="^[a-z]+$")]
    level: Annotated[int, msgspec.Meta(ge=-5, lt=10)]
    step: Annotated[int, msgspec.Meta(multiple_of=7, gt=0, le=70)] = 7
    ratio: Annotated[float, msgspec.Meta(gt=0.0, le=1.0)] = 0.5
    quarter: Annotated[float, msgspec.Meta(multiple_of=0.25, ge=-1.0, le=1.0)] = 0.0
    tags: Annotated[list[str], msgspec.Meta(min_length=1, max_length=3)] = msgspec.field(
        default_factory=lambda: ["a"])
    unique: frozenset[int] = frozenset()
    gear: Gear = Gear.PARK
    mode: Literal["eco", "sport", None] = None
    where: Point | None = None
    extra: Extra = {}
    window: Window | None = None
    when: datetime.datetime | None = None
    day: datetime.date | None = None
    ident: uuid.UUID | None = None
    blob: bytes = b""
    counts: dict[str, int] = {}
    pair: tuple[int, str] = (0, "")
    anything: Any = None


class Node(msgspec.Struct, frozen=True, tag="test_node"):
    """A recursive type: a tree."""

    label: str
    children: list[Node] = []


@given(strategy_for(Reading))
def test_a_developer_s_struct_with_constraints_gets_values_within_them(reading):
    round_trips(Reading, reading)
    assert reading.window is None or reading.window.start <= reading.window.end


@given(strategy_for(Node))
def test_a_recursive_struct_gets_finite_trees(node):
    round_trips(Node, node)


@given(payloads_for(Reading))
def test_payloads_are_what_a_publisher_sends(payload):
    assert isinstance(msgspec.msgpack.Decoder(Reading).decode(payload), Reading)


class Opaque:
    """A type msgspec carries only through hooks."""

    def __init__(self, code: int) -> None:
        self.code = code


class WithOpaque(msgspec.Struct, tag="test_opaque"):
    thing: Opaque


st.register_type_strategy(Opaque, st.builds(Opaque, st.integers(0, 9)))


@given(strategy_for(WithOpaque))
def test_a_hooked_type_takes_the_strategy_registered_for_it(value):
    assert 0 <= value.thing.code <= 9
