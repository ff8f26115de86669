"""Reading JSON into a subject's type, and decoding any payload for display."""
from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.trip import Trip
from carnel.ipc.schemas.vehicle import Signal, SignalBatch, SignalQuery, SignalValues
from carnel.ipc.testing import malformed_payloads
from carnel.kernel.tools.messages import (
    InputError, decode, from_json, named_type, published_type, request_types)
from carnel.kernel.tools.session import EXIT_USAGE


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


def test_the_declared_type_of_a_subject_is_found_or_the_error_says_how_to_give_one():
    assert published_type("can.signals.ENGINE") is SignalBatch
    assert published_type("x.y", "Trip") is Trip
    assert published_type("x.y", "trip") is Trip
    with pytest.raises(InputError, match="pass --type"):
        published_type("x.y")
    with pytest.raises(InputError, match="no message type named 'Nope'"):
        named_type("Nope")


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
