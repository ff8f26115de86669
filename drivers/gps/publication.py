"""What the driver publishes on `gps.fix` (sans-I/O): valid fixes, and each loss of fix once.

A loss is published when the receiver reports it (no fix, or still no fix when the driver
starts, which also replaces a stale fix the kernel retained from before) and when the device
itself is lost: a position nobody updates any more is not a fix. It keeps the last known
position, as GpsFix documents; speed, course, satellites and dilution are not carried over.
"""
from __future__ import annotations

import datetime

from carnel.drivers.gps.fix import Fix, FixEvent
from carnel.drivers.gps.sentences import FixQuality, FixType, PositionMode
from carnel.ipc.schemas.gps import GpsFix

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MICROSECOND = datetime.timedelta(microseconds=1)
# A receiver that sends no GGA (or GNS) still says how it fixed, in RMC's or GLL's mode letter.
_QUALITY_BY_MODE = {
    PositionMode.DIFFERENTIAL: FixQuality.DGPS,
    PositionMode.RTK: FixQuality.RTK_FIXED,
    PositionMode.FLOAT_RTK: FixQuality.RTK_FLOAT,
    PositionMode.ESTIMATED: FixQuality.DEAD_RECKONING,
    PositionMode.MANUAL: FixQuality.MANUAL,
    PositionMode.SIMULATED: FixQuality.SIMULATION,
}


class FixPublication:
    """Turns fix events into the GpsFix messages to publish, each loss only once."""

    def __init__(self) -> None:
        self.last: GpsFix | None = None

    def update(self, events: list[FixEvent]) -> list[GpsFix]:
        """The messages for `events`, whose `received_at` is Unix time in seconds."""
        messages = []
        for event in events:
            read_ns = round(event.received_at * 1e9)
            message = gps_fix(event, read_ns) if type(event) is Fix else self._loss(read_ns)
            if message is not None:
                messages.append(message)
                self.last = message
        return messages

    def device_lost(self, now_ns: int) -> list[GpsFix]:
        """The message for a receiver that is gone or has nothing more to say, if one is due."""
        message = self._loss(now_ns)
        if message is None:
            return []
        self.last = message
        return [message]

    def _loss(self, now_ns: int) -> GpsFix | None:
        last = self.last
        if last is not None and not last.valid:
            return None
        if last is None:
            return GpsFix(valid=False, timestamp_ns=now_ns)
        return GpsFix(valid=False, latitude=last.latitude, longitude=last.longitude,
                      altitude_m=last.altitude_m, time_ns=None, timestamp_ns=now_ns,
                      talker=last.talker)


def gps_fix(fix: Fix, read_ns: int) -> GpsFix:
    """The bus message for a valid fix read at `read_ns` (Unix nanoseconds)."""
    quality = fix.quality if fix.quality is not None else _QUALITY_BY_MODE.get(
        fix.mode, FixQuality.GPS)
    # Without GSA the fix type is not sent; an altitude means the receiver solved in 3D.
    fix_type = fix.fix_type if fix.fix_type is not None else (
        FixType.FIX_3D if fix.altitude_m is not None else FixType.FIX_2D)
    utc = fix.utc
    return GpsFix(
        valid=True,
        latitude=fix.lat,
        longitude=fix.lon,
        altitude_m=fix.altitude_m,
        speed_mps=fix.speed_mps,
        course_deg=fix.course_deg,
        quality=int(quality),
        mode=int(fix_type),
        satellites=fix.satellites_used,
        hdop=fix.hdop,
        time_ns=None if utc is None else (utc - _EPOCH) // _MICROSECOND * 1000,
        timestamp_ns=read_ns,
        talker=fix.talker,
    )
