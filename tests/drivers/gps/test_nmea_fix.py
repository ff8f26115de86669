"""FixTracker: epochs of real sentences combined into fixes, and losses reported once."""
from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nmea_strategies import SENTENCES, frame

from carnel.drivers.gps import (
    Fix,
    FixLost,
    FixQuality,
    FixTracker,
    FixType,
    PositionMode,
    parse_sentence,
)

# Two epochs of a Garmin Mobile 10 (data/gpsd/garmin-10x.log).
GARMIN_EPOCHS = [
    b"$GPGGA,165007.000,4143.6058,N,08338.0778,W,1,06,1.5,204.3,M,-33.7,M,,0000*67",
    b"$GPGSA,A,3,31,16,29,23,20,32,,,,,,,2.8,1.5,2.4*36",
    b"$GPGSV,3,1,10,16,74,173,27,23,42,310,21,31,40,066,23,32,39,218,22*7F",
    b"$GPGSV,3,2,10,20,38,248,21,13,16,310,,06,15,156,,29,15,048,16*7E",
    b"$GPGSV,3,3,10,03,08,171,,14,06,129,*7D",
    b"$GPRMC,165007.000,A,4143.6058,N,08338.0778,W,0.55,36.58,180710,,,A*4F",
    b"$GPGGA,165008.000,4143.6059,N,08338.0786,W,1,06,1.5,204.1,M,-33.7,M,,0000*6A",
    b"$GPGSA,A,3,31,16,29,23,20,32,,,,,,,2.8,1.5,2.4*36",
    b"$GPGSV,3,1,10,16,74,173,27,23,42,310,21,31,40,066,23,32,39,218,22*7F",
    b"$GPGSV,3,2,10,20,38,248,21,13,16,310,,06,15,156,,29,15,048,16*7E",
    b"$GPGSV,3,3,10,03,08,171,,14,06,129,*7D",
    b"$GPRMC,165008.000,A,4143.6059,N,08338.0786,W,0.32,172.38,180710,,,A*76",
]


def framed(text: str) -> bytes:
    return frame(text.split(","))


def run(lines, tracker=None, start=0.0):
    """Events per sentence, the sentence's index in `lines` as its arrival time."""
    tracker = tracker or FixTracker()
    return [tracker.update(parse_sentence(line, max_length=200), start + i)
            for i, line in enumerate(lines)]


def test_an_epoch_combines_gga_gsa_and_rmc_into_one_fix():
    events = run(GARMIN_EPOCHS)
    fixes = [event for batch in events for event in batch]
    first = fixes[0]
    assert isinstance(first, Fix)
    assert first.time == datetime.time(16, 50, 7)
    assert first.date == datetime.date(2010, 7, 18)
    assert first.utc == datetime.datetime(2010, 7, 18, 16, 50, 7, tzinfo=datetime.timezone.utc)
    assert first.lat == pytest.approx(41.726763333, abs=1e-9)
    assert first.lon == pytest.approx(-83.634630000, abs=1e-9)
    assert first.altitude_m == 204.3
    assert first.geoid_separation_m == -33.7
    assert first.speed_mps == pytest.approx(0.55 * 1852 / 3600)
    assert first.course_deg == 36.58
    assert first.quality is FixQuality.GPS
    assert first.fix_type is FixType.FIX_3D
    assert first.mode is PositionMode.AUTONOMOUS
    assert first.satellites_used == 6
    assert (first.hdop, first.pdop, first.vdop) == (1.5, 2.8, 2.4)


def test_the_first_epoch_ends_at_the_next_time_and_later_ones_at_their_last_sentence():
    events = run(GARMIN_EPOCHS)
    emitted_at = [i for i, batch in enumerate(events) if batch]
    assert emitted_at == [6, 11]
    assert [event.received_at for batch in events for event in batch] == [5.0, 11.0]



def test_a_receiver_that_pauses_after_each_epoch_is_learnt_from_two_pauses():
    # The same Garmin epochs, as a caller sees them when the receiver pauses after each one
    # and end_epoch() closes it: from the third epoch on, its last sentence closes it.
    third = [framed(line.decode()[1:-3].replace("165007.000", "165009.000"))
             for line in GARMIN_EPOCHS[:6]]
    tracker = FixTracker()
    for epoch in (GARMIN_EPOCHS[:6], GARMIN_EPOCHS[6:]):
        assert [event for batch in run(epoch, tracker) for event in batch] == []
        assert [type(event) for event in tracker.end_epoch()] == [Fix]
    events = run(third, tracker)
    assert [type(event) for event in events[-1]] == [Fix]
    assert tracker.end_epoch() == []


def test_one_pause_alone_teaches_nothing():
    tracker = FixTracker()
    run(GARMIN_EPOCHS[:6], tracker)
    tracker.end_epoch()
    events = run(GARMIN_EPOCHS[6:], tracker)
    assert [event for batch in events for event in batch] == []
    assert [type(event) for event in tracker.end_epoch()] == [Fix]

def test_end_epoch_flushes_the_open_epoch():
    tracker = FixTracker()
    run(GARMIN_EPOCHS[:6], tracker)
    [fix] = tracker.end_epoch()
    assert isinstance(fix, Fix)
    assert tracker.end_epoch() == []


