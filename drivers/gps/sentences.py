"""Typed NMEA 0183 sentences, one frozen Struct per supported type.

Each Struct keeps the sentence's own units (knots, degrees, metres) and None for an empty field;
the fix model converts to SI. Latitude and longitude are signed decimal degrees (south and west
negative). `talker` is the two-letter talker id as sent (GP, GN, GL, GA, GB, BD, ...).
"""
from __future__ import annotations

import datetime
import enum
from typing import Union

import msgspec


class FixQuality(enum.IntEnum):
    """GGA's fix quality indicator (field 6)."""

    INVALID = 0
    GPS = 1
    DGPS = 2
    PPS = 3
    RTK_FIXED = 4
    RTK_FLOAT = 5
    DEAD_RECKONING = 6
    MANUAL = 7
    SIMULATION = 8


class FixType(enum.IntEnum):
    """GSA's fix type (field 2)."""

    NONE = 1
    FIX_2D = 2
    FIX_3D = 3


class PositionMode(enum.StrEnum):
    """The mode indicator NMEA 2.3 added to RMC, VTG, GLL and, one per constellation, GNS."""

    AUTONOMOUS = "A"
    DIFFERENTIAL = "D"
    ESTIMATED = "E"
    FLOAT_RTK = "F"
    MANUAL = "M"
    NOT_VALID = "N"
    PRECISE = "P"
    RTK = "R"
    SIMULATED = "S"


class GGA(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Global positioning system fix data: position, quality, satellites used, HDOP, altitude."""

    talker: str
    time: datetime.time | None
    lat: float | None
    lon: float | None
    quality: FixQuality
    satellites_used: int | None
    hdop: float | None
    altitude_m: float | None
    geoid_separation_m: float | None
    dgps_age_s: float | None
    dgps_station: str | None


class RMC(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Recommended minimum data: validity, position, speed, course and the date."""

    talker: str
    time: datetime.time | None
    valid: bool
    lat: float | None
    lon: float | None
    speed_knots: float | None
    course_deg: float | None
    date: datetime.date | None
    magnetic_variation_deg: float | None
    mode: PositionMode | None
    nav_status: str | None


class VTG(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Course over ground and ground speed."""

    talker: str
    course_true_deg: float | None
    course_magnetic_deg: float | None
    speed_knots: float | None
    speed_kmh: float | None
    mode: PositionMode | None


class GSA(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Fix type, the satellites used in it, and the dilutions of precision."""

    talker: str
    selection: str
    fix_type: FixType
    prns: tuple[int, ...]
    pdop: float | None
    hdop: float | None
    vdop: float | None
    system_id: int | None


class SatelliteInView(msgspec.Struct, frozen=True, gc=False):
    """One satellite of a GSV sentence; SNR is None when the satellite is not tracked.

    Positional arguments are allowed (in field order) so that the parser can build a sentence's
    satellites with map() over its fields.
    """

    prn: int
    elevation_deg: int | None
    azimuth_deg: int | None
    snr_db: int | None


class GSV(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One part of the satellites-in-view list (up to four satellites a sentence)."""

    talker: str
    message_count: int
    message_number: int
    satellites_in_view: int
    satellites: tuple[SatelliteInView, ...]
    signal_id: str | None


class GLL(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Geographic position; NMEA 1.5 receivers send no time, status or mode (None here)."""

    talker: str
    lat: float | None
    lon: float | None
    time: datetime.time | None
    valid: bool | None
    mode: PositionMode | None


class ZDA(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Time and date, with the receiver's local zone offset."""

    talker: str
    time: datetime.time | None
    date: datetime.date | None
    zone_hours: int | None
    zone_minutes: int | None


class GNS(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Multi-constellation fix data: GGA's content with one mode indicator per constellation."""

    talker: str
    time: datetime.time | None
    lat: float | None
    lon: float | None
    modes: tuple[PositionMode, ...]
    satellites_used: int | None
    hdop: float | None
    altitude_m: float | None
    geoid_separation_m: float | None
    dgps_age_s: float | None
    dgps_station: str | None
    nav_status: str | None


Sentence = Union[GGA, RMC, VTG, GSA, GSV, GLL, ZDA, GNS]
