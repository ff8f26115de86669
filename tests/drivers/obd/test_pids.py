from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.obd import PIDS, AdapterError, UsageError, Unit, decode_pid, encode_pid
from carnel.drivers.obd.pids import BITMAP_PIDS, decode_bitmap, encode_bitmap

REQUIRED = (0x04, 0x05, 0x0B, 0x0C, 0x0D, 0x0F, 0x10, 0x11, 0x1F, 0x2F, 0x33, 0x42, 0x46, 0x5C)


@pytest.mark.parametrize(("pid", "data", "value", "unit"), [
    # worked examples in the style of SAE J1979 Annex B / the Wikipedia OBD-II PID table
    (0x04, "FF", 100.0, Unit.PERCENT),
    (0x05, "7B", 83, Unit.CELSIUS),
    (0x0B, "65", 101, Unit.KILOPASCAL),
    (0x0C, "1AF8", 1726.0, Unit.RPM),
    (0x0D, "32", 50, Unit.KILOMETRES_PER_HOUR),
    (0x0F, "00", -40, Unit.CELSIUS),
    (0x10, "FFFF", 655.35, Unit.GRAMS_PER_SECOND),
    (0x11, "80", 50.196, Unit.PERCENT),
    (0x1F, "0E10", 3600, Unit.SECONDS),
    (0x2F, "00", 0.0, Unit.PERCENT),
    (0x33, "64", 100, Unit.KILOPASCAL),
    (0x42, "3A98", 15.0, Unit.VOLTS),
    (0x46, "3C", 20, Unit.CELSIUS),
    (0x5C, "FF", 215, Unit.CELSIUS),
    (0x06, "80", 0.0, Unit.PERCENT),
    (0x0E, "00", -64.0, Unit.DEGREES),
])
def test_j1979_formulas_decode_known_values(pid: int, data: str, value: float, unit: Unit) -> None:
    decoded = decode_pid(pid, bytes.fromhex(data))
    assert decoded.value == pytest.approx(value, abs=1e-3)
    assert decoded.unit is unit


def test_every_pid_the_issue_names_has_a_formula() -> None:
    assert set(REQUIRED) <= set(PIDS)


def test_too_few_data_bytes_is_a_typed_error() -> None:
    with pytest.raises(AdapterError) as caught:
        decode_pid(0x0C, b"\x1a")
    assert caught.value.reason == "short_payload"


def test_a_pid_without_a_formula_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        decode_pid(0x02, b"\x00\x00")
    assert caught.value.reason == "unknown_pid"


@given(st.sampled_from(sorted(PIDS)), st.data())
def test_every_raw_value_survives_decode_then_encode(pid: int, data: st.DataObject) -> None:
    spec = PIDS[pid]
    raw = data.draw(st.binary(min_size=spec.length, max_size=spec.length))
    assert encode_pid(pid, decode_pid(pid, raw).value) == raw


@given(st.sampled_from(sorted(PIDS)), st.data())
def test_every_value_in_range_survives_encode_then_decode_within_resolution(
        pid: int, data: st.DataObject) -> None:
    spec = PIDS[pid]
    value = data.draw(st.floats(spec.minimum, spec.maximum))
    decoded = decode_pid(pid, encode_pid(pid, value)).value
    assert abs(decoded - value) <= spec.resolution / 2 + 1e-9


@given(st.sampled_from(sorted(PIDS)), st.floats(allow_nan=False))
def test_out_of_range_values_clamp_to_the_nearest_end(pid: int, value: float) -> None:
    spec = PIDS[pid]
    decoded = decode_pid(pid, encode_pid(pid, value)).value
    assert spec.minimum - 1e-9 <= decoded <= spec.maximum + 1e-9
    if value > spec.maximum:
        assert decoded == pytest.approx(spec.maximum)


def test_nan_cannot_be_encoded() -> None:
    with pytest.raises(UsageError):
        encode_pid(0x0D, math.nan)


def test_bitmap_bits_name_the_following_pids() -> None:
    # BE 1F A8 13: the J1979 example answer to 01 00
    assert decode_bitmap(0x00, bytes.fromhex("BE1FA813")) == {
        0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x13, 0x15,
        0x1C, 0x1F, 0x20}


@given(st.sampled_from(BITMAP_PIDS), st.frozensets(st.integers(1, 0xFF)))
def test_bitmaps_round_trip_their_range(base: int, pids: frozenset[int]) -> None:
    in_range = frozenset(pid for pid in pids if base < pid <= base + 32)
    assert decode_bitmap(base, encode_bitmap(base, pids)) == in_range