def test_loss_of_fix_is_reported_once_then_the_fix_comes_back():
    lines = [
        framed("GPRMC,165007.000,A,4143.6058,N,08338.0778,W,0.55,36.58,180710,,,A"),
        framed("GPRMC,165008.000,V,,,,,,,180710,,,N"),
        framed("GPRMC,165009.000,V,,,,,,,180710,,,N"),
        framed("GPRMC,165010.000,A,4143.6059,N,08338.0786,W,0.32,172.38,180710,,,A"),
    ]
    tracker = FixTracker()
    events = [event for batch in run(lines, tracker) for event in batch] + tracker.end_epoch()
    assert [type(event) for event in events] == [Fix, FixLost, Fix]
    assert events[1].reported_by == "RMC"
    assert events[1].time == datetime.time(16, 50, 8)


@pytest.mark.parametrize(
    ("fields", "reported_by"),
    [
        (["GPGGA", "030851.00", "", "", "", "", "0", "03", "9.93", "", "", "", "", "", ""], "GGA"),
        (["GPGLL", "", "", "", "", "030851.00", "V", "N"], "GLL"),
        (["GNGNS", "030851.00", "", "", "", "", "NNNN", "00", "", "", "0.0", "", "0000"], "GNS"),
    ],
)
def test_each_kind_of_loss_report_is_named(fields, reported_by):
    tracker = FixTracker()
    tracker.update(parse_sentence(frame(fields)), 1.0)
    [lost] = tracker.end_epoch()
    assert isinstance(lost, FixLost)
    assert lost.reported_by == reported_by


def test_gsa_without_a_fix_vetoes_a_valid_rmc():
    tracker = FixTracker()
    tracker.update(parse_sentence(GARMIN_EPOCHS[5]), 1.0)
    tracker.update(parse_sentence(b"$GPGSA,A,1,,,,,,,,,,,,,,,,*32"), 1.1)
    [lost] = tracker.end_epoch()
    assert isinstance(lost, FixLost)
    assert lost.reported_by == "GSA"


def test_a_simulating_receiver_never_gives_a_fix():
    # Garmin GPSmap 76S in simulator mode (data/gpsd/GPSmap-76S.log): quality 8, RMC void.
    lines = [
        b"$GPRMC,125106,V,3854.5087,N,07726.4523,W,0.0,0.0,241011,10.5,W,S*28",
        b"$GPGGA,125106,3854.5087,N,07726.4523,W,8,10,2.0,268.8,M,-33.9,M,,*7F",
        b"$GPRMC,125108,V,3854.5087,N,07726.4523,W,0.0,0.0,241011,10.5,W,S*26",
        b"$GPGGA,125108,3854.5087,N,07726.4523,W,8,10,2.0,268.8,M,-33.9,M,,*71",
    ]
    tracker = FixTracker()
    events = [event for batch in run(lines, tracker) for event in batch] + tracker.end_epoch()
    assert [type(event) for event in events] == [FixLost]


def test_satellites_used_adds_up_the_gsa_of_each_constellation():
    # One epoch of a GlobalSat BU-353 (SiRF III) with a GPS and a GLONASS GSA.
    lines = [
        b"$GPGGA,081414.000,5541.1961,N,03737.2908,E,1,6,2.56,66.2,M,14.5,M,,*68",
        b"$GNGSA,A,3,03,19,27,13,,,,,,,,,2.75,2.56,1.00*10",
        b"$GNGSA,A,3,88,87,,,,,,,,,,,2.75,2.56,1.00*13",
        b"$GNRMC,081414.000,A,5541.1961,N,03737.2908,E,0.41,320.05,260514,,,A*74",
    ]
    tracker = FixTracker()
    run(lines, tracker)
    [fix] = tracker.end_epoch()
    assert fix.satellites_used == 6


def test_the_date_carries_over_to_epochs_without_one_on_the_same_day():
    tracker = FixTracker()
    run(GARMIN_EPOCHS[:6], tracker)
    gga_only = framed("GPGGA,165009.000,4143.6059,N,08338.0786,W,1,06,1.5,204.1,M,-33.7,M,,0000")
    tracker.update(parse_sentence(gga_only), 6.0)
    [fix] = tracker.end_epoch()
    assert fix.date == datetime.date(2010, 7, 18)
    earlier = framed("GPGGA,000001.000,4143.6059,N,08338.0786,W,1,06,1.5,204.1,M,-33.7,M,,0000")
    tracker.update(parse_sentence(earlier), 7.0)
    [after_midnight] = tracker.end_epoch()
    assert after_midnight.date is None


@given(st.lists(SENTENCES, max_size=40))
def test_any_sentence_sequence_gives_plausible_alternating_events(cases):
    tracker = FixTracker()
    events = []
    for now, (_, sentence) in enumerate(cases):
        events += tracker.update(sentence, float(now))
    events += tracker.end_epoch()
    for before, after in zip(events, events[1:]):
        assert not (isinstance(before, FixLost) and isinstance(after, FixLost))
        if isinstance(before, Fix) and isinstance(after, Fix):
            assert before.time != after.time
    for event in events:
        if isinstance(event, Fix):
            assert -90.0 <= event.lat <= 90.0
            assert -180.0 <= event.lon <= 180.0
            assert event.speed_mps is None or event.speed_mps >= 0.0
            assert event.received_at <= len(cases)
