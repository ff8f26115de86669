"""Reading a recording from its start, whether it was finished or cut short by a kill.

A recorder killed with -9 leaves no summary and no footer, and perhaps half a chunk at the end, so
the file is read as a stream (mcap's StreamReader, which never seeks to the summary) and a record
that ends early ends the reading there: everything before it is returned and `complete` stays
False. Anything else wrong with the file is a RecordingError that names the file and the place.
"""
from __future__ import annotations

import os
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec
import zstandard
from mcap.exceptions import EndOfFile, InvalidMagic, McapError
from mcap.records import Channel, Chunk, Header, Message, Schema
from mcap.stream_reader import StreamReader, breakup_chunk

from carnel.ipc.subjects import SubjectError, validate_subject
from carnel.kernel.tools.recording.layout import (
    ATTACHMENTS_OF,
    ATTACHMENTS_SUFFIX,
    FLAGS,
    MESSAGE_ENCODING,
    PROFILE,
    SOURCE,
    STDIN,
    STDIN_IS_A_TERMINAL,
    BusMessage,
    decode_frames,
    recording_name,
)

_LARGE_READ = 1 << 20
# What a damaged (not merely cut short) file can raise from inside the mcap reader.
_DAMAGE = (McapError, ValueError, struct.error, msgspec.DecodeError, zstandard.ZstdError)


def _records(stream: StreamReader) -> Iterator[object]:
    """The stream's records with each chunk opened here: mcap would hand the chunk's claimed size
    to zstd as an allocation, and a damaged claim overflows or asks for terabytes. Here a chunk is
    decompressed a piece at a time and is damaged once it yields more than it claimed."""
    for record in stream.records:
        if not isinstance(record, Chunk):
            yield record
            continue
        if record.compression == "zstd":
            data = _unzstd(record.data, record.uncompressed_size)
            record = Chunk(compression="", data=data, message_end_time=record.message_end_time,
                           message_start_time=record.message_start_time,
                           uncompressed_crc=record.uncompressed_crc,
                           uncompressed_size=record.uncompressed_size)
        elif record.compression:
            raise ValueError(f"a chunk compressed with {record.compression!r}, not zstd")
        yield from breakup_chunk(record, validate_crc=True)


def _unzstd(data: bytes, claimed: int) -> bytes:
    pieces: list[bytes] = []
    size = 0
    with zstandard.ZstdDecompressor().stream_reader(data) as reader:
        while piece := reader.read(_LARGE_READ):
            size += len(piece)
            if size > claimed:
                raise ValueError(f"a chunk that decompresses to more than its {claimed} bytes")
            pieces.append(piece)
    if size != claimed:
        raise ValueError(f"a chunk that decompresses to {size} bytes, not {claimed}")
    return b"".join(pieces)


class RecordingError(Exception):
    """A file that is not a carnel recording, or is damaged."""


