"""Writing a recording: bus messages into an MCAP file that stays readable if the writer is killed.

The mcap Writer keeps its chunk in memory until the chunk is closed. Here chunks are closed only
by `flush()`, never by the library in the middle of a bus message (so a message and its
attachments always share a chunk), once CHUNK_BYTES are pending or whenever the owner calls it (the
recorder does, every second). Closing a chunk writes it out and flushes the file to the OS, so a
kill -9 loses only what arrived since the last flush; the page cache keeps the rest. It does not
fsync: surviving power loss is the file system's business, not a recorder's.

MCAP is written front to back: the library never seeks, it only asks the stream's position for the
offsets its indexes hold. Counting the bytes written answers that, so a pipe will do as well.
"""
from __future__ import annotations

import sys
from typing import BinaryIO

from mcap.writer import LIBRARY_IDENTIFIER, CompressionType, Writer

from carnel.kernel.tools.recording.layout import (
    ATTACHMENTS_SCHEMA,
    MESSAGE_ENCODING,
    PROFILE,
    SCHEMA_ENCODING,
    BusMessage,
    SchemaDoc,
    attachments_metadata,
    attachments_topic,
    channel_metadata,
    encode_frames,
    schema_for,
)

CHUNK_BYTES = 1 << 20


class _CountedStream:
    """What the mcap Writer needs of its stream (write, tell, flush), with the position counted:
    a pipe cannot tell its own."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.position = 0

    def write(self, data: bytes) -> int:
        self._stream.write(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        self._stream.flush()


class RecordingWriter:
    """Appends bus messages to an MCAP stream in carnel's layout (see layout.py).

    The stream is buffered (it writes all it is given, as open() makes it) and stands where the
    file starts, since MCAP's offsets count from there; it need not seek."""

    def __init__(self, stream: BinaryIO, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self._stream = _CountedStream(stream)
        # The library's own chunk limit is set out of reach: chunks close in flush() alone.
        self._mcap = Writer(self._stream, chunk_size=sys.maxsize,
                            compression=CompressionType.ZSTD)
        self._mcap.start(profile=PROFILE, library=f"carnel ({LIBRARY_IDENTIFIER})")
        self._chunk_bytes = chunk_bytes
        self._channels: dict[tuple[str, str, int], int] = {}
        self._companions: dict[int, int] = {}
        self._schemas: dict[str, int] = {}
        self._pending = 0
        self.messages = 0
        self.flush()

    def write(self, msg: BusMessage) -> None:
        channel = self._channel(msg)
        # A hostile header may carry a negative timestamp; MCAP's times are unsigned.
        publish_ns = max(msg.publish_ns, 0)
        size = len(msg.payload)
        if msg.attachments:
            frames = encode_frames(msg.attachments)
            self._mcap.add_message(self._companion(channel, msg), msg.log_ns, frames,
                                   publish_ns, msg.seq)
            size += len(frames)
        self._mcap.add_message(channel, msg.log_ns, msg.payload, publish_ns, msg.seq)
        self.messages += 1
        self._pending += size
        if self._pending >= self._chunk_bytes:
            self.flush()

    @property
    def pending(self) -> bool:
        """Whether messages are waiting in the open chunk."""
        return self._pending > 0

    @property
    def bytes_written(self) -> int:
        return self._stream.position

    def flush(self) -> None:
        """Close the open chunk and hand the file's bytes to the OS."""
        self._mcap.flush()
        self._pending = 0

    def close(self) -> None:
        """Write the summary and footer, which make the file complete; the stream stays open."""
        self._mcap.finish()
        self._stream.flush()

    def _channel(self, msg: BusMessage) -> int:
        key = (msg.subject, msg.source, msg.flags)
        channel = self._channels.get(key)
        if channel is None:
            channel = self._mcap.register_channel(
                msg.subject, MESSAGE_ENCODING, self._schema(schema_for(msg.subject)),
                channel_metadata(msg.source, msg.flags))
            self._channels[key] = channel
        return channel

    def _companion(self, channel: int, msg: BusMessage) -> int:
        companion = self._companions.get(channel)
        if companion is None:
            companion = self._mcap.register_channel(
                attachments_topic(msg.subject), MESSAGE_ENCODING, self._schema(ATTACHMENTS_SCHEMA),
                attachments_metadata(msg.source, msg.flags, channel))
            self._companions[channel] = companion
        return companion

    def _schema(self, doc: SchemaDoc | None) -> int:
        if doc is None:
            return 0
        schema = self._schemas.get(doc.name)
        if schema is None:
            schema = self._mcap.register_schema(doc.name, SCHEMA_ENCODING, doc.data)
            self._schemas[doc.name] = schema
        return schema
