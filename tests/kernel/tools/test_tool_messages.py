"""Reading JSON into a subject's type, and decoding any payload for display."""
from __future__ import annotations

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.ipc.schemas import registry
from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.trip import Trip
from carnel.ipc.schemas.vehicle import Signal, SignalBatch, SignalQuery, SignalValues
from carnel.ipc.testing import malformed_payloads, strategy_for
from carnel.kernel.tools.messages import (
    InputError, UnknownFields, decode, from_json, named_type, published_type, request_types,
    unknown_fields)
from carnel.kernel.tools.session import EXIT_USAGE


class Part(msgspec.Struct, frozen=True, kw_only=True, tag="test_part"):
    name: str


class Spacer(msgspec.Struct, frozen=True, kw_only=True, tag="test_spacer"):
    size: int = 0


class Assembly(msgspec.Struct, frozen=True, kw_only=True, tag="test_assembly"):
    parts: dict[str, Part] = {}
    pair: tuple[Part, Spacer] | None = None
    either: Part | Spacer | None = None
    labels: dict[str, int] = {}


def test_json_is_read_into_the_type():
    assert from_json('{"metres": 5}', Trip, "trip.distance") == Trip(metres=5.0)


def test_a_wrong_field_is_named_with_what_was_expected():
    with pytest.raises(InputError) as caught:
        from_json('{"metres": "far"}', Trip, "trip.distance")
    assert str(caught.value) == ("trip.distance takes a Trip: Expected `float`, got `str` - at "
                                 "`$.metres`")
    assert caught.value.code == EXIT_USAGE


def test_a_missing_field_and_bad_json_are_usage_errors():
    with pytest.raises(InputError, match="missing required field `path`"):
        from_json('{"value": 1}', Signal, "vehicle.Speed")
    with pytest.raises(InputError, match="not JSON"):
        from_json("{value", Signal, "vehicle.Speed")


def test_an_unknown_field_is_refused_naming_it_the_type_and_the_type_s_fields():
    with pytest.raises(InputError) as caught:
        from_json('{"pathz": ["Vehicle.Speed"]}', SignalQuery, "vehicle.get")
    assert str(caught.value) == ("vehicle.get takes a SignalQuery, which has no field `pathz`: "
                                 "its fields are paths")
    assert caught.value.code == EXIT_USAGE
    with pytest.raises(InputError, match="has no fields `unitt`, `b`: its fields are path, value, "
                                         "unit, timestamp_ns, source, stale$"):
        from_json('{"path": "a", "value": 1, "unitt": "x", "b": 2}', Signal, "vehicle.Speed")
    with pytest.raises(InputError, match="^trip.reset takes an Empty, which has no field `x`: it "
                                         "has no fields$"):
        from_json('{"x": 1}', Empty, "trip.reset")


def test_an_unknown_field_in_a_nested_struct_is_refused_with_where_it_is():
    text = '{"signals": [{"path": "a", "value": 1}, {"path": "b", "value": 2, "unitt": "x"}]}'
    with pytest.raises(InputError, match=r"^can.signals.X takes a SignalBatch: the Signal at "
                                         r"`\$.signals\[1\]` has no field `unitt`: its fields"):
        from_json(text, SignalBatch, "can.signals.X")


def test_the_tag_may_be_written_out_and_a_wrong_one_is_still_refused():
    signal = from_json('{"type": "signal", "path": "a", "value": 1}', Signal, "vehicle.Speed")
    assert signal == Signal(path="a", value=1)
    with pytest.raises(InputError, match="Invalid value 'trip' - at `\\$.type`"):
        from_json('{"type": "trip", "path": "a", "value": 1}', Signal, "vehicle.Speed")


@pytest.mark.parametrize("plain, expected", [
    ({"parts": {"a": {"name": "x", "colour": 1}}},
     UnknownFields("Part", ("colour",), ("name",), "$.parts[...]")),
    ({"pair": [{"name": "x"}, {"size": 1, "weight": 2}]},
     UnknownFields("Spacer", ("weight",), ("size",), "$.pair[1]")),
    ({"either": {"type": "test_spacer", "weight": 2}},
     UnknownFields("Spacer", ("weight",), ("size",), "$.either")),
    ({"either": {"type": "test_part", "name": "x"}, "labels": {"any": 1}}, None),
    ({"either": {"type": "not_a_tag", "weight": 2}}, None),  # the typed decoder refuses that
])
def test_unknown_fields_are_found_through_dicts_tuples_and_tagged_unions(plain, expected):
    assert unknown_fields(plain, mi.type_info(Assembly)) == expected


