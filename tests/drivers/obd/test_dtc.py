from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.obd import AdapterError, Dtc, UsageError
from carnel.drivers.obd.dtc import decode_dtcs


@pytest.mark.parametrize(("wire", "code"), [
    ("0301", "P0301"), ("0133", "P0133"), ("4123", "C0123"), ("8003", "B0003"),
    ("C100", "U0100"), ("1234", "P1234"), ("FFFF", "U3FFF"),
])
def test_two_bytes_decode_to_the_j2012_code(wire: str, code: str) -> None:
    high, low = bytes.fromhex(wire)
    assert str(Dtc.from_bytes(high, low)) == code
    assert Dtc(code).to_bytes() == bytes.fromhex(wire)


@given(st.integers(0, 0xFF), st.integers(0, 0xFF))
def test_every_byte_pair_is_a_code_that_encodes_back(high: int, low: int) -> None:
    assert Dtc.from_bytes(high, low).to_bytes() == bytes((high, low))


@pytest.mark.parametrize("code", ["P4301", "X0301", "P030", "p0301", "P0301 "])
def test_malformed_codes_are_refused(code: str) -> None:
    with pytest.raises(UsageError):
        Dtc(code)


def test_can_answers_carry_a_count_and_may_be_padded() -> None:
    payload = bytes.fromhex("43 02 03 01 01 33 00 00".replace(" ", ""))
    assert decode_dtcs(payload, counted=True) == (Dtc("P0301"), Dtc("P0133"))


def test_legacy_answers_drop_the_zero_padding() -> None:
    payload = bytes.fromhex("43 01 33 00 00 00 00".replace(" ", ""))
    assert decode_dtcs(payload, counted=False) == (Dtc("P0133"),)


def test_a_count_larger_than_the_data_is_a_typed_error() -> None:
    with pytest.raises(AdapterError) as caught:
        decode_dtcs(bytes.fromhex("43030301"), counted=True)
    assert caught.value.reason == "dtc_count_mismatch"


@given(st.binary(max_size=40), st.booleans())
def test_any_payload_decodes_or_raises_the_typed_error(payload: bytes, counted: bool) -> None:
    try:
        decode_dtcs(b"\x43" + payload, counted)
    except AdapterError:
        pass
