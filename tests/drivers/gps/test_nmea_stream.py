"""NmeaStream: framing, recovery after garbage, the length bound and the counters."""
from __future__ import annotations

import pytest

from carnel.drivers.gps import GGA, GSV, RMC, NmeaStats, NmeaStream, Reason, Rejected

GGA_LINE = b"$GPGGA,165007.000,4143.6058,N,08338.0778,W,1,06,1.5,204.3,M,-33.7,M,,0000*67"
RMC_LINE = b"$GPRMC,165007.000,A,4143.6058,N,08338.0778,W,0.55,36.58,180710,,,A*4F"
GSV_LINE = b"$GPGSV,1,1,00*79"


def test_sentences_come_out_in_order_with_their_types():
    events = NmeaStream().feed(GGA_LINE + b"\r\n" + RMC_LINE + b"\r\n")
    assert [type(event) for event in events] == [GGA, RMC]


def test_a_sentence_waits_for_its_line_end():
    stream = NmeaStream()
    assert stream.feed(GSV_LINE) == []
    assert stream.feed(b"\r") == []
    [event] = stream.feed(b"\n")
    assert isinstance(event, GSV)


def test_lf_alone_ends_a_sentence_too():
    [event] = NmeaStream().feed(GSV_LINE + b"\n")
    assert isinstance(event, GSV)


def test_garbage_before_a_sentence_is_counted_and_skipped():
    stream = NmeaStream()
    events = stream.feed(b"\x00\xffnoise# comment\r\n\xb5b\x01" + GSV_LINE + b"\r\n")
    assert [type(event) for event in events] == [GSV]
    assert stream.stats.garbage_bytes == len(b"\x00\xffnoise# comment") + 3


def test_a_sentence_cut_short_by_the_next_one_is_rejected_alone():
    stream = NmeaStream()
    events = stream.feed(b"$GPGGA,012530.562,4131.7353,N,09336" + RMC_LINE + b"\r\n")
    assert isinstance(events[0], Rejected)
    assert events[0].reason is Reason.CHECKSUM
    assert events[0].raw == b"$GPGGA,012530.562,4131.7353,N,09336"
    assert isinstance(events[1], RMC)


def test_a_line_without_newline_is_bounded_and_reported_once():
    stream = NmeaStream()
    events = stream.feed(b"$GPGGA,")
    for _ in range(1000):
        events += stream.feed(b"9" * 1000)
    assert [event.reason for event in events] == [Reason.TOO_LONG]
    assert len(events[0].raw) == 80
    assert len(stream._pending) <= 81
    assert [type(event) for event in stream.feed(b"\r\n" + GSV_LINE + b"\r\n")] == [GSV]


def test_after_an_over_long_sentence_the_next_dollar_starts_afresh():
    stream = NmeaStream()
    events = stream.feed(b"$PMTKCHN," + b"14001," * 30)
    events += stream.feed(GSV_LINE + b"\r\n")
    assert [getattr(event, "reason", None) for event in events] == [Reason.TOO_LONG, None]


def test_82_characters_with_crlf_is_the_default_limit():
    line_80 = b"$GPTXT,01,01,02," + b"A" * 61
    line_80 += b"*" + f"{_xor(line_80[1:]):02X}".encode()
    assert len(line_80) == 80
    stream = NmeaStream()
    [fits] = stream.feed(line_80 + b"\r\n")
    assert fits.reason is Reason.UNSUPPORTED
    over = b"$GPTXT,01,01,02," + b"A" * 62
    over += b"*" + f"{_xor(over[1:]):02X}".encode()
    [too_long] = stream.feed(over + b"\r\n")
    assert too_long.reason is Reason.TOO_LONG


def test_a_raised_limit_passes_longer_sentences():
    line = b"$GPGGA,202640.000,4404.1306,N,12118.8515,W,2,10,0.98,1127.7,M,-19.6,M,0000,0000*6C"
    assert NmeaStream().feed(line + b"\r\n")[0].reason is Reason.TOO_LONG
    assert isinstance(NmeaStream(max_length=90).feed(line + b"\r\n")[0], GGA)


def test_a_limit_that_cannot_hold_a_sentence_is_refused():
    with pytest.raises(ValueError):
        NmeaStream(max_length=4)


def test_encapsulated_and_proprietary_sentences_count_as_unsupported():
    stream = NmeaStream()
    stream.feed(b"!AIVDM,2,2,9,B,`88888888888880,2*76\r\n$PGRME,9.1,M,15.0,M,12.0,M*21\r\n")
    assert stream.stats.unsupported == 2


def test_stats_count_each_reason():
    stream = NmeaStream()
    stream.feed(
        GGA_LINE + b"\r\n"
        + GGA_LINE[:-1] + b"0\r\n"
        + b"$GPRMB,V,,,,,,,,,,,,A,S*0E\r\n"
        + b"$GPGSA,A,1,,,,*32\r\n"
        + b"$GPRMC,000231.099,A,4829.0005,N,00022.0015,E,0.15,212.28,2208-1,,,A*73\r\n"
        + b"$" + b"X" * 100 + b"\r\n"
        + b"junk\r\n"
    )
    assert stream.stats == NmeaStats(sentences=1, checksum=1, too_long=1, malformed=1,
                                     unsupported=1, bad_field=1, garbage_bytes=4)
    assert stream.stats.rejected == 5


def _xor(body: bytes) -> int:
    value = 0
    for byte in body:
        value ^= byte
    return value
