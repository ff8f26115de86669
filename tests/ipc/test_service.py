"""The Service SDK's own rules, without a bus."""
from __future__ import annotations

import pytest

from carnel.ipc import _impl
from carnel.ipc.client import Delivery
from carnel.ipc.schemas.vehicle import Signal
from carnel.ipc.service import Service
from carnel.ipc.subjects import SubjectError
from carnel.ipc.wire import Kind


def delivery(subject: str, seq: int) -> Delivery:
    header = _impl.parse_header(_impl.pack_header(Kind.PUB, subject, seq=seq, source="can"))
    return Delivery(header, [b"", b""])


def test_sequence_gaps_are_counted_per_subject():
    svc = Service("hmi")
    seen = []

    @svc.subscribe("vehicle.>")
    async def on_signal(msg: Signal) -> None:
        seen.append(msg)

    sub = svc._subscriptions[0]
    svc._count_gaps(sub, [delivery("vehicle.speed", 1), delivery("vehicle.speed", 2),
                          delivery("vehicle.rpm", 7), delivery("vehicle.speed", 5),
                          delivery("vehicle.rpm", 8)])
    assert svc.stats.gaps == 2


def test_handler_without_a_message_type_is_refused_when_declared():
    svc = Service("hmi")
    with pytest.raises(TypeError, match="annotate"):
        @svc.subscribe("vehicle.speed")
        async def on_speed(msg) -> None: ...


def test_handler_type_can_be_given_explicitly():
    svc = Service("hmi")

    @svc.subscribe("vehicle.speed", type=Signal)
    async def on_speed(msg) -> None: ...

    assert svc._subscriptions[0].decoder.type is Signal


def test_bad_subjects_are_refused_when_declared():
    svc = Service("hmi")
    with pytest.raises(SubjectError):
        svc.subscribe("vehicle..speed")
    with pytest.raises(SubjectError):
        svc.provide("nav.*")


async def test_acting_before_running_says_how_to_run():
    svc = Service("hmi")
    with pytest.raises(RuntimeError, match="carnel.ipc.run"):
        await svc.publish("vehicle.speed", Signal(path="Vehicle.Speed", value=1))


HOSTILE_SIGNALS = [
    b"\x82\xa4type\xa6signal\xa4path\xa1\x87",  # path: a str that is not UTF-8
    b"\x83\xa4type\xa6signal\xa4path\xa1x\xa3zzz" + b"\x91" * 5000 + b"\xc0",  # deep unknown field
]


@pytest.mark.parametrize("payload", HOSTILE_SIGNALS, ids=["not-utf8", "deep-unknown-field"])
def test_a_payload_typed_decoding_refuses_is_counted_not_raised(payload):
    svc = Service("hmi")

    @svc.subscribe("vehicle.>")
    async def on_signal(msg: Signal) -> None: ...

    header = _impl.parse_header(_impl.pack_header(Kind.PUB, "vehicle.Speed", source="can"))
    sub = svc._subscriptions[0]
    assert svc._decode(sub.decoder, Delivery(header, [b"", payload])) is None
    assert svc.stats.undecodable == 1
