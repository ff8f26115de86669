"""The subject -> message type registry that tools decode, encode and describe with."""
from __future__ import annotations

from typing import Union

import msgspec
import pytest

from carnel.ipc.schemas import registry
from carnel.ipc.schemas.bus import Empty
from carnel.ipc.schemas.device import DeviceStatus
from carnel.ipc.schemas.kernel import ProcessList
from carnel.ipc.schemas.vehicle import Signal, SignalBatch, SignalQuery, SignalValues


@pytest.mark.parametrize(("subject", "expected"), [
    ("vehicle.Speed", Signal),
    ("vehicle.Powertrain.CombustionEngine.Speed", Signal),
    ("can.signals.ENGINE_DATA", SignalBatch),
    ("gps.status", DeviceStatus),
    ("nowhere.at.all", None),
])
def test_a_subject_s_type_is_the_most_specific_declared_one(subject, expected) -> None:
    assert registry.topic_type(subject) is expected


def test_methods_name_their_request_and_reply() -> None:
    assert registry.method("vehicle.get") == registry.Method("vehicle.get", SignalQuery,
                                                             SignalValues)
    assert registry.method("kernel.ps").reply is ProcessList
    assert registry.method("kernel.nothing") is None


def test_every_declared_type_is_a_schema_and_every_schema_has_its_own_tag() -> None:
    types = registry.message_types()
    declared = {t.type for t in registry.topics()}
    declared |= {m.request for m in registry.methods()} | {m.reply for m in registry.methods()}
    assert declared <= set(types) and Empty in types
    tags = [msgspec.inspect.type_info(t).tag for t in types]
    assert None not in tags and len(tags) == len(set(tags))
    # So one decoder can read any message and say what it is.
    decoder = msgspec.msgpack.Decoder(Union[types])
    assert decoder.decode(msgspec.msgpack.encode(Signal(path="Vehicle.Speed", value=1.0))) == \
        Signal(path="Vehicle.Speed", value=1.0)
