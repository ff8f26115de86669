"""One delivery as `carnel tap` shows it: a line for people (coloured on a terminal) or a JSON
object for pipes."""
from __future__ import annotations

import datetime
from dataclasses import dataclass

import msgspec
import msgspec.structs

from carnel.ipc.wire import Flag, Header
from carnel.kernel.tools.messages import decode

_encode_json = msgspec.json.Encoder().encode

# ANSI SGR codes.
DIM, BOLD, CYAN, YELLOW, MAGENTA, RED = "2", "1", "36", "33", "35", "31"


@dataclass(frozen=True, slots=True)
class Seen:
    """A delivery, decoded."""

    timestamp_ns: int
    source: str
    subject: str
    seq: int
    retained: bool
    message: msgspec.Struct | None  # None: not any known schema
    size: int
    attachments: tuple[int, ...] = ()


def seen(header: Header, payload, attachment_sizes: tuple[int, ...] = ()) -> Seen:
    return Seen(timestamp_ns=header.timestamp_ns, source=header.source, subject=header.subject,
                seq=header.seq, retained=bool(header.flags & Flag.RETAINED),
                message=decode(payload, header.subject), size=len(payload),
                attachments=attachment_sizes)


class Palette:
    """Colours a piece of text, or leaves it plain."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *codes: str) -> str:
        if not self.enabled or not codes:
            return text
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"


def clock_time(timestamp_ns: int, tz: datetime.tzinfo | None = None) -> str:
    """HH:MM:SS.mmm of a header timestamp, in local time unless `tz` is given."""
    moment = datetime.datetime.fromtimestamp(timestamp_ns / 1e9, tz)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _default(field: msgspec.structs.FieldInfo) -> object:
    if field.default is not msgspec.NODEFAULT:
        return field.default
    if field.default_factory is not msgspec.NODEFAULT:
        return field.default_factory()
    return msgspec.NODEFAULT  # a required field: equal to no value, so always shown


def fields_text(message: msgspec.Struct) -> str:
    """`name=value` for every field that differs from its default, values as JSON."""
    return " ".join(f"{field.name}={_encode_json(getattr(message, field.name)).decode()}"
                    for field in msgspec.structs.fields(message)
                    if getattr(message, field.name) != _default(field))


def as_text(item: Seen, colour: Palette, tz: datetime.tzinfo | None = None) -> str:
    head = [colour(clock_time(item.timestamp_ns, tz), DIM), colour(item.source or "?", CYAN),
            colour(item.subject, BOLD)]
    if item.retained:
        head.append(colour("retained", YELLOW))
    if item.message is None:
        body = colour(f"<{item.size} bytes: not a known message type>", RED)
    else:
        body = " ".join(filter(None, (colour(type(item.message).__name__, MAGENTA),
                                      fields_text(item.message))))
    line = " ".join([*head, body])
    if item.attachments:
        sizes = ", ".join(f"{size} B" for size in item.attachments)
        count = len(item.attachments)
        line += colour(f" +{count} attachment{'s' if count > 1 else ''} ({sizes})", DIM)
    return line


def as_json(item: Seen) -> str:
    return _encode_json({
        "timestamp_ns": item.timestamp_ns, "source": item.source, "subject": item.subject,
        "seq": item.seq, "retained": item.retained,
        "type": type(item.message).__name__ if item.message is not None else None,
        "message": item.message, "size": item.size, "attachments": list(item.attachments),
    }).decode()
