"""Hypothesis strategies for valid NMEA sentences, each with the Struct it must parse to.

Every field is drawn as a value, written as a receiver writes it, and the expected value is
what that text means, so a round trip checks the parser field by field.
"""
from __future__ import annotations

import datetime
import string

from hypothesis import strategies as st

from carnel.drivers.gps import (
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
    checksum,
)

TALKERS = st.one_of(
    st.sampled_from(["GP", "GN", "GL", "GA", "GB", "BD", "GQ", "GI"]),
    st.text(alphabet=string.ascii_uppercase.replace("P", ""), min_size=1, max_size=1).flatmap(
        lambda first: st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=1).map(
            lambda second: first + second)),
)
MODES = st.sampled_from(list(PositionMode))


def frame(fields: list[str]) -> bytes:
    """A sentence from its fields (the address first), with its checksum, without CRLF."""
    body = ",".join(fields).encode("ascii")
    return b"$" + body + b"*" + f"{checksum(body):02X}".encode()


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """The field's (text, value), or an empty field meaning None."""
    return st.one_of(st.just(("", None)), strategy)


@st.composite
def times(draw) -> tuple[str, datetime.time]:
    hours = draw(st.integers(0, 23))
    minutes = draw(st.integers(0, 59))
    seconds = draw(st.integers(0, 59))
    places = draw(st.integers(0, 3))
    fraction = draw(st.integers(0, 10 ** places - 1))
    text = f"{hours:02d}{minutes:02d}{seconds:02d}"
    micros = 0
    if places:
        text += f".{fraction:0{places}d}"
        micros = fraction * 10 ** (6 - places)
    return text, datetime.time(hours, minutes, seconds, micros)


@st.composite
def dates(draw) -> tuple[str, datetime.date]:
    day = draw(st.dates(datetime.date(1980, 1, 1), datetime.date(2079, 12, 31)))
    return day.strftime("%d%m%y"), day


@st.composite
def decimals(draw, low: int, high: int, places: int) -> tuple[str, float]:
    """A number written with `places` decimals, between low and high."""
    scaled = draw(st.integers(low * 10 ** places, high * 10 ** places))
    sign = "-" if scaled < 0 else ""
    whole, part = divmod(abs(scaled), 10 ** places)
    text = f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"
    return text, float(text)


def counts(low: int, high: int, width: int = 2) -> st.SearchStrategy:
    return st.integers(low, high).map(lambda n: (f"{n:0{width}d}", n))


@st.composite
def coordinates(draw, degree_digits: int, limit: int, hemispheres: str) -> tuple[str, str, float]:
    """NMEA's (d)ddmm.mmmm with its hemisphere letter, and the signed degrees it means."""
    degrees = draw(st.integers(0, limit - 1))
    places = draw(st.integers(0, 6))
    minutes_scaled = draw(st.integers(0, 60 * 10 ** places - 1))
    whole, part = divmod(minutes_scaled, 10 ** places)
    text = f"{degrees:0{degree_digits}d}{whole:02d}"
    if places:
        text += f".{part:0{places}d}"
    hemisphere = draw(st.sampled_from(hemispheres))
    value = degrees + minutes_scaled / 10 ** places / 60.0
    return text, hemisphere, -value if hemisphere in "SW" else value


def positions() -> st.SearchStrategy:
    """(lat text, N/S, lon text, E/W, lat, lon), or all empty."""
    return st.one_of(
        st.just(("", "", "", "", None, None)),
        st.tuples(coordinates(2, 90, "NS"), coordinates(3, 180, "EW")).map(
            lambda pair: (pair[0][0], pair[0][1], pair[1][0], pair[1][1], pair[0][2], pair[1][2])),
    )


