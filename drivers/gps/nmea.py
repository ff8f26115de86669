"""Parse one NMEA 0183 sentence into a typed sentence Struct, checking its frame and checksum.

The checks run in this order, so each rejection has one reason: length, start character,
proprietary address (unsupported: their checksums are optional), checksum, encapsulated '!'
sentence (unsupported), printable ASCII, address, field count, fields.
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

# NMEA 0183 limits a sentence to 82 characters, from the start character to the CRLF inclusive.
MAX_SENTENCE_LENGTH = 82

_HEX = {f"{value:02X}".encode(): value for value in range(256)}
_HEX.update({f"{value:02x}".encode(): value for value in range(256)})
_STAR = 0x2A
_P = 0x50
_QUALITIES = {str(quality.value): quality for quality in FixQuality}
_FIX_TYPES = {str(fix_type.value): fix_type for fix_type in FixType}


def checksum(body: bytes) -> int:
    """The NMEA checksum of `body` (the bytes between the start character and '*'): their XOR."""
    # XOR-folding the bytes as one integer costs about half a Python loop over them (0.5 us
    # against 0.9 us for a 70-byte body). Each fold XORs the upper half of a power-of-two
    # width into the lower half, so the low byte ends as the XOR of all of them.
    value = int.from_bytes(body, "little")
    if len(body) <= 128:
        value ^= value >> 512
        value ^= value >> 256
        value ^= value >> 128
        value ^= value >> 64
        value ^= value >> 32
        value ^= value >> 16
        value ^= value >> 8
        return value & 0xFF
    width = 128
    while width < len(body):
        width *= 2
    while width > 1:
        width //= 2
        value ^= value >> (8 * width)
    return value & 0xFF


def parse_sentence(line: bytes, max_length: int = MAX_SENTENCE_LENGTH) -> Sentence:
    """Parse one sentence, from its '$' to its checksum, without the CRLF.

    Raises NmeaError, and nothing else, for any input. `max_length` counts the CRLF, as the
    standard does.
    """
    length = len(line)
    if length + 2 > max_length:
        raise NmeaError(Reason.TOO_LONG, f"{length + 2} characters with CRLF, limit {max_length}")
    start = line[:1]
    if start != b"$" and start != b"!":
        raise NmeaError(Reason.MALFORMED, "does not start with '$' or '!'")
    encapsulated = start == b"!"
    if not encapsulated and length > 1 and line[1] == _P:
        raise NmeaError(Reason.UNSUPPORTED, "proprietary sentence " + _address(line))
    star = length - 3
    if star < 1 or line[star] != _STAR:
        raise NmeaError(Reason.CHECKSUM, "no *hh checksum at the end")
    expected = _HEX.get(line[star + 1:])
    if expected is None:
        raise NmeaError(Reason.CHECKSUM, f"checksum {line[star + 1:]!r} is not two hex digits")
    body = line[1:star]
    actual = checksum(body)
    if actual != expected:
        raise NmeaError(Reason.CHECKSUM, f"sent {expected:02X}, computed {actual:02X}")
    if encapsulated:
        raise NmeaError(Reason.UNSUPPORTED, "encapsulated sentence " + _address(line))
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise NmeaError(Reason.MALFORMED, "bytes outside ASCII") from None
    if not text.isprintable():
        raise NmeaError(Reason.MALFORMED, "control characters")
    fields = text.split(",")
    address = fields[0]
    if not address.isalnum():
        raise NmeaError(Reason.MALFORMED, f"address {address!r} is not letters and digits")
    entry = _DECODERS.get(address[2:]) if len(address) == 5 else None
    if entry is None:
        raise NmeaError(Reason.UNSUPPORTED, "sentence type " + address)
    minimum, decode = entry
    if len(fields) < minimum:
        raise NmeaError(
            Reason.MALFORMED,
            f"{address} has {len(fields) - 1} fields, at least {minimum - 1} expected",
        )
    return decode(address[:2], fields)


def _address(line: bytes) -> str:
    end = line.find(b",")
    return line[1:end if end > 0 else 8].decode("ascii", "replace")


def _gga(talker: str, f: list[str]) -> GGA:
    # MyGuide 3100 receivers leave the quality empty until their first fix.
    quality = _QUALITIES.get(f[6]) if f[6] else FixQuality.INVALID
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
        dgps_station=fd.text_or_none(f[14]) if len(f) > 14 else None,
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
        nav_status=fd.text_or_none(f[13]) if len(f) > 13 else None,
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
    prns = tuple(_prn(prn) for prn in f[3:15] if prn)
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
    # GSV is most of a receiver's output. When its satellite fields are all plain digits (one
    # check over them joined), int() reads them at C speed; otherwise the field helpers read
    # each one (a negative elevation) or name the culprit.
    if "".join(f[4:end]).isdigit():
        satellites = tuple([
            SatelliteInView(
                prn=int(f[i]),
                elevation_deg=int(f[i + 1]) if f[i + 1] else None,
                azimuth_deg=int(f[i + 2]) if f[i + 2] else None,
                snr_db=int(f[i + 3]) if f[i + 3] else None,
            )
            for i in range(4, end, 4) if f[i]
        ])
    else:
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
        signal_id=fd.text_or_none(f[-1]) if extra else None,
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
        dgps_station=fd.text_or_none(f[12]) if len(f) > 12 else None,
        nav_status=fd.text_or_none(f[13]) if len(f) > 13 else None,
    )


# Minimum field count (the address included) and decoder, by sentence type. The minimums are
# the oldest forms seen from real receivers: NMEA 1.5's GLL has no time or status, and NMEA 2.0
# receivers end RMC at the magnetic variation.
_DECODERS: dict[str, tuple[int, Callable[[str, list[str]], Sentence]]] = {
    "GGA": (12, _gga),
    "RMC": (11, _rmc),
    "VTG": (5, _vtg),
    "GSA": (18, _gsa),
    "GSV": (4, _gsv),
    "GLL": (5, _gll),
    "ZDA": (5, _zda),
    "GNS": (11, _gns),
}
