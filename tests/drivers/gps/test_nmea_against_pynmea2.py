"""The parser against an independent one, pynmea2, on every sentence of the real logs.

pynmea2 checks checksums only when asked (check=True) and converts fields only when read, so
it is asked to check and its fields are read here. Where both accept a sentence, both must read
the same values; pynmea2 must refuse every sentence refused for its checksum.
"""
from __future__ import annotations

import datetime

import pynmea2
import pytest
from gps_rig import DATA

from carnel.drivers.gps import (
    GGA,
    GLL,
    GSA,
    GSV,
    RMC,
    VTG,
    ZDA,
    NmeaError,
    Reason,
    parse_sentence,
)

GENEROUS = 120
LOGS = sorted(path.name for path in DATA.glob("*.log"))


def sentences(log: str) -> list[bytes]:
    return [line.strip() for line in (DATA / log).read_bytes().splitlines()
            if line.strip()[:1] == b"$"]


def naive(moment: datetime.time | None) -> datetime.time | None:
    return None if moment is None else moment.replace(tzinfo=None)


def number(value) -> float | None:
    """pynmea2 gives a field as text, float or Decimal, by type and version: compare floats."""
    return None if value is None or value == "" else float(value)


def assert_same(ours, theirs) -> None:
    approx = pytest.approx
    kind = type(ours)
    if kind in (GGA, RMC, GLL):
        if ours.lat is None:
            assert theirs.lat == ""
        else:
            assert (ours.lat, ours.lon) == (approx(theirs.latitude, abs=1e-9),
                                            approx(theirs.longitude, abs=1e-9))
        assert ours.time == naive(theirs.timestamp)
    if kind is GGA:
        assert int(ours.quality) == (theirs.gps_qual or 0)
        assert ours.satellites_used == (int(theirs.num_sats) if theirs.num_sats else None)
        assert ours.hdop == number(theirs.horizontal_dil)
        assert ours.altitude_m == number(theirs.altitude)
        assert ours.geoid_separation_m == number(theirs.geo_sep)
    elif kind is RMC:
        assert ours.valid == (theirs.status == "A")
        assert ours.speed_knots == number(theirs.spd_over_grnd)
        assert ours.course_deg == number(theirs.true_course)
        assert ours.date == theirs.datestamp
    elif kind is GSA:
        assert int(ours.fix_type) == int(theirs.mode_fix_type)
        prns = [getattr(theirs, f"sv_id{slot:02d}") for slot in range(1, 13)]
        assert ours.prns == tuple(int(prn) for prn in prns if prn)
        assert (ours.pdop, ours.hdop, ours.vdop) == tuple(
            number(text) for text in (theirs.pdop, theirs.hdop, theirs.vdop))
    elif kind is GSV:
        assert (ours.message_count, ours.message_number) == (int(theirs.num_messages),
                                                             int(theirs.msg_num))
        theirs_prns = [int(prn) for prn in (getattr(theirs, f"sv_prn_num_{slot}")
                                            for slot in range(1, 5)) if prn]
        if ours.signal_id is not None and len(ours.satellites) < 4:
            # pynmea2 predates NMEA 4.11's signal id and reads it as one more satellite's PRN.
            assert theirs_prns.pop() == int(ours.signal_id, 16)
        assert [satellite.prn for satellite in ours.satellites] == theirs_prns
    elif kind is VTG:
        assert ours.course_true_deg == number(theirs.true_track)
        assert ours.speed_knots == number(theirs.spd_over_grnd_kts)
    elif kind is ZDA:
        assert ours.time == naive(theirs.timestamp)
        assert ours.date == (theirs.datestamp if theirs.year else None)


@pytest.mark.parametrize("log", LOGS)
def test_both_parsers_read_the_same_values_from_a_real_log(log: str) -> None:
    compared = 0
    for line in sentences(log):
        try:
            ours = parse_sentence(line, GENEROUS)
        except NmeaError as error:
            if error.reason is Reason.CHECKSUM:
                with pytest.raises(pynmea2.ParseError):
                    pynmea2.parse(line.decode("ascii", "replace"), check=True)
            continue
        theirs = pynmea2.parse(line.decode("ascii"), check=True)
        assert_same(ours, theirs)
        compared += 1
    assert compared > 0