@given(st.sampled_from(registry.message_types()).flatmap(
    lambda message_type: st.tuples(st.just(message_type), strategy_for(message_type))))
def test_every_valid_message_has_no_unknown_field_and_one_added_is_found(typed_message):
    message_type, message = typed_message
    plain = msgspec.json.decode(msgspec.json.encode(message))
    info = mi.type_info(message_type)
    assert unknown_fields(plain, info) is None
    assert unknown_fields({**plain, "unknown_field": 1}, info).names == ("unknown_field",)


def test_a_number_out_of_range_is_refused_at_its_field():
    with pytest.raises(InputError, match="^vehicle.Speed takes a Signal: Number out of range - at "
                                         "`\\$.value`$"):
        from_json('{"path": "a", "value": 1e400}', Signal, "vehicle.Speed")


def test_an_integer_the_bus_cannot_carry_is_a_usage_error_not_a_crash():
    with pytest.raises(InputError, match="^vehicle.Speed takes a Signal: an integer in that JSON "
                                         "is too large: the bus carries integers of at most 64"):
        from_json('{"path": "a", "value": 123456789012345678901234567890}', Signal,
                  "vehicle.Speed")


def test_json_nested_too_deeply_is_a_usage_error_not_a_crash():
    deep = '{"path": "a", "value": 1, "extra": ' + "[" * 100_000 + "}"
    with pytest.raises(InputError, match="nested too deeply"):
        from_json(deep, Signal, "vehicle.Speed")


def test_the_declared_type_of_a_subject_is_found_or_the_error_says_how_to_give_one():
    assert published_type("can.signals.ENGINE") is SignalBatch
    assert published_type("x.y", "Trip") is Trip
    assert published_type("x.y", "trip") is Trip
    with pytest.raises(InputError, match="pass --type"):
        published_type("x.y")
    with pytest.raises(InputError, match="no message type named 'Nope'"):
        named_type("Nope")


def test_the_unknown_type_error_lists_only_types_a_subject_may_carry():
    with pytest.raises(InputError) as caught:
        named_type("Nope")
    listed = str(caught.value).split("(types: ")[1].rstrip(")").split(", ")
    assert {"Signal", "SignalQuery", "Empty", "Trip", "BusStats"} <= set(listed)
    assert not {"Hello", "Welcome", "Taken", "ErrorReply"} & set(listed)
    assert named_type("Hello").__name__ == "Hello"  # still described by carnel schema Hello


def test_type_may_not_name_another_type_than_the_subject_s_declared_one():
    assert published_type("vehicle.Speed", "signal") is Signal
    with pytest.raises(InputError) as caught:
        published_type("vehicle.Speed", "Trip")
    assert str(caught.value).startswith("vehicle.Speed carries a Signal, not a Trip: ")
    assert caught.value.code == EXIT_USAGE
    assert request_types("vehicle.get", "SignalQuery") == (SignalQuery, SignalValues)
    with pytest.raises(InputError, match="^vehicle.get takes a SignalQuery, not an Empty: "):
        request_types("vehicle.get", "Empty")


def test_a_method_s_request_and_reply_types():
    assert request_types("vehicle.get") == (SignalQuery, SignalValues)
    assert request_types("x.y", "Empty") == (Empty, None)
    with pytest.raises(InputError, match="pass --type"):
        request_types("x.y")


def test_payloads_decode_as_the_declared_type_or_any_schema():
    signal = Signal(path="a", value=1)
    assert decode(msgspec.msgpack.encode(signal), "vehicle.Speed") == signal
    assert decode(msgspec.msgpack.encode(Trip(metres=1)), "somewhere.else") == Trip(metres=1)
    assert decode(msgspec.msgpack.encode({"no": "tag"}), "somewhere.else") is None


@given(st.binary() | malformed_payloads(Signal))
def test_decoding_for_display_never_raises(payload):
    shown = decode(payload, "vehicle.Speed")
    assert shown is None or isinstance(shown, msgspec.Struct)
