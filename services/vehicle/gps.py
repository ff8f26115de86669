"""A GNSS fix as vehicle signals: speed and the current location, in VSS's paths and units."""
from __future__ import annotations

from dataclasses import dataclass

from carnel.ipc.schemas.gps import GpsFix
from carnel.ipc.schemas.vehicle import Signal

SPEED = "Vehicle.Speed"
LATITUDE = "Vehicle.CurrentLocation.Latitude"
LONGITUDE = "Vehicle.CurrentLocation.Longitude"
ALTITUDE = "Vehicle.CurrentLocation.Altitude"
HEADING = "Vehicle.CurrentLocation.Heading"
PATHS = (SPEED, LATITUDE, LONGITUDE, ALTITUDE, HEADING)

KMH_PER_MPS = 3.6


@dataclass(frozen=True, slots=True)
class FixSignals:
    """What a fix says: values it gives, and paths it no longer knows (no fix, no altitude in a
    2D fix, no course while standing still), which become stale rather than None."""

    known: list[Signal]
    unknown: list[str]


def fix_signals(fix: GpsFix, source: str) -> FixSignals:
    """The signals in `fix`, reported by `source`; a fix that is not valid knows none of them."""
    if not fix.valid:
        return FixSignals(known=[], unknown=list(PATHS))
    speed_kmh = None if fix.speed_mps is None else fix.speed_mps * KMH_PER_MPS
    readings = (
        (SPEED, speed_kmh, "km/h"),
        (LATITUDE, fix.latitude, "degrees"),
        (LONGITUDE, fix.longitude, "degrees"),
        (ALTITUDE, fix.altitude_m, "m"),
        (HEADING, fix.course_deg, "degrees"),
    )
    known, unknown = [], []
    for path, value, unit in readings:
        if value is None:
            unknown.append(path)
        else:
            known.append(Signal(path=path, value=value, unit=unit,
                                timestamp_ns=fix.timestamp_ns, source=source))
    return FixSignals(known=known, unknown=unknown)