@st.composite
def gga(draw) -> tuple[bytes, Sentence]:
    talker = draw(TALKERS)
    time_text, time = draw(optional(times()))
    lat_text, ns, lon_text, ew, lat, lon = draw(positions())
    quality = draw(st.sampled_from(list(FixQuality)))
    sats_text, sats = draw(optional(counts(0, 99)))
    hdop_text, hdop = draw(optional(decimals(0, 99, 2)))
    alt_text, alt = draw(optional(decimals(-500, 9000, 1)))
    sep_text, sep = draw(optional(decimals(-120, 120, 1)))
    age_text, age = draw(optional(decimals(0, 999, 1)))
    station = draw(st.sampled_from(["", "0000", "0133"]))
    line = frame([talker + "GGA", time_text, lat_text, ns, lon_text, ew, str(quality.value),
                  sats_text, hdop_text, alt_text, "M", sep_text, "M", age_text, station])
    return line, GGA(
        talker=talker, time=time, lat=lat, lon=lon, quality=quality, satellites_used=sats,
        hdop=hdop, altitude_m=alt, geoid_separation_m=sep, dgps_age_s=age,
        dgps_station=station or None,
    )


@st.composite
def rmc(draw) -> tuple[bytes, Sentence]:
    talker = draw(TALKERS)
    time_text, time = draw(optional(times()))
    valid = draw(st.booleans())
    lat_text, ns, lon_text, ew, lat, lon = draw(positions())
    speed_text, speed = draw(optional(decimals(0, 999, 3)))
    course_text, course = draw(optional(decimals(0, 359, 2)))
    date_text, date = draw(optional(dates()))
    variation_text, variation = draw(optional(decimals(0, 180, 1)))
    variation_side = draw(st.sampled_from("EW")) if variation_text else ""
    version = draw(st.sampled_from(["2.0", "2.3", "4.1"]))
    fields = [talker + "RMC", time_text, "A" if valid else "V", lat_text, ns, lon_text, ew,
              speed_text, course_text, date_text, variation_text, variation_side]
    mode = nav_status = None
    if version != "2.0":
        mode = draw(MODES)
        fields.append(mode.value)
    if version == "4.1":
        nav_status = draw(st.sampled_from("SCUV"))
        fields.append(nav_status)
    if variation is not None and variation_side == "W":
        variation = -variation
    return frame(fields), RMC(
        talker=talker, time=time, valid=valid, lat=lat, lon=lon, speed_knots=speed,
        course_deg=course, date=date, magnetic_variation_deg=variation, mode=mode,
        nav_status=nav_status,
    )


@st.composite
def vtg(draw) -> tuple[bytes, Sentence]:
    talker = draw(TALKERS)
    true_text, true = draw(optional(decimals(0, 359, 2)))
    magnetic_text, magnetic = draw(optional(decimals(0, 359, 2)))
    knots_text, knots = draw(optional(decimals(0, 999, 3)))
    kmh_text, kmh = draw(optional(decimals(0, 1999, 3)))
    mode = draw(st.one_of(st.none(), MODES))
    fields = [talker + "VTG", true_text, "T", magnetic_text, "M", knots_text, "N", kmh_text, "K"]
    if mode is not None:
        fields.append(mode.value)
    return frame(fields), VTG(
        talker=talker, course_true_deg=true, course_magnetic_deg=magnetic, speed_knots=knots,
        speed_kmh=kmh, mode=mode,
    )


@st.composite
def gsa(draw) -> tuple[bytes, Sentence]:
    talker = draw(TALKERS)
    selection = draw(st.sampled_from("AM"))
    fix_type = draw(st.sampled_from(list(FixType)))
    prns = draw(st.lists(st.integers(1, 99), max_size=12))
    slots = [f"{prn:02d}" for prn in prns] + [""] * (12 - len(prns))
    pdop_text, pdop = draw(optional(decimals(0, 99, 2)))
    hdop_text, hdop = draw(optional(decimals(0, 99, 2)))
    vdop_text, vdop = draw(optional(decimals(0, 99, 2)))
    system_id = draw(st.one_of(st.none(), st.integers(1, 15)))
    fields = [talker + "GSA", selection, str(fix_type.value), *slots, pdop_text, hdop_text,
              vdop_text]
    if system_id is not None:
        fields.append(f"{system_id:X}")
    return frame(fields), GSA(
        talker=talker, selection=selection, fix_type=fix_type, prns=tuple(prns), pdop=pdop,
        hdop=hdop, vdop=vdop, system_id=system_id,
    )


