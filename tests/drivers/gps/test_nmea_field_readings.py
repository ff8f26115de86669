"""The parser reads the usual field forms by table lookup and every other form the careful way;
whichever way a field goes, it must read the same.
"""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from nmea_strategies import frame, gsa, gsv

from carnel.drivers.gps import NmeaError, parse_sentence
from carnel.drivers.gps import fields as fd

GENEROUS = 200


def reading(read, *args):
    try:
        return ("value", read(*args))
    except NmeaError as error:
        return ("error", error.reason, error.detail)


@given(st.one_of(
    st.text(alphabet="0123456789.", max_size=14),
    st.tuples(st.integers(0, 25), st.integers(0, 61), st.integers(0, 61),
              st.sampled_from(["", "."]), st.text(alphabet="0123456789", max_size=8)).map(
        lambda t: f"{t[0]:02d}{t[1]:02d}{t[2]:02d}{t[3]}{t[4] if t[3] else ''}"),
))
def test_times_read_the_same_by_table_and_digit_by_digit(text):
    table = reading(fd.utc_time.__wrapped__, text, "time")
    careful = reading(fd._any_utc_time, text, "time") if text else ("value", None)
    assert table == careful


@given(st.text(alphabet="0123456789+- ._", max_size=6))
def test_counts_read_the_same_by_table_and_by_int(text):
    expected = ("value", None) if not text else (
        ("value", int(text)) if text.isdigit() else
        ("error", "bad_field", f"n={text!r}: not a non-negative integer"))
    assert reading(fd.count, text, "n") == expected


def refields(line: bytes) -> list[str]:
    return line[1:line.rindex(b"*")].decode("ascii").split(",")


@given(gsv())
def test_a_gsv_reads_the_same_with_an_empty_padding_slot(case):
    line, expected = case
    fields = refields(line)
    extra = (len(fields) - 4) % 4
    padded = fields[:len(fields) - extra] + ["", "", "", ""] + fields[len(fields) - extra:]
    assert parse_sentence(frame(padded), GENEROUS) == expected


@given(gsv())
def test_a_gsv_reads_the_same_with_a_prn_written_long(case):
    line, expected = case
    fields = refields(line)
    if len(fields) < 8:
        return
    fields[4] = fields[4].zfill(5)
    assert parse_sentence(frame(fields), GENEROUS) == expected


@given(gsa())
def test_a_gsa_reads_the_same_with_a_prn_written_long(case):
    line, expected = case
    fields = refields(line)
    if not fields[3]:
        return
    fields[3] = fields[3].zfill(5)
    assert parse_sentence(frame(fields), GENEROUS) == expected
