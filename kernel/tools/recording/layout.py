"""How carnel lays bus messages out in an MCAP file: the one place both the writer and the reader
take the layout from.

- Profile "carnel". One MCAP channel per (subject, source, flags): the topic is the subject, the
  channel metadata holds the kernel-stamped `source` and the header's `flags` (decimal), so a
  retained subject's first delivery (RETAINED) and its live updates sit on two channels.
- Every message is the bus payload byte for byte, message encoding "msgpack", and its schema is
  the subject's declared msgspec type (carnel.ipc.schemas.registry) as a JSON Schema named by the
  type's qualified name; a subject with no declared type has no schema (id 0, as MCAP allows).
  MCAP's log_time is when the recorder received the message, publish_time the header's
  timestamp_ns, sequence the kernel's per-subject seq.
- Attachments (the bus's extra frames) go on a companion channel per channel, topic
  "<subject>/attachments" (a "/" never occurs in a subject), whose metadata names its channel's
  id under `attachments_of`. Its message holds the frames as one msgpack array of binaries and
  comes immediately before the payload's message, with the same sequence, in the same chunk.
  So the payload channel stays decodable by any MCAP tool with the embedded schema, and a file
  cut short never holds a payload whose attachments were lost with the last chunk.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import msgspec

from carnel.ipc.schemas.registry import topic_type

PROFILE = "carnel"
STDIN = Path("-")  # a recording to read from stdin, as info's and replay's file argument
STDIN_IS_A_TERMINAL = ("- reads a recording from stdin, which is a terminal: pipe one in "
                       "(carnel record -o - ... | carnel info -)")
MESSAGE_ENCODING = "msgpack"
SCHEMA_ENCODING = "jsonschema"
ATTACHMENTS_SUFFIX = "/attachments"
SOURCE, FLAGS, ATTACHMENTS_OF = "source", "flags", "attachments_of"

_frames_decoder = msgspec.msgpack.Decoder(list[bytes])
_encode = msgspec.msgpack.Encoder().encode


def recording_name(path: Path) -> str:
    """A recording's file argument as messages name it."""
    return "stdin" if path == STDIN else str(path)


@dataclass(frozen=True, slots=True)
class BusMessage:
    """One publication as the recorder received it and the replay sends it again."""

    subject: str
    payload: bytes
    attachments: tuple[bytes, ...] = ()
    source: str = ""
    flags: int = 0
    seq: int = 0
    publish_ns: int = 0  # the publisher's header timestamp
    log_ns: int = 0  # when the recorder received it


@dataclass(frozen=True, slots=True)
class SchemaDoc:
    name: str
    data: bytes


ATTACHMENTS_SCHEMA = SchemaDoc("carnel.attachments", msgspec.json.encode(
    {**msgspec.json.schema(list[bytes]),
     "description": "a bus message's attachment frames, in order"}))


@cache
def schema_for(subject: str) -> SchemaDoc | None:
    """The embedded schema of `subject`'s messages, or None when no schema module declares it."""
    declared = topic_type(subject)
    if declared is None:
        return None
    return schema_of_type(declared)


@cache
def schema_of_type(declared: type) -> SchemaDoc:
    name = f"{declared.__module__}.{declared.__qualname__}"
    return SchemaDoc(name, msgspec.json.encode(msgspec.json.schema(declared)))


def channel_metadata(source: str, flags: int) -> dict[str, str]:
    return {SOURCE: source, FLAGS: str(flags)}


def attachments_metadata(source: str, flags: int, channel_id: int) -> dict[str, str]:
    return {**channel_metadata(source, flags), ATTACHMENTS_OF: str(channel_id)}


def attachments_topic(subject: str) -> str:
    return subject + ATTACHMENTS_SUFFIX


def encode_frames(frames: Sequence[bytes | memoryview]) -> bytes:
    return _encode(list(frames))


def decode_frames(data: bytes) -> tuple[bytes, ...]:
    """Attachment frames back from a companion message; raises msgspec.DecodeError."""
    return tuple(_frames_decoder.decode(data))
