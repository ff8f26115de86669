"""A receiver's bytes in, fix events and refused input out: what every source adapter drives.

NmeaReceiver chains the NMEA sentence stream and the fix tracker; GpsdReceiver (gpsd.py) does
the same for gpsd's JSON reports. Both are sans-I/O: the caller reads, passes its clock, and
decides what to do with the events.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from carnel.drivers.gps.fix import FixEvent, FixTracker
from carnel.drivers.gps.nmea import MAX_SENTENCE_LENGTH
from carnel.drivers.gps.protocol import NmeaStream, Rejected


@dataclass(frozen=True, slots=True)
class Received:
    """What one chunk of input gave: fix events in order, and the input refused on the way."""

    fixes: list[FixEvent] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


class Receiver(Protocol):
    """A source's protocol: bytes in, fix events out."""

    def feed(self, data: bytes, now: float) -> Received:
        """Take the next bytes, received at `now` (the caller's clock, in seconds)."""

    def end_epoch(self) -> list[FixEvent]:
        """The receiver has gone quiet: report what the open epoch holds without waiting."""


class NmeaReceiver:
    """An NMEA 0183 receiver: sentences checked and parsed, epochs combined into fixes."""

    def __init__(self, max_length: int = MAX_SENTENCE_LENGTH) -> None:
        self._stream = NmeaStream(max_length)
        self._tracker = FixTracker()

    def feed(self, data: bytes, now: float) -> Received:
        received = Received()
        update = self._tracker.update
        for event in self._stream.feed(data):
            if type(event) is Rejected:
                received.rejected.append(event)
            else:
                received.fixes.extend(update(event, now))
        return received

    def end_epoch(self) -> list[FixEvent]:
        return self._tracker.end_epoch()
