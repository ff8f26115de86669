"""Mutated payloads: near a schema, and what every decoder of it must survive."""
from __future__ import annotations

import msgspec
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from carnel.ipc.schemas import registry
from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.vehicle import Signal, SignalQuery
from carnel.ipc.testing import Mutation, malformed_payloads, mutations
from carnel.ipc.testing.mutations import NESTING


# What a receiver must catch from a typed decoder given hostile bytes: msgspec's DecodeError
# (ValidationError is one) and UnicodeDecodeError for a str that is not UTF-8, both ValueErrors,
# and RecursionError for an unknown field nested deeper than the recursion limit, which msgspec
# skips by recursing.
REFUSALS = (ValueError, RecursionError)


@pytest.mark.parametrize("message_type", registry.message_types(), ids=lambda t: t.__name__)
@given(data=st.data())
def test_typed_decoders_refuse_mutations_only_in_known_ways(message_type, data):
    mutation = data.draw(mutations(message_type))
    try:
        decoded = msgspec.msgpack.Decoder(message_type).decode(mutation.payload)
    except REFUSALS:
        return
    assert isinstance(decoded, message_type)


@pytest.mark.parametrize(("payload", "refusal"), [
    (b"\x81\xa4type\xa1\x87", UnicodeDecodeError),
    (b"\x82\xa4type\xa5empty\xa1x" + b"\x91" * NESTING + b"\xc0", RecursionError),
])
def test_typed_decoders_refuse_some_bytes_with_more_than_decode_errors(payload, refusal):
    """Why REFUSALS is wider than msgspec.DecodeError: receivers must catch these too."""
    with pytest.raises(refusal):
        msgspec.msgpack.Decoder(Empty).decode(payload)


def mutation_of(message_type: type, description: str) -> Mutation:
    return find(mutations(message_type), lambda m: m.description == description,
                settings=settings(max_examples=5000, database=None))


def test_a_dropped_required_field_is_named_by_the_decoder():
    mutation = mutation_of(Signal, "$.path removed")
    with pytest.raises(msgspec.ValidationError, match="missing required field `path`"):
        msgspec.msgpack.Decoder(Signal).decode(mutation.payload)


def test_a_retyped_field_is_named_by_the_decoder():
    mutation = mutation_of(SignalQuery, "$.paths = true")
    with pytest.raises(msgspec.ValidationError, match=r"got `bool` - at `\$.paths`"):
        msgspec.msgpack.Decoder(SignalQuery).decode(mutation.payload)


# Hypothesis describes how it built the 10 kB payload it found, and says that is large.
@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_deep_nesting_in_a_known_field_is_refused_at_its_first_level():
    mutation = mutation_of(SignalQuery, f"$.paths = {NESTING}-deep array")
    assert mutation.payload.count(b"\x91") >= NESTING
    with pytest.raises(msgspec.ValidationError, match=r"got `array` - at `\$.paths\[0\]`"):
        msgspec.msgpack.Decoder(SignalQuery).decode(mutation.payload)


@given(malformed_payloads(Signal))
def test_malformed_payloads_are_bytes(payload):
    assert isinstance(payload, bytes)
