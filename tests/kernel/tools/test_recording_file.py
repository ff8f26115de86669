"""Recordings on disk: carnel's MCAP layout written and read back, whole, cut short, damaged."""
from __future__ import annotations

import errno
import io
import json
import os
import random
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcap.reader import make_reader

from carnel.ipc.schemas.trip import Trip
from carnel.ipc.wire import Flag
from carnel.kernel.tools.recording import (
    STDIN, BusMessage, RecordingError, RecordingReader, RecordingWriter)

SUBJECTS = ["trip.distance", "vehicle.Speed", "demo.untyped", "demo.deeper.one"]

messages = st.builds(
    BusMessage,
    subject=st.sampled_from(SUBJECTS),
    payload=st.binary(max_size=64),
    attachments=st.lists(st.binary(max_size=32), max_size=3).map(tuple),
    source=st.sampled_from(["trip", "tester", "replay-12"]),
    flags=st.sampled_from([0, int(Flag.RETAIN), int(Flag.RETAIN | Flag.RETAINED)]),
    seq=st.integers(0, 2**32 - 1),
    publish_ns=st.integers(-(2**63), 2**63 - 1),
    log_ns=st.integers(0, 2**63 - 1),
)


def write(path: Path, batch: list[BusMessage], *, finish: bool = True, **options) -> list[int]:
    """Write `batch`, flushing after each message; returns the file's size once started, then
    after each flush."""
    with path.open("wb") as file:
        writer = RecordingWriter(file, **options)
        sizes = [file.tell()]
        for msg in batch:
            writer.write(msg)
            writer.flush()
            sizes.append(file.tell())
        if finish:
            writer.close()
    return sizes


def read(path: Path) -> tuple[list[BusMessage], RecordingReader]:
    with RecordingReader(path) as reader:
        return list(reader), reader


def as_recorded(msg: BusMessage) -> BusMessage:
    """What a message reads back as: MCAP's times are unsigned, so a negative publish time is 0."""
    return BusMessage(msg.subject, msg.payload, msg.attachments, msg.source, msg.flags, msg.seq,
                      max(msg.publish_ns, 0), msg.log_ns)


def sample() -> list[BusMessage]:
    trip = msgspec.msgpack.encode(Trip(metres=12.5, since_ns=7))
    return [
        BusMessage("trip.distance", trip, (), "trip", int(Flag.RETAIN | Flag.RETAINED), 4, 90, 100),
        BusMessage("demo.untyped", b"\x01", (b"frame one", b""), "tester", 0, 1, 110, 120),
        BusMessage("trip.distance", trip, (), "trip", int(Flag.RETAIN), 5, 130, 140),
        BusMessage("demo.untyped", b"\x02", (), "other", 0, 2, 150, 160),
    ]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(messages, max_size=20))
def test_what_is_written_reads_back_the_same_in_the_same_order(tmp_path, batch):
    path = tmp_path / "any.mcap"
    write(path, batch)
    got, reader = read(path)
    assert got == [as_recorded(msg) for msg in batch]
    assert reader.complete


def test_each_subject_s_schema_is_embedded_and_any_mcap_reader_decodes_it(tmp_path):
    path = tmp_path / "sample.mcap"
    write(path, sample())
    with path.open("rb") as file:
        mcap = make_reader(file)
        summary = mcap.get_summary()
        assert mcap.get_header().profile == "carnel"
        decoded = [(channel.topic, channel.metadata, schema, message.data)
                   for schema, channel, message in mcap.iter_messages()]
    assert summary.statistics.message_count == 5  # four payloads and one set of attachments
    topic, metadata, schema, data = decoded[0]
    assert (topic, metadata) == ("trip.distance", {"source": "trip", "flags": "3"})
    assert (schema.name, schema.encoding) == ("carnel.ipc.schemas.trip.Trip", "jsonschema")
    assert json.loads(schema.data) == msgspec.json.schema(Trip)
    assert msgspec.msgpack.decode(data, type=Trip) == Trip(metres=12.5, since_ns=7)
    topic, metadata, schema, data = decoded[1]
    assert topic == "demo.untyped/attachments" and schema.name == "carnel.attachments"
    assert msgspec.msgpack.decode(data, type=list[bytes]) == [b"frame one", b""]
    assert decoded[2][0] == "demo.untyped" and decoded[2][2] is None  # no declared type


def test_types_name_each_subject_s_schema(tmp_path):
    path = tmp_path / "sample.mcap"
    write(path, sample())
    _, reader = read(path)
    assert reader.types == {"trip.distance": "carnel.ipc.schemas.trip.Trip", "demo.untyped": ""}


def test_a_file_cut_anywhere_reads_as_everything_flushed_before_the_cut(tmp_path):
    batch = sample()
    whole = tmp_path / "whole.mcap"
    started, *flushes = write(whole, batch, finish=False)
    data = whole.read_bytes()
    for cut in range(started, len(data) + 1):
        (tmp_path / "cut.mcap").write_bytes(data[:cut])
        got, reader = read(tmp_path / "cut.mcap")
        # A chunk's messages are readable as soon as the chunk is whole, before its index.
        assert got == [as_recorded(msg) for msg in batch[:len(got)]], cut
        assert len(got) >= sum(1 for size in flushes if size <= cut), cut
        assert not reader.complete


def test_a_finished_file_cut_in_its_summary_is_whole_but_not_complete(tmp_path):
    path = tmp_path / "sample.mcap"
    write(path, sample())
    path.write_bytes(path.read_bytes()[:-20])
    got, reader = read(path)
    assert len(got) == 4 and not reader.complete


