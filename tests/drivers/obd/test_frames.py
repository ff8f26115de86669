from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.obd import AdapterError
from carnel.drivers.obd.elm import (ByteCount, Family, Frame, Info, Link, Numbered, Status,
                                    parse_line, parse_protocol, status_reason)
from carnel.drivers.obd.frames import EcuMessage, assemble, pending_in_line

CAN11 = Link(Family.CAN_11BIT, headers=True)
CAN11_BARE = Link(Family.CAN_11BIT, headers=False)
CAN29 = Link(Family.CAN_29BIT, headers=True)
LEGACY = Link(Family.LEGACY, headers=True)
LEGACY_BARE = Link(Family.LEGACY, headers=False)
LINKS = [CAN11, CAN11_BARE, CAN29, Link(Family.CAN_29BIT, False), LEGACY, LEGACY_BARE]


@pytest.mark.parametrize(("text", "reason"), [
    ("NO DATA", "no_data"), ("NODATA", "no_data"), ("UNABLE TO CONNECT", "unable_to_connect"),
    ("CAN ERROR", "can_error"), ("BUS INIT: ...ERROR", "bus_init_error"),
    ("BUS INIT: ERROR", "bus_init_error"), ("BUFFER FULL", "buffer_full"), ("STOPPED", "stopped"),
    ("?", "unknown_command"), ("BUS ERROR", "bus_error"), ("BUS BUSY", "bus_busy"),
    ("FB ERROR", "feedback_error"), ("DATA ERROR", "data_error"),
    ("41 0C 1A F8 <DATA ERROR", "data_error"), ("7E8 03 41 0D <RX ERROR", "rx_error"),
    ("LV RESET", "low_voltage_reset"), ("ACT ALERT", "activity_alert"), ("ERR94", "adapter_internal_error"),
])
def test_every_adapter_condition_has_a_reason(text: str, reason: str) -> None:
    assert status_reason(text) == reason
    assert parse_line(text, CAN11) == Status(reason, text)


@pytest.mark.parametrize("text", ["SEARCHING...", "BUS INIT: ...OK", "BUS INIT: ...", "OK"])
def test_progress_messages_are_not_data_or_failures(text: str) -> None:
    assert isinstance(parse_line(text, CAN11), Info)


@pytest.mark.parametrize(("text", "link", "parsed"), [
    ("7E8 03 41 0D 32", CAN11, Frame(0x7E8, bytes.fromhex("03410D32"))),
    ("7E803410D32", CAN11, Frame(0x7E8, bytes.fromhex("03410D32"))),
    ("41 0D 32 ", CAN11_BARE, Frame(None, bytes.fromhex("410D32"))),
    ("014", CAN11_BARE, ByteCount(0x14)),
    ("0: 49 02 01 31 44 34", CAN11_BARE, Numbered(0, bytes.fromhex("490201314434"))),
    ("1:47503030523535", CAN11_BARE, Numbered(1, bytes.fromhex("47503030523535"))),
    ("18 DA F1 10 03 41 0D 32", CAN29, Frame(0x18DAF110, bytes.fromhex("03410D32"))),
    ("48 6B 10 41 0D 32 F3", LEGACY, Frame(0x10, bytes.fromhex("410D32"))),
    ("SEARCHING...7E8 03 41 0D 32", CAN11, Frame(0x7E8, bytes.fromhex("03410D32"))),
])
def test_data_lines_in_each_format(text: str, link: Link, parsed: object) -> None:
    assert parse_line(text, link) == parsed


@pytest.mark.parametrize(("text", "link"), [
    ("41 0D 3", CAN11_BARE), ("HELLO", CAN11), ("7E8", CAN11), ("410D32", CAN11),
    ("48 6B 10 41", LEGACY), ("0:4", CAN11_BARE),
])
def test_malformed_lines_are_typed_errors(text: str, link: Link) -> None:
    with pytest.raises(AdapterError) as caught:
        parse_line(text, link)
    assert caught.value.reason == "unparsable_line"


def test_protocol_numbers_name_the_family() -> None:
    assert parse_protocol("A6").family is Family.CAN_11BIT
    assert parse_protocol("A6").automatic
    assert parse_protocol("7").family is Family.CAN_29BIT
    assert parse_protocol("3").family is Family.LEGACY
    for text in ("A", "0", "A0", "J", ""):
        with pytest.raises(AdapterError):
            parse_protocol(text)


