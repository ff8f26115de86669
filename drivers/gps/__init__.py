"""GPS driver: NMEA 0183 and gpsd protocols, the fix model and log replay (sans-I/O).

The adapters (serial_port, gpsd_client, replay_source) and the bus wiring (service) are
imported from their modules; `python -m carnel.drivers.gps` runs the driver.
"""
from __future__ import annotations

from carnel.drivers.gps.config import GpsConfig
from carnel.drivers.gps.errors import NmeaError, Reason
from carnel.drivers.gps.fix import Fix, FixEvent, FixLost, FixTracker
from carnel.drivers.gps.gpsd import WATCH, GpsdReceiver
from carnel.drivers.gps.nmea import MAX_SENTENCE_LENGTH, checksum, parse_sentence
from carnel.drivers.gps.protocol import NmeaEvent, NmeaStats, NmeaStream, Rejected
from carnel.drivers.gps.publication import FixPublication, gps_fix
from carnel.drivers.gps.receiver import NmeaReceiver, Received, Receiver
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
    "GGA", "GLL", "GNS", "GSA", "GSV", "MAX_SENTENCE_LENGTH", "RMC", "VTG", "WATCH", "ZDA", "Fix",
    "FixEvent", "FixLost", "FixPublication", "FixQuality", "FixTracker", "FixType", "GpsConfig",
    "GpsdReceiver", "LogRecord", "NmeaError", "NmeaEvent", "NmeaReceiver", "NmeaStats",
    "NmeaStream", "PositionMode", "Reason", "Received", "Receiver", "Rejected", "ReplayStep",
    "SatelliteInView", "Sentence", "checksum", "gps_fix", "pace", "parse_sentence", "read_line",
    "read_log",
]
