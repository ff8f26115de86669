"""The compiled framing fast path agrees with the careful checks on every input it accepts.

It may hand anything to the careful path (None); whatever it accepts must be a sentence the
careful path accepts too, with the same fields, so that the driver's answers and errors never
depend on which one ran. `make test` always builds it: a missing one fails here.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.gps import nmea
from carnel.drivers.gps.errors import NmeaError
from nmea_strategies import SENTENCES

DATA = Path(__file__).parent / "data" / "gpsd"
LIMIT = 120

if os.environ.get("CARNEL_PURE") == "1":
    pytest.skip("CARNEL_PURE=1: the compiled fast path is not built", allow_module_level=True)
from carnel.drivers.gps._framing import sentence_fields  # noqa: E402


def careful(line: bytes) -> list[str] | None:
    try:
        return nmea._checked_fields(line, LIMIT)
    except NmeaError:
        return None


def real_sentences() -> list[bytes]:
    return [line.strip() for log in sorted(DATA.glob("*.log"))
            for line in log.read_bytes().splitlines() if line.startswith(b"$GP")]


def test_the_parser_uses_the_fast_path():
    assert nmea._fast_fields is sentence_fields


def test_real_sentences_take_the_fast_path_with_the_careful_fields():
    lines = [line for line in real_sentences() if careful(line) is not None]
    assert len(lines) > 500
    assert [sentence_fields(line, LIMIT) for line in lines] == [careful(line) for line in lines]


@given(st.binary(max_size=100))
def test_any_bytes_the_fast_path_accepts_the_careful_path_accepts_alike(line):
    fields = sentence_fields(line, LIMIT)
    if fields is not None:
        assert careful(line) == fields


@given(SENTENCES.map(lambda pair: pair[0].strip()), st.data())
def test_mutated_sentences_are_never_accepted_differently(line, data):
    assert sentence_fields(line, LIMIT) == careful(line)
    position = data.draw(st.integers(0, len(line) - 1))
    mutated = line[:position] + bytes([data.draw(st.integers(0, 255))]) + line[position + 1:]
    fields = sentence_fields(mutated, LIMIT)
    if fields is not None:
        assert careful(mutated) == fields


@given(SENTENCES.map(lambda pair: pair[0].strip()), st.integers(10, 90))
def test_the_length_limit_is_the_careful_one(line, limit):
    fields = sentence_fields(line, limit)
    try:
        expected = nmea._checked_fields(line, limit)
    except NmeaError:
        expected = None
    if fields is not None:
        assert fields == expected
