"""Log reading and replay timing: timestamps kept when a log has them, epochs paced when not."""
from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.gps import LogRecord, checksum, pace, read_line, read_log

DATA = Path(__file__).parent / "data" / "gpsd"
RMC = b"$GPRMC,165007.000,A,4143.6058,N,08338.0778,W,0.55,36.58,180710,,,A*4F"
GGA = b"$GPGGA,165008.000,4143.6059,N,08338.0786,W,1,06,1.5,204.1,M,-33.7,M,,0000*6A"


def test_plain_lines_have_no_timestamp_and_end_with_crlf():
    assert read_line(RMC + b"\n") == LogRecord(at=None, sentence=RMC + b"\r\n")


def test_comments_blank_lines_and_binary_hold_no_sentence():
    assert read_log(b"# Name: Garmin\n\n\xb5b\x01\x07junk\n") == []


@pytest.mark.parametrize(
    ("prefix", "at"),
    [
        (b"1279471807.25 ", 1279471807.25),
        (b"1279471807,", 1279471807.0),
        (b"2010-07-18T16:50:07.25Z\t", 1279471807.25),
        (b"2010-07-18T16:50:07.25 ", 1279471807.25),
        (b"2010-07-18T18:50:07.25+02:00 ", 1279471807.25),
    ],
)
def test_a_leading_timestamp_is_read_in_unix_or_iso_form(prefix, at):
    record = read_line(prefix + RMC)
    assert record == LogRecord(at=at, sentence=RMC + b"\r\n")


def tag_block(parameters: bytes) -> bytes:
    return b"\\" + parameters + b"*" + f"{checksum(parameters):02X}".encode() + b"\\"


def test_an_nmea_4_tag_block_gives_the_time_in_seconds_or_milliseconds():
    assert read_line(tag_block(b"s:r3669961,c:1279471807") + RMC).at == 1279471807.0
    assert read_line(tag_block(b"c:1279471807250") + RMC).at == 1279471807.25


def test_a_tag_block_with_a_bad_checksum_keeps_the_sentence_without_its_time():
    record = read_line(b"\\c:1279471807*00\\" + RMC)
    assert record == LogRecord(at=None, sentence=RMC + b"\r\n")


def test_android_gnss_logger_lines_carry_milliseconds_after_the_sentence():
    record = read_line(b"NMEA," + RMC + b",1279471807250")
    assert record == LogRecord(at=1279471807.25, sentence=RMC + b"\r\n")


def test_timestamped_logs_replay_on_their_own_timing():
    records = read_log(b"100.0 " + RMC + b"\n100.5 " + GGA + b"\n102.0 " + RMC + b"\n")
    assert [step.offset_s for step in pace(records)] == [0.0, 0.5, 2.0]


def test_a_record_without_a_timestamp_goes_with_the_one_before_and_time_never_runs_back():
    records = read_log(b"100.0 " + RMC + b"\n" + GGA + b"\n99.0 " + RMC + b"\n101.0 " + GGA + b"\n")
    assert [step.offset_s for step in pace(records)] == [0.0, 0.0, 0.0, 1.0]


def test_plain_logs_replay_at_the_receivers_epoch_pace():
    steps = pace(read_log((DATA / "garmin-10x.log").read_bytes()))
    assert steps[0].offset_s == 0.0
    epoch_starts = sorted({step.offset_s for step in steps})
    # 16:50:07 to 16:50:49 in the log, gaps included (the receiver was carried indoors).
    assert epoch_starts[-1] == 42.0
    assert epoch_starts[:4] == [0.0, 1.0, 2.0, 3.0]


def test_a_receiver_that_sends_every_two_seconds_replays_every_two_seconds():
    steps = pace(read_log((DATA / "GPSmap-76S.log").read_bytes()))
    starts = sorted({step.offset_s for step in steps})
    assert {b - a for a, b in zip(starts, starts[1:])} == {2.0}


def test_a_jump_in_receiver_time_counts_as_one_epoch():
    # The MediaTek powers up at its 23:59:46 default and jumps to 08:14:33 when it gets time.
    steps = pace(read_log((DATA / "mtk-3301.log").read_bytes()))
    sentences = [step.sentence for step in steps]
    before = sentences.index(next(s for s in sentences if s.startswith(b"$GPRMC,235950.004")))
    after = sentences.index(next(s for s in sentences if s.startswith(b"$GPGGA,081433.591")))
    assert steps[after].offset_s - steps[before].offset_s == 1.0


def test_pacing_wraps_at_midnight():
    late = b"$GPGLL,,,,,235959.00,V,N"
    early = b"$GPGLL,,,,,000000.00,V,N"
    records = [LogRecord(at=None, sentence=line + b"*" + f"{checksum(line[1:]):02X}".encode()
                         + b"\r\n") for line in (late, early)]
    assert [step.offset_s for step in pace(records)] == [0.0, 1.0]


@given(st.binary(max_size=400))
def test_reading_any_bytes_never_raises_and_paces_forward(data):
    steps = pace(read_log(data))
    offsets = [step.offset_s for step in steps]
    assert offsets == sorted(offsets)
    assert all(step.sentence.endswith(b"\r\n") for step in steps)
    assert not steps or offsets[0] == 0.0


@given(st.lists(st.tuples(st.integers(0, 2_000_000_000_000), st.sampled_from([RMC, GGA])),
                max_size=20))
def test_timestamps_replay_as_their_offsets_from_the_first(stamped):
    log = b"".join(f"{millis / 1000:.3f} ".encode() + line + b"\n" for millis, line in stamped)
    offsets = [step.offset_s for step in pace(read_log(log))]
    expected, latest = [], 0.0
    for millis, _ in stamped:
        latest = max(latest, (millis - stamped[0][0]) / 1000)
        expected.append(latest)
    assert offsets == pytest.approx(expected, abs=1e-6)


def test_iso_timestamps_without_a_zone_are_utc():
    at = datetime.datetime(2010, 7, 18, 16, 50, 7, tzinfo=datetime.timezone.utc).timestamp()
    assert read_line(b"2010-07-18T16:50:07 " + RMC).at == at
