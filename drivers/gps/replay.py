"""Read NMEA log files and compute when to replay each sentence (pure: the caller sleeps).

Understood line forms, one sentence a line:

- a plain sentence, as receivers send it and gpsd's test logs keep it;
- a leading timestamp then whitespace or a comma: Unix seconds (`1600000000.25 $GPGGA,...`)
  or ISO 8601 (`2020-09-13T12:26:40.25Z $GPGGA,...`; no zone means UTC);
- an NMEA 4.10 TAG block whose `c:` parameter is the Unix time (`\\c:1600000000*hh\\$GPGGA,...`),
  in seconds, or in milliseconds from 10**11 on (as seconds, that would be past the year 5000);
- Android's GnssLogger form: `NMEA,$GPGGA,...*hh,<Unix milliseconds>`.

Other lines (comments, blank lines, binary) are left out. Timing keeps the log's timestamps
when it has them; without, it follows the receiver's own epoch times from the sentences.
"""
from __future__ import annotations

import datetime
import re
from collections.abc import Iterable

import msgspec

from carnel.drivers.gps.errors import NmeaError
from carnel.drivers.gps.nmea import checksum, parse_sentence

_LEADING_STAMP = re.compile(rb"([0-9][0-9T:+\-.Z]*)[ \t,]+([$!].*)")
_MILLISECONDS_FROM = 100_000_000_000
_SECONDS_A_DAY = 86_400.0


class LogRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One sentence from a log: `at` is its Unix time when the log kept one, else None.

    `sentence` ends with CRLF, as a receiver sends it, ready for NmeaStream.feed.
    """

    at: float | None
    sentence: bytes


class ReplayStep(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Send `sentence` when `offset_s` seconds have passed since the replay started."""

    offset_s: float
    sentence: bytes


def read_log(data: bytes) -> list[LogRecord]:
    """Every sentence of a log file's bytes, with its timestamp when the line has one."""
    records = []
    for line in data.splitlines():
        record = read_line(line)
        if record is not None:
            records.append(record)
    return records


def read_line(line: bytes) -> LogRecord | None:
    """The sentence on one log line and its timestamp, or None when the line holds no sentence."""
    line = line.strip()
    first = line[:1]
    if first == b"$" or first == b"!":
        return LogRecord(at=None, sentence=line + b"\r\n")
    if first == b"\\":
        return _tag_block_line(line)
    if line.startswith(b"NMEA,"):
        return _gnss_logger_line(line)
    match = _LEADING_STAMP.fullmatch(line)
    if match is None:
        return None
    return LogRecord(at=_timestamp(match.group(1)), sentence=match.group(2).rstrip() + b"\r\n")


def _tag_block_line(line: bytes) -> LogRecord | None:
    end = line.find(b"\\", 1)
    if end < 0 or line[end + 1:end + 2] not in (b"$", b"!"):
        return None
    sentence = line[end + 1:] + b"\r\n"
    block = line[1:end]
    star = block.rfind(b"*")
    if star < 0 or block[star + 1:].upper() != f"{checksum(block[:star]):02X}".encode():
        return LogRecord(at=None, sentence=sentence)
    for parameter in block[:star].split(b","):
        if parameter.startswith(b"c:"):
            return LogRecord(at=_unix_time(parameter[2:]), sentence=sentence)
    return LogRecord(at=None, sentence=sentence)


def _gnss_logger_line(line: bytes) -> LogRecord | None:
    body, _, stamp = line[5:].rpartition(b",")
    if body[:1] not in (b"$", b"!"):
        return None
    return LogRecord(at=_unix_time(stamp), sentence=body + b"\r\n")


def _timestamp(text: bytes) -> float | None:
    at = _unix_time(text)
    if at is not None:
        return at
    try:
        moment = datetime.datetime.fromisoformat(text.decode("ascii"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def _unix_time(text: bytes) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not 0.0 <= value < 1e14:
        return None
    return value / 1000.0 if value >= _MILLISECONDS_FROM else value


def pace(records: Iterable[LogRecord], epoch_s: float = 1.0,
         max_gap_s: float = 60.0) -> list[ReplayStep]:
    """When to send each record, in seconds from the start, keeping the log's timing.

    A log with timestamps replays on them (a record without one goes with the one before it,
    and time never runs backwards). A log without replays at the receiver's pace: each epoch
    starts when its sentences' UTC time says, one day wrapping at midnight. A jump back in time,
    or forward by more than `max_gap_s` (a receiver restart, a log spliced together), counts as
    one `epoch_s` step.
    """
    records = list(records)
    if any(record.at is not None for record in records):
        return _pace_by_timestamps(records)
    return _pace_by_sentence_times(records, epoch_s, max_gap_s)


def _pace_by_timestamps(records: list[LogRecord]) -> list[ReplayStep]:
    start = next(record.at for record in records if record.at is not None)
    offset = 0.0
    steps = []
    for record in records:
        if record.at is not None:
            offset = max(offset, record.at - start)
        steps.append(ReplayStep(offset_s=offset, sentence=record.sentence))
    return steps


def _pace_by_sentence_times(records: list[LogRecord], epoch_s: float,
                            max_gap_s: float) -> list[ReplayStep]:
    offset = 0.0
    previous: float | None = None
    steps = []
    for record in records:
        now = _seconds_of_day(record.sentence)
        if now is not None:
            if previous is not None and now != previous:
                gap = (now - previous) % _SECONDS_A_DAY
                offset += gap if gap <= max_gap_s else epoch_s
            previous = now
        steps.append(ReplayStep(offset_s=offset, sentence=record.sentence))
    return steps


def _seconds_of_day(sentence: bytes) -> float | None:
    line = sentence.rstrip(b"\r\n")
    try:
        # Timing only needs the time field: a receiver's over-long sentences still count here.
        parsed = parse_sentence(line, max_length=len(line) + 2)
    except NmeaError:
        return None
    time = getattr(parsed, "time", None)
    if time is None:
        return None
    return time.hour * 3600.0 + time.minute * 60.0 + time.second + time.microsecond / 1e6
