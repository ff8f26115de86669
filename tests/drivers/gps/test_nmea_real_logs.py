"""The whole pipeline on real receivers' logs (GPSD's regression logs, see data/gpsd/SOURCES.md).

Each log's header says where it was recorded; every fix decoded from it must lie near there,
with plausible speeds, altitudes and dilutions, and every sentence must pass its checksum.
"""
from __future__ import annotations

import datetime
import math
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from carnel.drivers.gps import (
    Fix,
    FixLost,
    FixTracker,
    NmeaStream,
    Reason,
    Rejected,
    pace,
    read_log,
)

DATA = Path(__file__).parent / "data" / "gpsd"
SUPPORTED = (b"GGA", b"RMC", b"VTG", b"GSA", b"GSV", b"GLL", b"ZDA", b"GNS")
GENEROUS = 120


@dataclass(frozen=True, slots=True)
class Receiver:
    log: str
    recorded_at: tuple[float, float] | None
    date: datetime.date
    fixes: int
    losses: int


# recorded_at is the header's Location in decimal degrees (the Quectel and MT3339 headers write
# degrees and minutes); BU-353 and SiRF TriG headers name no place. `fixes` is the number of
# RMC sentences with status A in the log, `losses` the number of times it turns to V (or, for
# Quectel's time-less no-fix epochs, GGA quality 0).
RECEIVERS = [
    Receiver("garmin-10x.log", (41.7, -83.6), datetime.date(2010, 7, 18), fixes=9, losses=1),
    Receiver("GPSmap-76S.log", (38.9084, -77.4408), datetime.date(2011, 10, 24), fixes=0,
             losses=1),
    Receiver("mtk-3301.log", (52.21, 6.88), datetime.date(2008, 8, 23), fixes=4, losses=1),
    Receiver("mt3339.log", (44 + 4 / 60, -(121 + 18 / 60)), datetime.date(2015, 4, 13),
             fixes=30, losses=0),
    Receiver("bu353-glonass.log", None, datetime.date(2014, 5, 26), fixes=9, losses=1),
    Receiver("beidou-bd.log", None, datetime.date(2015, 2, 25), fixes=5, losses=1),
    Receiver("ublox-lea-4h.log", (49.126356, -122.710015), datetime.date(2006, 8, 10), fixes=9,
             losses=2),
    Receiver("ublox-zed-f9p-nmea.log", (-45.8775915, 170.500124833), datetime.date(2019, 4, 12),
             fixes=5, losses=0),
    Receiver("quectel.log", (-(36 + 44 / 60), 174 + 44 / 60), datetime.date(2020, 10, 7),
             fixes=18, losses=1),
]


def kilometres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance on a sphere of the Earth's mean radius."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def receiver_output(log: str) -> bytes:
    """The log's bytes without its '#' header lines, which the receiver never sent."""
    lines = (DATA / log).read_bytes().splitlines(keepends=True)
    return b"".join(line for line in lines if not line.startswith(b"#"))


def decode(data: bytes, max_length: int = GENEROUS):
    stream = NmeaStream(max_length=max_length)
    tracker = FixTracker()
    stream_events = stream.feed(data)
    fix_events = []
    for arrival, event in enumerate(stream_events):
        if not isinstance(event, Rejected):
            fix_events += tracker.update(event, float(arrival))
    fix_events += tracker.end_epoch()
    return stream, stream_events, fix_events


def supported_lines(data: bytes) -> int:
    lines = [line.strip() for line in data.splitlines()]
    return sum(1 for line in lines
               if line[:1] == b"$" and line[1:2] != b"P" and line[3:6] in SUPPORTED)


@pytest.fixture(params=RECEIVERS, ids=lambda receiver: receiver.log)
def receiver(request) -> Receiver:
    return request.param


def test_every_sentence_of_a_real_log_passes_its_checksum_and_parses(receiver):
    data = receiver_output(receiver.log)
    stream, events, _ = decode(data)
    rejected = [event for event in events if isinstance(event, Rejected)]
    assert {event.reason for event in rejected} <= {Reason.UNSUPPORTED, Reason.TOO_LONG}
    assert all(event.raw.startswith(b"$P") for event in rejected
               if event.reason is Reason.TOO_LONG)
    assert stream.stats.sentences == supported_lines(data)


def test_fixes_from_a_real_log_are_where_and_when_it_was_recorded(receiver):
    _, _, events = decode(receiver_output(receiver.log))
    fixes = [event for event in events if isinstance(event, Fix)]
    assert len(fixes) == receiver.fixes
    assert sum(isinstance(event, FixLost) for event in events) == receiver.losses
    for fix in fixes:
        if receiver.recorded_at is not None:
            assert kilometres((fix.lat, fix.lon), receiver.recorded_at) < 25.0
        assert fix.date is not None
        assert abs((fix.date - receiver.date).days) <= 1
        assert fix.speed_mps is None or 0.0 <= fix.speed_mps < 5.0
        assert fix.course_deg is None or 0.0 <= fix.course_deg <= 360.0
        assert fix.altitude_m is None or -100.0 < fix.altitude_m < 2000.0
        assert fix.hdop is None or 0.0 < fix.hdop < 50.0
        assert fix.satellites_used is None or 3 <= fix.satellites_used <= 40
    times = [datetime.datetime.combine(fix.date, fix.time) for fix in fixes]
    assert times == sorted(times)
    assert len(set(times)) == len(times)


def test_a_real_log_fed_in_random_chunks_decodes_the_same(receiver):
    data = receiver_output(receiver.log)
    _, whole_events, whole_fixes = decode(data)
    chunked = NmeaStream(max_length=GENEROUS)
    rng = random.Random(receiver.log)
    events, position = [], 0
    while position < len(data):
        size = rng.randint(1, 97)
        events += chunked.feed(data[position:position + size])
        position += size
    assert events == whole_events


def test_a_real_log_replays_every_sentence_in_order(receiver):
    data = receiver_output(receiver.log)
    steps = pace(read_log(data))
    replayed = b"".join(step.sentence for step in steps)
    _, events, _ = decode(data)
    _, replayed_events, _ = decode(replayed)
    assert replayed_events == events


def test_an_mt3339_exceeds_82_characters_and_a_strict_stream_keeps_its_rmc_fixes():
    data = receiver_output("mt3339.log")
    strict, events, fix_events = decode(data, max_length=82)
    too_long = [event for event in events
                if isinstance(event, Rejected) and event.reason is Reason.TOO_LONG]
    assert too_long
    assert all(event.raw.startswith(b"$GPGGA") for event in too_long)
    fixes = [event for event in fix_events if isinstance(event, Fix)]
    assert len(fixes) == 30
    assert all(fix.quality is None and fix.altitude_m is None for fix in fixes)


def test_a_ublox_f9p_fix_matches_what_gpsd_decodes():
    _, _, events = decode(receiver_output("ublox-zed-f9p-nmea.log"))
    first = next(event for event in events if isinstance(event, Fix))
    assert first.time == datetime.time(0, 39, 56)
    # GPSD 3.22's regression output (ublox-zed-f9p-nmea.log.chk) for this epoch's GGA.
    assert first.lat == pytest.approx(-45.877567167, abs=1e-9)
    assert first.lon == pytest.approx(170.500111333, abs=1e-9)
    assert first.altitude_m == 14.2
    assert first.satellites_used == 20