# The VIN example of the ELM327 data sheet ("Multiline Responses"), printed both ways.
VIN_WITH_HEADERS = ["7E8 10 14 49 02 01 31 44 34", "7E8 21 47 50 30 30 52 35 35",
                    "7E8 22 42 31 32 33 34 35 36"]
VIN_WITHOUT_HEADERS = ["014", "0: 49 02 01 31 44 34", "1: 47 50 30 30 52 35 35",
                       "2: 42 31 32 33 34 35 36"]
VIN_PAYLOAD = bytes.fromhex("490201") + b"1D4GP00R55B123456"


def test_multi_frame_with_headers_joins_by_sequence() -> None:
    assert assemble(VIN_WITH_HEADERS, CAN11, 0x09).messages == (EcuMessage(0x7E8, VIN_PAYLOAD),)


def test_multi_frame_without_headers_joins_by_line_number() -> None:
    assert assemble(VIN_WITHOUT_HEADERS, CAN11_BARE, 0x09).messages == (EcuMessage(None, VIN_PAYLOAD),)


def test_interleaved_ecus_are_joined_separately() -> None:
    lines = ["7E8 10 14 49 02 01 31 44 34", "7E9 03 7F 09 11", "7E8 21 47 50 30 30 52 35 35",
             "7E8 22 42 31 32 33 34 35 36"]
    assembly = assemble(lines, CAN11, 0x09)
    assert set(assembly.messages) == {EcuMessage(0x7E8, VIN_PAYLOAD),
                                      EcuMessage(0x7E9, bytes.fromhex("7F0911"))}


def test_a_missing_consecutive_frame_drops_the_message_with_a_reason() -> None:
    assembly = assemble([VIN_WITH_HEADERS[0], VIN_WITH_HEADERS[2]], CAN11, 0x09)
    assert assembly.messages == ()
    assert [error.reason for error in assembly.errors] == ["isotp_sequence"]


def test_a_truncated_message_is_reported_incomplete() -> None:
    assembly = assemble(VIN_WITHOUT_HEADERS[:3], CAN11_BARE, 0x09)
    assert assembly.messages == ()
    assert [error.reason for error in assembly.errors] == ["isotp_incomplete"]


def test_padding_after_a_single_frame_is_ignored() -> None:
    assembly = assemble(["7E8 03 41 0D 32 AA AA AA AA"], CAN11, 0x01)
    assert assembly.messages == (EcuMessage(0x7E8, bytes.fromhex("410D32")),)


def test_legacy_vin_frames_are_ordered_and_joined() -> None:
    padded = b"\x00\x00\x00" + b"1HGCM82633A004352"
    frames = [f"48 6B 10 49 02 {n + 1:02X} {padded[4 * n:4 * n + 4].hex(' ')} 00" for n in range(5)]
    frames = frames[2:] + frames[:2]
    (message,) = assemble(frames, LEGACY, 0x09).messages
    assert message.payload == bytes.fromhex("490201") + padded


def test_legacy_dtc_frames_from_one_ecu_become_one_list() -> None:
    frames = ["43 01 33 03 01 00 00", "43 00 00 00 00 00 00"]
    assert assemble(frames, LEGACY_BARE, 0x03).messages == (
        EcuMessage(None, bytes.fromhex("43013303010000") + bytes(6)),)


def test_response_pending_is_seen_in_a_single_line() -> None:
    assert pending_in_line("7E8 03 7F 01 78", CAN11) == EcuMessage(0x7E8, bytes.fromhex("7F0178"))
    assert pending_in_line("7F 01 78", CAN11_BARE) == EcuMessage(None, bytes.fromhex("7F0178"))
    assert pending_in_line("7E8 03 7F 01 12", CAN11) is None
    assert pending_in_line("garbage", CAN11) is None


_TEXT = st.text(st.sampled_from("0123456789ABCDEFabcdef :.<>?NODATSERCHIG\x00\xff"), max_size=40)


@given(st.lists(_TEXT, max_size=12), st.sampled_from(LINKS), st.integers(0, 0xFF))
def test_any_lines_assemble_without_raising(lines: list[str], link: Link, service: int) -> None:
    assembly = assemble(lines, link, service)
    assert all(isinstance(error, AdapterError) for error in assembly.errors)