@st.composite
def gsv(draw) -> tuple[bytes, Sentence]:
    talker = draw(TALKERS)
    message_count = draw(st.integers(1, 9))
    message_number = draw(st.integers(1, message_count))
    in_view = draw(st.integers(0, 99))
    satellites = draw(st.lists(st.builds(
        SatelliteInView,
        prn=st.integers(1, 999),
        elevation_deg=st.one_of(st.none(), st.integers(-5, 90)),
        azimuth_deg=st.one_of(st.none(), st.integers(0, 359)),
        snr_db=st.one_of(st.none(), st.integers(0, 99)),
    ), max_size=4))
    signal_id = draw(st.one_of(st.none(), st.sampled_from("123456789ABCDEF")))
    fields = [talker + "GSV", str(message_count), str(message_number), f"{in_view:02d}"]
    for satellite in satellites:
        fields += [
            f"{satellite.prn:02d}",
            "" if satellite.elevation_deg is None else f"{satellite.elevation_deg:02d}",
            "" if satellite.azimuth_deg is None else f"{satellite.azimuth_deg:03d}",
            "" if satellite.snr_db is None else f"{satellite.snr_db:02d}",
        ]
    if signal_id is not None:
        fields.append(signal_id)
    return frame(fields), GSV(
        talker=talker, message_count=message_count, message_number=message_number,
        satellites_in_view=in_view, satellites=tuple(satellites), signal_id=signal_id,
    )


@st.composite
def gll(draw) -> tuple[bytes, Sentence]:
    talker = draw(TALKERS)
    lat_text, ns, lon_text, ew, lat, lon = draw(positions())
    fields = [talker + "GLL", lat_text, ns, lon_text, ew]
    time = valid = mode = None
    if draw(st.booleans()):
        time_text, time = draw(optional(times()))
        valid = draw(st.booleans())
        fields += [time_text, "A" if valid else "V"]
        mode = draw(st.one_of(st.none(), MODES))
        if mode is not None:
            fields.append(mode.value)
    return frame(fields), GLL(talker=talker, lat=lat, lon=lon, time=time, valid=valid, mode=mode)


@st.composite
def zda(draw) -> tuple[bytes, Sentence]:
    talker = draw(TALKERS)
    time_text, time = draw(optional(times()))
    date = draw(st.one_of(st.none(), st.dates(datetime.date(1980, 1, 1),
                                              datetime.date(2099, 12, 31))))
    date_fields = ["", "", ""] if date is None else [
        f"{date.day:02d}", f"{date.month:02d}", f"{date.year:04d}"]
    zone_hours = draw(st.integers(-13, 13))
    zone_minutes = draw(st.sampled_from([0, 30, 45]))
    return frame([talker + "ZDA", time_text, *date_fields, f"{zone_hours:+03d}",
                  f"{zone_minutes:02d}"]), ZDA(
        talker=talker, time=time, date=date, zone_hours=zone_hours, zone_minutes=zone_minutes)


@st.composite
def gns(draw) -> tuple[bytes, Sentence]:
    talker = draw(TALKERS)
    time_text, time = draw(optional(times()))
    lat_text, ns, lon_text, ew, lat, lon = draw(positions())
    modes = tuple(draw(st.lists(MODES, min_size=1, max_size=6)))
    sats_text, sats = draw(optional(counts(0, 99)))
    hdop_text, hdop = draw(optional(decimals(0, 99, 1)))
    alt_text, alt = draw(optional(decimals(-500, 9000, 1)))
    sep_text, sep = draw(optional(decimals(-120, 120, 1)))
    nav_status = draw(st.sampled_from("SCUV"))
    return frame([talker + "GNS", time_text, lat_text, ns, lon_text, ew,
                  "".join(mode.value for mode in modes), sats_text, hdop_text, alt_text,
                  sep_text, "", "", nav_status]), GNS(
        talker=talker, time=time, lat=lat, lon=lon, modes=modes, satellites_used=sats,
        hdop=hdop, altitude_m=alt, geoid_separation_m=sep, dgps_age_s=None, dgps_station=None,
        nav_status=nav_status,
    )


SENTENCES = st.one_of(gga(), rmc(), vtg(), gsa(), gsv(), gll(), zda(), gns())
