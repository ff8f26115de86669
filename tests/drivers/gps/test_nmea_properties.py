"""Properties of the parser and the stream over generated and arbitrary input."""
from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from nmea_strategies import SENTENCES, frame

from carnel.drivers.gps import (
    MAX_SENTENCE_LENGTH,
    NmeaError,
    NmeaStream,
    Reason,
    Rejected,
    checksum,
    parse_sentence,
)

GENEROUS = 200


def assert_same_sentence(parsed, expected) -> None:
    """Equal field by field; latitude and longitude to float rounding of ddmm.mmmm."""
    assert type(parsed) is type(expected)
    for field in expected.__struct_fields__:
        got, want = getattr(parsed, field), getattr(expected, field)
        if field in ("lat", "lon") and want is not None:
            assert math.isclose(got, want, abs_tol=1e-9), field
        else:
            assert got == want, field


@given(SENTENCES)
def test_generated_sentences_parse_to_the_fields_they_were_written_from(case):
    line, expected = case
    assert_same_sentence(parse_sentence(line, max_length=GENEROUS), expected)


@given(SENTENCES, st.integers(0, 7), st.integers(1, 255))
def test_a_flipped_byte_is_rejected_as_a_checksum_error(case, bit, position_seed):
    line, _ = case
    position = 1 + position_seed % (len(line) - 4)
    corrupted = bytearray(line)
    corrupted[position] ^= 1 << bit
    if corrupted[position] in b"$!\r\n*" or (position == 1 and corrupted[1] == ord("P")):
        return
    try:
        parse_sentence(bytes(corrupted), max_length=GENEROUS)
    except NmeaError as error:
        assert error.reason is Reason.CHECKSUM
    else:
        raise AssertionError("a corrupted sentence parsed")


@given(st.binary(max_size=120))
def test_parse_raises_only_nmea_error_on_any_bytes(data):
    try:
        parse_sentence(data)
    except NmeaError:
        pass


@given(st.lists(st.sampled_from(["", "A", "V", "N", "S", "W", "E", "M", "1", "0", "-1", "99",
                                 "360.5", "1e5", "nan", "inf", "123456.789", "4143.6058",
                                 "08338.0778", "+5", " 7", "1_0", "\t", "FF", "999999"]),
                max_size=22),
       st.sampled_from(["GGA", "RMC", "VTG", "GSA", "GSV", "GLL", "ZDA", "GNS"]))
def test_checksummed_nonsense_fields_raise_only_nmea_error(fields, kind):
    try:
        parse_sentence(frame(["GP" + kind, *fields]), max_length=GENEROUS)
    except NmeaError:
        pass


@given(st.binary(max_size=600), st.lists(st.integers(1, 64), max_size=40))
def test_feed_never_raises_and_any_chunking_gives_the_same_events(data, cuts):
    whole = NmeaStream()
    expected = whole.feed(data)
    chunked = NmeaStream()
    events = []
    position = 0
    for cut in cuts:
        events += chunked.feed(data[position:position + cut])
        position += cut
    events += chunked.feed(data[position:])
    assert events == expected
    assert chunked.stats == whole.stats


NOISE = st.lists(st.one_of(
    st.binary(max_size=20),
    st.sampled_from([b"$", b"!", b"\r", b"\n", b"\r\n", b"*", b",", b"$GPGGA,", b"$P"]),
), max_size=8).map(b"".join)


@given(SENTENCES, NOISE, st.integers(0, 200))
def test_a_valid_sentence_after_any_noise_survives_a_split_at_any_byte(case, noise, cut_seed):
    line, expected = case
    data = noise + b"\r\n" + line + b"\r\n"
    cut = cut_seed % (len(data) + 1)
    stream = NmeaStream(max_length=GENEROUS)
    events = stream.feed(data[:cut]) + stream.feed(data[cut:])
    assert_same_sentence(events[-1], expected)


@given(SENTENCES)
def test_a_valid_sentence_split_at_every_byte_parses_identically(case):
    line, expected = case
    data = line + b"\r\n"
    for cut in range(len(data) + 1):
        stream = NmeaStream(max_length=GENEROUS)
        [event] = stream.feed(data[:cut]) + stream.feed(data[cut:])
        assert_same_sentence(event, expected)


@given(SENTENCES)
def test_sentences_over_the_limit_are_too_long_and_the_rest_parse(case):
    line, expected = case
    [event] = NmeaStream().feed(line + b"\r\n")
    if len(line) + 2 > MAX_SENTENCE_LENGTH:
        assert isinstance(event, Rejected)
        assert event.reason is Reason.TOO_LONG
    else:
        assert_same_sentence(event, expected)


@given(st.lists(st.binary(min_size=1, max_size=300).filter(lambda b: b"\n" not in b),
                max_size=30))
def test_the_buffer_never_grows_past_one_sentence(chunks):
    stream = NmeaStream()
    for chunk in chunks:
        stream.feed(chunk)
        assert len(stream._pending) <= MAX_SENTENCE_LENGTH - 1


@given(st.binary(max_size=100))
def test_checksum_is_the_xor_of_all_bytes(body):
    expected = 0
    for byte in body:
        expected ^= byte
    assert checksum(body) == expected


@given(st.binary(min_size=129, max_size=1200))
def test_checksum_of_bodies_longer_than_a_sentence(body):
    expected = 0
    for byte in body:
        expected ^= byte
    assert checksum(body) == expected