class Pipe(io.BytesIO):
    """A stream that cannot say or move its position, as a pipe cannot."""

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        raise OSError(errno.ESPIPE, "Illegal seek")

    def seek(self, *_args) -> int:
        raise OSError(errno.ESPIPE, "Illegal seek")


def test_a_recording_written_to_a_pipe_is_the_same_file_as_on_disk(tmp_path):
    on_disk = tmp_path / "sample.mcap"
    write(on_disk, sample())
    pipe = Pipe()
    writer = RecordingWriter(pipe)
    for msg in sample():
        writer.write(msg)
        writer.flush()
    writer.close()
    assert pipe.getvalue() == on_disk.read_bytes()
    assert writer.bytes_written == len(pipe.getvalue())


def test_chunks_close_by_themselves_once_big_enough(tmp_path):
    path = tmp_path / "big.mcap"
    with path.open("wb") as file:
        writer = RecordingWriter(file, chunk_bytes=1000)
        start = writer.bytes_written
        for seq in range(10):
            noise = random.Random(seq).randbytes(300)  # zstd would shrink zeros to nothing
            writer.write(BusMessage("demo.big", noise, seq=seq, log_ns=seq))
        assert writer.bytes_written > start + 2000 and writer.pending
    got, reader = read(path)
    assert len(got) >= 6 and not reader.complete


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damage_is_a_recording_error_never_a_crash(tmp_path, data):
    path = tmp_path / "sample.mcap"
    write(path, sample())
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(8, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    path.write_bytes(raw)
    try:
        read(path)
    except RecordingError as exc:
        assert str(path) in str(exc)


class _Pipe(io.RawIOBase):
    """Bytes that can only be read in order, as from a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._data.readinto(buffer)


class _PipedStdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BufferedReader(_Pipe(data))

    def isatty(self) -> bool:
        return False


def outcome(path: Path, shown: str) -> tuple:
    try:
        batch, reader = read(path)
    except RecordingError as exc:
        return ("error", str(exc).replace(shown, "<recording>"))
    # What info shows as a piped recording's size; of a cut one, up to where reading stopped.
    return ("read", batch, reader.complete, reader.types,
            reader.bytes_read if reader.complete else None)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_a_recording_piped_to_stdin_reads_as_its_file_does(tmp_path, monkeypatch, data):
    """Intact, cut or damaged (a claimed size of gigabytes included), as carnel info - and
    carnel replay - read it: a pipe cannot seek or say its size."""
    path = tmp_path / "sample.mcap"
    write(path, sample(), finish=data.draw(st.booleans()))
    raw = bytearray(path.read_bytes())
    if data.draw(st.booleans()):
        at = first_chunk_size_field(raw) - 16 - 8  # the chunk record's own length
        raw[at:at + 8] = (2**40).to_bytes(8, "little")
    for _ in range(data.draw(st.integers(0, 3))):
        raw[data.draw(st.integers(8, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
    raw = raw[:data.draw(st.integers(0, len(raw)))]
    path.write_bytes(raw)
    monkeypatch.setattr(sys, "stdin", _PipedStdin(bytes(raw)))
    piped = outcome(STDIN, "stdin")
    assert piped == outcome(path, str(path))
    if piped[0] == "read" and piped[2]:
        assert piped[4] == len(raw)


def first_chunk_size_field(raw: bytes) -> int:
    """Where the first chunk's claimed uncompressed size sits in an MCAP file."""
    at = 8  # the magic
    while raw[at] != 0x06:  # the chunk opcode
        at += 9 + int.from_bytes(raw[at + 1:at + 9], "little")
    return at + 9 + 16  # after the opcode, length, start and end times


@pytest.mark.parametrize("claimed", [2**63 + 1, 2**40, 5])
def test_a_chunk_claiming_the_wrong_size_is_damage_not_an_allocation(tmp_path, claimed):
    # Found by fuzzing: a claim past 2**63 overflowed inside zstd instead of reading as damage.
    path = tmp_path / "sample.mcap"
    write(path, sample())
    raw = bytearray(path.read_bytes())
    at = first_chunk_size_field(raw)
    raw[at:at + 8] = claimed.to_bytes(8, "little")
    path.write_bytes(raw)
    with pytest.raises(RecordingError, match="damaged near byte .*decompresses to"):
        read(path)


@pytest.mark.parametrize(("content", "says"), [
    (b"", "is empty or cut short before its MCAP header"),
    (b"carnel,not,mcap\n", "is not an MCAP file"),
])
def test_what_is_not_a_recording_is_refused_by_name(tmp_path, content, says):
    path = tmp_path / "not.mcap"
    path.write_bytes(content)
    with pytest.raises(RecordingError, match=says) as refused:
        RecordingReader(path)
    assert str(path) in str(refused.value)


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path):
    fifo = tmp_path / "pipe.mcap"
    os.mkfifo(fifo)
    # A writer holding it open with a few bytes in it, so that a reader that did open it would
    # fail on them rather than hang this test.
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        os.write(writer, b"not mcap")
        with pytest.raises(RecordingError, match=f"^{fifo} is not a file: a recording is one"):
            RecordingReader(fifo)
    finally:
        os.close(writer)


def test_an_mcap_file_of_another_profile_is_refused(tmp_path):
    from mcap.writer import Writer

    path = tmp_path / "ros.mcap"
    with path.open("wb") as file:
        writer = Writer(file)
        writer.start(profile="ros2", library="test")
        writer.finish()
    with pytest.raises(RecordingError, match="not a carnel recording .profile 'ros2'"):
        RecordingReader(path)


def test_a_missing_file_is_refused_by_name(tmp_path):
    with pytest.raises(RecordingError, match="cannot read .*nothing.mcap"):
        RecordingReader(tmp_path / "nothing.mcap")