class _Exact:
    """A file whose reads return every byte asked for or raise EndOfFile, so that a record cut
    short ends the stream where it begins instead of decoding as a shorter, wrong record.
    `position` counts the bytes read: a pipe cannot say where it is."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._sized = file.seekable()
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        # A damaged length field can ask for gigabytes, and a buffered read allocates what it is
        # asked for before it finds out how much there is.
        if size <= _LARGE_READ:
            data = self._file.read(size)
        elif self._sized:
            if size > os.fstat(self._file.fileno()).st_size - self._file.tell():
                raise EndOfFile()
            data = self._file.read(size)
        else:  # a pipe: piece by piece, so that memory grows only with what really comes
            pieces = []
            left = size
            while left and (piece := self._file.read(min(left, _LARGE_READ))):
                pieces.append(piece)
                left -= len(piece)
            data = b"".join(pieces)
        self.position += len(data)
        if 0 < size and len(data) < size:
            raise EndOfFile()
        return data


@dataclass(frozen=True, slots=True)
class _Channel:
    subject: str
    source: str
    flags: int
    attachments_of: int | None


class RecordingReader:
    """`with RecordingReader(path) as reader: for msg in reader: ...` yields BusMessages in file
    order; afterwards `complete` says whether the writer finished the file, and `types` maps each
    subject to the name of its embedded schema ("" for none)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.complete = False
        self.types: dict[str, str] = {}
        self._file = _stdin() if path == STDIN else _open(path)
        path = recording_name(path)
        self._input = _Exact(self._file)
        self._records = _records(StreamReader(self._input, emit_chunks=True, validate_crcs=True))
        try:
            header = next(self._records)
        except EndOfFile:
            self.close()
            raise RecordingError(f"{path} is empty or cut short before its MCAP header") from None
        except InvalidMagic:
            self.close()
            raise RecordingError(f"{path} is not an MCAP file (it does not start with MCAP's "
                                 "magic bytes)") from None
        except _DAMAGE as exc:
            self.close()
            raise RecordingError(f"{path} is not an MCAP file: {exc}") from None
        if not isinstance(header, Header) or header.profile != PROFILE:
            self.close()
            profile = header.profile if isinstance(header, Header) else "?"
            raise RecordingError(f"{path} is an MCAP file but not a carnel recording "
                                 f"(profile {profile!r})")

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *_) -> None:
        self.close()

    @property
    def bytes_read(self) -> int:
        return self._input.position

    def close(self) -> None:
        if self.path != STDIN:  # stdin stays the process's
            self._file.close()

    def __iter__(self) -> Iterator[BusMessage]:
        channels: dict[int, _Channel] = {}
        schemas: dict[int, str] = {}
        held: tuple[int, int, tuple[bytes, ...]] | None = None  # a payload's attachments
        try:
            for record in self._records:
                if isinstance(record, Schema):
                    schemas[record.id] = record.name
                elif isinstance(record, Channel):
                    channels[record.id] = self._channel(record, schemas)
                elif isinstance(record, Message):
                    channel = channels.get(record.channel_id)
                    if channel is None:
                        raise self._damaged(f"a message on undeclared channel {record.channel_id}")
                    if channel.attachments_of is not None:
                        held = (channel.attachments_of, record.sequence, decode_frames(record.data))
                        continue
                    attachments: tuple[bytes, ...] = ()
                    if held is not None:
                        if held[:2] != (record.channel_id, record.sequence):
                            raise self._damaged("attachments not followed by their message")
                        attachments, held = held[2], None
                    yield BusMessage(
                        subject=channel.subject, payload=record.data, attachments=attachments,
                        source=channel.source, flags=channel.flags, seq=record.sequence,
                        publish_ns=record.publish_time, log_ns=record.log_time)
        except EndOfFile:
            return
        except _DAMAGE as exc:
            raise self._damaged(str(exc)) from None
        if held is not None:
            raise self._damaged("attachments at the end, without their message")
        self.complete = True

    def _channel(self, record: Channel, schemas: dict[int, str]) -> _Channel:
        meta = record.metadata
        try:
            if record.message_encoding != MESSAGE_ENCODING:
                raise ValueError(f"message encoding {record.message_encoding!r}")
            companion = meta.get(ATTACHMENTS_OF)
            subject = record.topic.removesuffix(ATTACHMENTS_SUFFIX) if companion else record.topic
            channel = _Channel(validate_subject(subject), meta[SOURCE], int(meta[FLAGS]),
                               int(companion) if companion else None)
        except (KeyError, ValueError, SubjectError) as exc:
            raise self._damaged(f"channel {record.id} ({record.topic!r}) is not carnel's: "
                                f"{exc}") from None
        if channel.attachments_of is None:
            self.types[channel.subject] = schemas.get(record.schema_id, "")
        return channel

    def _damaged(self, why: str) -> RecordingError:
        return RecordingError(f"{recording_name(self.path)} is damaged near byte "
                              f"{self._input.position}: {why}")


def _stdin() -> BinaryIO:
    if sys.stdin.isatty():
        raise RecordingError(STDIN_IS_A_TERMINAL)
    return sys.stdin.buffer


def _open(path: Path) -> BinaryIO:
    try:
        # A FIFO or a device would block the open or the reads: a recording is a file.
        if path.exists() and not path.is_file() and not path.is_dir():
            raise RecordingError(f"{path} is not a file: a recording is one (carnel record -o - "
                                 "streams one to a pipe, to be saved as a file, or to carnel "
                                 "info - and carnel replay -)")
        return path.open("rb")
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from None
