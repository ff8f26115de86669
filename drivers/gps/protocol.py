"""NmeaStream: bytes from a receiver in, typed sentences and rejections out (sans-I/O).

A sentence starts at '$' (or '!', AIS's encapsulation, reported as unsupported) and ends at the
next LF or the next start character, whichever comes first, so a sentence cut short by the
receiver costs that sentence only. Bytes outside any sentence are counted as garbage. The
unterminated sentence carried between feeds never exceeds the length limit, so a peer sending
bytes without a newline cannot make the buffer grow.
"""
from __future__ import annotations

from typing import Union

import msgspec

from carnel.drivers.gps.errors import NmeaError, Reason
from carnel.drivers.gps.nmea import MAX_SENTENCE_LENGTH, parse_sentence
from carnel.drivers.gps.sentences import Sentence

_CR = b"\r"
# '$', a five-letter address, '*hh' and CRLF.
_SHORTEST_SENTENCE = 11


class Rejected(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A sentence that could not be used; the stream goes on with the next one.

    `raw` is the sentence as received without its line end; a sentence that is too long is
    cut to its first (limit - 2) bytes, so that it reads the same however it was chunked.
    """

    reason: Reason
    detail: str
    raw: bytes


NmeaEvent = Union[Sentence, Rejected]


class NmeaStats(msgspec.Struct, frozen=True, kw_only=True):
    """Sentences parsed, rejections by reason, and bytes skipped outside any sentence."""

    sentences: int = 0
    checksum: int = 0
    too_long: int = 0
    malformed: int = 0
    unsupported: int = 0
    bad_field: int = 0
    garbage_bytes: int = 0

    @property
    def rejected(self) -> int:
        """All rejections together."""
        return self.checksum + self.too_long + self.malformed + self.unsupported + self.bad_field


class NmeaStream:
    """Split a receiver's byte stream into sentences and parse them; never raises on input.

    Feeding the same bytes in any chunking gives the same events and the same stats.
    """

    def __init__(self, max_length: int = MAX_SENTENCE_LENGTH) -> None:
        if max_length < _SHORTEST_SENTENCE:
            raise ValueError(f"max_length {max_length} is shorter than any sentence")
        self._max_length = max_length
        self._limit = max_length - 2
        self._pending = b""
        self._discarding = False
        self._sentences = 0
        self._garbage = 0
        self._rejections = dict.fromkeys(Reason, 0)

    @property
    def stats(self) -> NmeaStats:
        """A snapshot of the counters since this stream was made."""
        counts = self._rejections
        return NmeaStats(
            sentences=self._sentences,
            checksum=counts[Reason.CHECKSUM],
            too_long=counts[Reason.TOO_LONG],
            malformed=counts[Reason.MALFORMED],
            unsupported=counts[Reason.UNSUPPORTED],
            bad_field=counts[Reason.BAD_FIELD],
            garbage_bytes=self._garbage,
        )

    def feed(self, data: bytes) -> list[NmeaEvent]:
        """Take the next bytes from the receiver; return the sentences they complete, in order."""
        events: list[NmeaEvent] = []
        if self._pending:
            data = self._pending + data
            self._pending = b""
        lines = data.split(b"\n")
        tail = lines.pop()
        for line in lines:
            if self._discarding:
                line = self._skip_rest_of_long_sentence(line)
                self._discarding = False
            if line[:1] == b"$" and line.find(b"$", 1) < 0 and line.find(b"!") < 0:
                self._complete(line, events)
            else:
                self._split(line, events, terminated=True)
        if self._discarding:
            tail = self._skip_rest_of_long_sentence(tail)
        if tail:
            self._split(tail, events, terminated=False)
        return events

    def _skip_rest_of_long_sentence(self, line: bytes) -> bytes:
        start = _next_start(line, 0)
        if start < 0:
            return b""
        self._discarding = False
        return line[start:]

    def _split(self, line: bytes, events: list[NmeaEvent], terminated: bool) -> None:
        start = _next_start(line, 0)
        if start < 0:
            self._garbage += len(line) - line.count(_CR)
            return
        if start:
            self._garbage += start - line.count(_CR, 0, start)
        while True:
            end = _next_start(line, start + 1)
            if end < 0:
                break
            self._complete(line[start:end], events)
            start = end
        if terminated:
            self._complete(line[start:], events)
            return
        pending = line[start:]
        content = len(pending) - 1 if pending.endswith(_CR) else len(pending)
        if content > self._limit:
            self._reject_too_long(pending, events)
            self._discarding = True
        else:
            self._pending = pending

    def _complete(self, segment: bytes, events: list[NmeaEvent]) -> None:
        if segment.endswith(_CR):
            segment = segment[:-1]
        if len(segment) > self._limit:
            self._reject_too_long(segment, events)
            return
        try:
            events.append(parse_sentence(segment, self._max_length))
        except NmeaError as error:
            self._rejections[error.reason] += 1
            events.append(Rejected(reason=error.reason, detail=error.detail, raw=segment))
            return
        self._sentences += 1

    def _reject_too_long(self, segment: bytes, events: list[NmeaEvent]) -> None:
        self._rejections[Reason.TOO_LONG] += 1
        events.append(Rejected(
            reason=Reason.TOO_LONG,
            detail=f"more than {self._max_length} characters with CRLF",
            raw=segment[:self._limit],
        ))


def _next_start(data: bytes, position: int) -> int:
    dollar = data.find(b"$", position)
    bang = data.find(b"!", position)
    if bang < 0:
        return dollar
    if dollar < 0:
        return bang
    return min(dollar, bang)
