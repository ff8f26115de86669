"""GNSS position, published by the gps driver on `gps.fix` (retained)."""
from __future__ import annotations

import msgspec

from carnel.ipc.schemas.registry import Topic


class GpsFix(msgspec.Struct, frozen=True, kw_only=True, tag="gps_fix"):
    """The receiver's latest fix. `valid` is False when the receiver reports no fix (loss of fix
    is published too); then the position fields hold the last known values or None.

    `quality` is GGA's fix quality (0 invalid, 1 GPS, 2 DGPS, 4 RTK fixed, 5 RTK float, 6 dead
    reckoning, ...); `mode` is GSA's 1 none, 2 2D, 3 3D. Speed is in metres per second, course
    in degrees true. `time_ns` is the receiver's UTC time of the fix, `timestamp_ns` when the
    driver read it.
    """

    valid: bool
    latitude: float | None = None
    longitude: float | None = None
    altitude_m: float | None = None
    speed_mps: float | None = None
    course_deg: float | None = None
    quality: int = 0
    mode: int = 1
    satellites: int | None = None
    hdop: float | None = None
    time_ns: int | None = None
    timestamp_ns: int = 0
    talker: str = ""


TOPICS = (Topic("gps.fix", GpsFix),)
