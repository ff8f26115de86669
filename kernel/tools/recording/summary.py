"""What a recording holds, per subject: tallied from its messages and put in words. Pure."""
from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field

import msgspec

from carnel.ipc.wire import Flag
from carnel.kernel.tools.recording.layout import BusMessage
from carnel.kernel.tools.tables import table


class SubjectSummary(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    messages: int
    bytes: int
    rate_hz: float | None  # over the whole recording; None when it lasts no time
    type: str  # the embedded schema's name, "" when the subject declares none
    sources: list[str]
    retained: bool
    attachments: int
    attachment_bytes: int


class RecordingSummary(msgspec.Struct, frozen=True, kw_only=True):
    file: str
    file_bytes: int
    complete: bool
    start_ns: int | None
    duration_s: float
    messages: int
    bytes: int
    attachments: int
    attachment_bytes: int
    subjects: list[SubjectSummary]


@dataclass(slots=True)
class _Subject:
    messages: int = 0
    bytes: int = 0
    attachments: int = 0
    attachment_bytes: int = 0
    retained: bool = False
    sources: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class Tally:
    """Feed it every message of a recording, then ask for the summary."""

    first_ns: int | None = None
    last_ns: int | None = None
    subjects: dict[str, _Subject] = field(default_factory=dict)

    def add(self, msg: BusMessage) -> None:
        if self.first_ns is None or msg.log_ns < self.first_ns:
            self.first_ns = msg.log_ns
        if self.last_ns is None or msg.log_ns > self.last_ns:
            self.last_ns = msg.log_ns
        entry = self.subjects.get(msg.subject)
        if entry is None:
            entry = self.subjects[msg.subject] = _Subject()
        entry.messages += 1
        entry.bytes += len(msg.payload)
        entry.attachments += len(msg.attachments)
        entry.attachment_bytes += sum(len(frame) for frame in msg.attachments)
        entry.retained |= bool(msg.flags & Flag.RETAIN)
        entry.sources[msg.source] += 1

    def summary(self, file: str, file_bytes: int, complete: bool,
                types: dict[str, str]) -> RecordingSummary:
        duration = (self.last_ns - self.first_ns) / 1e9 if self.first_ns is not None else 0.0
        subjects = [SubjectSummary(
            subject=name, messages=s.messages, bytes=s.bytes,
            rate_hz=s.messages / duration if duration > 0 else None,
            type=types.get(name, ""), sources=sorted(s.sources), retained=s.retained,
            attachments=s.attachments, attachment_bytes=s.attachment_bytes,
        ) for name, s in sorted(self.subjects.items())]
        return RecordingSummary(
            file=file, file_bytes=file_bytes, complete=complete, start_ns=self.first_ns,
            duration_s=duration, messages=sum(s.messages for s in subjects),
            bytes=sum(s.bytes for s in subjects),
            attachments=sum(s.attachments for s in subjects),
            attachment_bytes=sum(s.attachment_bytes for s in subjects), subjects=subjects)


def human_bytes(count: int) -> str:
    if count < 1000:
        return f"{count} B"
    size, unit = count / 1000, "kB"
    for bigger in ("MB", "GB"):
        if size < 1000:
            break
        size, unit = size / 1000, bigger
    return f"{size:.1f} {unit}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def format_summary(s: RecordingSummary) -> str:
    if s.complete:
        state = "complete"
    else:
        state = ("cut short: the recorder stopped without finishing the file (killed?); "
                 "everything before the cut is here")
    start = "-"
    if s.start_ns is not None:
        moment = datetime.datetime.fromtimestamp(s.start_ns / 1e9, datetime.UTC)
        start = moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    lines = [
        f"file         {s.file} ({human_bytes(s.file_bytes)})",
        f"state        {state}",
        f"start        {start}",
        f"duration     {s.duration_s:.3f} s",
        f"messages     {s.messages} ({human_bytes(s.bytes)} of payload)",
        f"attachments  {s.attachments} ({human_bytes(s.attachment_bytes)})",
        "",
    ]
    rows = [[
        sub.subject, str(sub.messages), f"{sub.rate_hz:.2f}/s" if sub.rate_hz else "-",
        sub.type or "-", ",".join(sub.sources), "yes" if sub.retained else "-",
        f"{sub.attachments} ({human_bytes(sub.attachment_bytes)})" if sub.attachments else "-",
    ] for sub in s.subjects]
    lines.append(table(["SUBJECT", "MESSAGES", "RATE", "TYPE", "SOURCES", "RETAINED",
                        "ATTACHMENTS"], rows))
    return "\n".join(lines)
