"""One decoder per supported sentence type: the split fields in, the typed sentence out.

A decoder gets the talker and the comma-split fields (the address first) of a sentence whose
frame and checksum are already checked, and at least the type's minimum number of fields. Bad
field text raises NmeaError(bad_field) naming the field; fields are read in order, so the first
bad one is the one named.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable

from carnel.drivers.gps import fields as fd
from carnel.drivers.gps.errors import NmeaError, Reason
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
    SatelliteInView,
    Sentence,
)

Decoder = Callable[[str, list[str]], Sentence]

# MyGuide 3100 receivers leave GGA's quality empty until their first fix.
_GGA_QUALITIES = {"": FixQuality.INVALID, **{str(q.value): q for q in FixQuality}}
_FIX_TYPES = {str(fix_type.value): fix_type for fix_type in FixType}
_numeral = fd.SHORT_NUMERALS.__getitem__


def _gga(talker: str, f: list[str]) -> GGA:
    quality = _GGA_QUALITIES.get(f[6])
    if quality is None:
        raise fd.bad("quality", f[6], "not a GGA fix quality")
    return GGA(
        talker=talker,
        time=fd.utc_time(f[1]),
        lat=fd.latitude(f[2], f[3]),
        lon=fd.longitude(f[4], f[5]),
        quality=quality,
        satellites_used=fd.count(f[7], "satellites_used"),
        hdop=fd.number(f[8], "hdop"),
        altitude_m=fd.number(f[9], "altitude"),
        geoid_separation_m=fd.number(f[11], "geoid_separation"),
        dgps_age_s=fd.number(f[13], "dgps_age") if len(f) > 13 else None,
        dgps_station=(f[14] or None) if len(f) > 14 else None,
    )


def _rmc(talker: str, f: list[str]) -> RMC:
    variation = fd.bounded(f[10], "magnetic_variation", 180.0)
    if variation is not None and len(f) > 11 and f[11] == "W":
        variation = -variation
    return RMC(
        talker=talker,
        time=fd.utc_time(f[1]),
        valid=fd.status(f[2]),
        lat=fd.latitude(f[3], f[4]),
        lon=fd.longitude(f[5], f[6]),
        speed_knots=fd.bounded(f[7], "speed"),
        course_deg=fd.bounded(f[8], "course", 360.0),
        date=fd.short_date(f[9]),
        magnetic_variation_deg=variation,
        mode=fd.mode(f[12]) if len(f) > 12 else None,
        nav_status=(f[13] or None) if len(f) > 13 else None,
    )


def _vtg(talker: str, f: list[str]) -> VTG:
    if len(f) == 5:
        # NMEA 1.5's form: true course, magnetic course, knots, km/h, without unit letters.
        return VTG(
            talker=talker,
            course_true_deg=fd.bounded(f[1], "course_true", 360.0),
            course_magnetic_deg=fd.bounded(f[2], "course_magnetic", 360.0),
            speed_knots=fd.bounded(f[3], "speed_knots"),
            speed_kmh=fd.bounded(f[4], "speed_kmh"),
            mode=None,
        )
    if len(f) < 9:
        raise NmeaError(Reason.MALFORMED, f"VTG has {len(f) - 1} fields, 4 or at least 8 expected")
    return VTG(
        talker=talker,
        course_true_deg=fd.bounded(f[1], "course_true", 360.0),
        course_magnetic_deg=fd.bounded(f[3], "course_magnetic", 360.0),
        speed_knots=fd.bounded(f[5], "speed_knots"),
        speed_kmh=fd.bounded(f[7], "speed_kmh"),
        mode=fd.mode(f[9]) if len(f) > 9 else None,
    )


def _gsa(talker: str, f: list[str]) -> GSA:
    fix_type = _FIX_TYPES.get(f[2])
    if fix_type is None:
        raise fd.bad("fix_type", f[2], "not 1, 2 or 3")
    if f[1] not in ("A", "M"):
        raise fd.bad("selection", f[1], "not A or M")
    # As in GSV: table lookups for the usual short PRNs, the careful reading for anything else.
    try:
        prns = tuple(map(_numeral, filter(None, f[3:15])))
    except KeyError:
        prns = tuple([_prn(prn) for prn in f[3:15] if prn])
    return GSA(
        talker=talker,
        selection=f[1],
        fix_type=fix_type,
        prns=prns,
        pdop=fd.number(f[15], "pdop"),
        hdop=fd.number(f[16], "hdop"),
        vdop=fd.number(f[17], "vdop"),
        system_id=_system_id(f[18]) if len(f) > 18 else None,
    )


def _system_id(text: str) -> int | None:
    # NMEA 4.10's GNSS system id is one hex digit; SiRF TriG receivers send a decimal number
    # of their own in that place, which says nothing about the system.
    if len(text) == 1 and text in "0123456789ABCDEF":
        return int(text, 16)
    return None


def _gsv(talker: str, f: list[str]) -> GSV:
    extra = (len(f) - 4) % 4
    if extra > 1:
        raise NmeaError(Reason.MALFORMED, f"GSV satellite blocks are not 4 fields ({len(f) - 1})")
    end = len(f) - extra
    # GSV is most of a receiver's output. Its satellite fields are nearly always short numerals
    # or empty, which map() turns into satellites by table lookup, without a Python-level loop
    # (four satellites in 1.1 us instead of 2.6 us with int()); anything else (a negative
    # elevation, a wrong field, a slot without a PRN) takes the field helpers, which read it or
    # name the culprit.
    blocks = f[4:end]
    satellites = None
    if "" not in blocks[::4]:
        numerals = map(_numeral, blocks)
        try:
            satellites = tuple(map(SatelliteInView, numerals, numerals, numerals, numerals))
        except KeyError:
            pass
    if satellites is None:
        satellites = tuple([
            SatelliteInView(
                prn=_prn(f[i]),
                elevation_deg=fd.signed_count(f[i + 1], "elevation"),
                azimuth_deg=fd.count(f[i + 2], "azimuth"),
                snr_db=fd.count(f[i + 3], "snr"),
            )
            for i in range(4, end, 4) if f[i]
        ])
    message_count = fd.count(f[1], "message_count")
    message_number = fd.count(f[2], "message_number")
    if message_count is None or message_number is None or not 1 <= message_number <= message_count:
        raise fd.bad("message_number", f"{f[2]} of {f[1]}", "not a part of the sequence")
    return GSV(
        talker=talker,
        message_count=message_count,
        message_number=message_number,
        satellites_in_view=fd.count(f[3], "satellites_in_view") or 0,
        satellites=satellites,
        signal_id=(f[-1] or None) if extra else None,
    )


def _prn(text: str) -> int:
    if not text.isdigit():
        raise fd.bad("prn", text, "not a satellite number")
    return int(text)


def _gll(talker: str, f: list[str]) -> GLL:
    return GLL(
        talker=talker,
        lat=fd.latitude(f[1], f[2]),
        lon=fd.longitude(f[3], f[4]),
        time=fd.utc_time(f[5]) if len(f) > 5 else None,
        valid=fd.status(f[6]) if len(f) > 6 else None,
        mode=fd.mode(f[7]) if len(f) > 7 else None,
    )


def _zda(talker: str, f: list[str]) -> ZDA:
    day, month, year = f[2], f[3], f[4]
    date = None
    if day or month or year:
        if not (day.isdigit() and month.isdigit() and len(year) == 4 and year.isdigit()):
            raise fd.bad("date", f"{day},{month},{year}", "not dd,mm,yyyy")
        try:
            date = datetime.date(int(year), int(month), int(day))
        except ValueError:
            raise fd.bad("date", f"{day},{month},{year}", "not a calendar date") from None
    return ZDA(
        talker=talker,
        time=fd.utc_time(f[1]),
        date=date,
        zone_hours=fd.signed_count(f[5], "zone_hours") if len(f) > 5 else None,
        zone_minutes=fd.count(f[6], "zone_minutes") if len(f) > 6 else None,
    )


def _gns(talker: str, f: list[str]) -> GNS:
    return GNS(
        talker=talker,
        time=fd.utc_time(f[1]),
        lat=fd.latitude(f[2], f[3]),
        lon=fd.longitude(f[4], f[5]),
        modes=fd.modes(f[6]),
        satellites_used=fd.count(f[7], "satellites_used"),
        hdop=fd.number(f[8], "hdop"),
        altitude_m=fd.number(f[9], "altitude"),
        geoid_separation_m=fd.number(f[10], "geoid_separation"),
        dgps_age_s=fd.number(f[11], "dgps_age") if len(f) > 11 else None,
        dgps_station=(f[12] or None) if len(f) > 12 else None,
        nav_status=(f[13] or None) if len(f) > 13 else None,
    )


# Minimum field count (the address included) and decoder, by sentence type. The minimums are
# the oldest forms seen from real receivers: NMEA 1.5's GLL has no time or status, and NMEA 2.0
# receivers end RMC at the magnetic variation.
DECODERS: dict[str, tuple[int, Decoder]] = {
    "GGA": (12, _gga),
    "RMC": (11, _rmc),
    "VTG": (5, _vtg),
    "GSA": (18, _gsa),
    "GSV": (4, _gsv),
    "GLL": (5, _gll),
    "ZDA": (5, _zda),
    "GNS": (11, _gns),
}
