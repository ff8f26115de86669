"""GPS driver: NMEA 0183 parsing, the sentence stream, the fix model and log replay (sans-I/O)."""
from __future__ import annotations

from carnel.drivers.gps.errors import NmeaError, Reason
from carnel.drivers.gps.fix import Fix, FixEvent, FixLost, FixTracker
from carnel.drivers.gps.nmea import MAX_SENTENCE_LENGTH, checksum, parse_sentence
from carnel.drivers.gps.protocol import NmeaEvent, NmeaStats, NmeaStream, Rejected
from carnel.drivers.gps.replay import LogRecord, ReplayStep, pace, read_line, read_log
from carnel.drivers.gps.sentences import (
    GGA,
    GLL,
    GNS,
    GSA,
    GSV,
    RMC,
    VTG,
    ZDA,
    FixQuality,
    FixType,
    PositionMode,
    SatelliteInView,
    Sentence,
)

__all__ = [
    "GGA", "GLL", "GNS", "GSA", "GSV", "MAX_SENTENCE_LENGTH", "RMC", "VTG", "ZDA", "Fix",
    "FixEvent", "FixLost", "FixQuality", "FixTracker", "FixType", "LogRecord", "NmeaError",
    "NmeaEvent", "NmeaStats", "NmeaStream", "PositionMode", "Reason", "Rejected", "ReplayStep",
    "SatelliteInView", "Sentence", "checksum", "pace", "parse_sentence", "read_line", "read_log",
]
