"""Replay's passes over a recording file: what is published, and where damage stops it."""
from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from carnel.ipc.subjects import SubscriptionIndex
from carnel.kernel.tools.recording import BusMessage, Pace, RecordingWriter
from carnel.kernel.tools.replay import Replayed, replay_passes

# Where a chunk's compressed data begins, past its record header (opcode, length, times, sizes,
# CRC, compression name and data length): bytes zeroed there are damage, not a cut.
CHUNK_HEADER = 53


def message(seq: int) -> BusMessage:
    return BusMessage("demo.a", msgspec.msgpack.encode([seq, "x" * 100]), source="tester",
                      seq=seq, log_ns=seq * 1_000_000)


def damaged_recording(path: Path, good: int, damaged: int) -> None:
    """A finished recording of `good` messages in one chunk, then `damaged` more in a chunk
    whose data is zeroed in the middle, as a bad sector or a bad copy leaves it."""
    with path.open("wb") as file:
        writer = RecordingWriter(file)
        for seq in range(1, good + 1):
            writer.write(message(seq))
        writer.flush()
        chunk = writer.bytes_written
        for seq in range(good + 1, good + damaged + 1):
            writer.write(message(seq))
        writer.close()
    data = bytearray(path.read_bytes())
    data[chunk + CHUNK_HEADER + 20:chunk + CHUNK_HEADER + 60] = bytes(40)
    path.write_bytes(data)


def everything() -> SubscriptionIndex:
    selection = SubscriptionIndex()
    selection.add(">", True)
    return selection


@pytest.mark.parametrize("loop", [False, True])
async def test_damage_stops_the_replay_after_the_messages_before_it(tmp_path, autojump_clock,
                                                                   loop):
    path = tmp_path / "damaged.mcap"
    damaged_recording(path, good=5, damaged=5)
    published: list[int] = []

    async def publish(msg: BusMessage) -> None:
        published.append(msg.seq)

    replayed = Replayed()
    await replay_passes(path, everything(), Pace(0), loop, publish, replayed)
    assert published == [1, 2, 3, 4, 5]
    assert replayed.messages == 5 and replayed.passes == 0
    assert replayed.damage.startswith(f"{path} is damaged near byte ")
    assert "(as fast as possible, part of a pass)" in replayed.describe(path, 0)


async def test_an_undamaged_recording_is_replayed_whole_without_damage(tmp_path, autojump_clock):
    path = tmp_path / "whole.mcap"
    with path.open("wb") as file:
        writer = RecordingWriter(file)
        for seq in range(1, 4):
            writer.write(message(seq))
        writer.close()
    published: list[int] = []

    async def publish(msg: BusMessage) -> None:
        published.append(msg.seq)

    replayed = Replayed()
    await replay_passes(path, everything(), Pace(0), False, publish, replayed)
    assert published == [1, 2, 3] and replayed.passes == 1 and replayed.damage == ""
    assert "(as fast as possible, 1 pass)" in replayed.describe(path, 0)
    replayed.count(message(4))  # a second pass stopped after one message
    assert "(as fast as possible, 1 pass and part of another)" in replayed.describe(path, 0)
