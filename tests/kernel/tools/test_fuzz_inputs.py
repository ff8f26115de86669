"""The messages `carnel fuzz` sends: seeded batches, half generated and half mutated."""
from __future__ import annotations

import msgspec

from carnel.ipc.schemas.trip import Trip
from carnel.ipc.schemas.vehicle import SignalQuery
from carnel.kernel.tools.fuzzing.inputs import GENERATED, InputSource
from carnel.kernel.tools.fuzzing.targets import Target, Verb

TARGETS = (Target(Verb.CALL, "vehicle.get", SignalQuery),
           Target(Verb.PUBLISH, "trip.distance", Trip))


def test_the_same_seed_sends_the_same_messages():
    assert InputSource(TARGETS, 7).batch(3) == InputSource(TARGETS, 7).batch(3)
    assert InputSource(TARGETS, 7).batch(1) != InputSource(TARGETS, 8).batch(1)


def test_batches_take_the_targets_in_turn():
    source = InputSource(TARGETS, 1, batch_size=10)
    assert {item.target for item in source.batch(0)} == {TARGETS[0]}
    assert {item.target for item in source.batch(1)} == {TARGETS[1]}


def test_half_is_generated_valid_and_half_mutated():
    batch = InputSource(TARGETS, 1, batch_size=20).batch(0)
    generated = [item for item in batch if item.how == GENERATED]
    assert len(generated) == 10 and len(batch) == 20
    decoder = msgspec.msgpack.Decoder(SignalQuery)
    for item in generated:
        assert isinstance(decoder.decode(item.payload), SignalQuery)
    assert all(item.how != GENERATED for item in batch[1::2])
