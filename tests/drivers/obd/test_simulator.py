from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.obd import AdapterConfig, SimulatedEcu, SimulatedElm327, VehicleState

VIN_ECU = SimulatedEcu(values={0x0D: 50}, vin="1D4GP00R55B123456")


def adapter(**config) -> SimulatedElm327:
    return SimulatedElm327(VehicleState((VIN_ECU,)), AdapterConfig(**config))


def test_reset_prints_the_banner_after_the_echo() -> None:
    assert adapter().receive(b"ATZ\r") == b"ATZ\r\r\rELM327 v1.5\r\r>"


def test_the_first_request_of_an_automatic_search_says_searching() -> None:
    elm = adapter(echo=False)
    assert elm.receive(b"010D\r") == b"SEARCHING...\r41 0D 32 \r\r>"
    assert elm.receive(b"010D\r") == b"41 0D 32 \r\r>"
    assert elm.receive(b"ATDPN\r") == b"A6\r\r>"


def test_an_empty_line_repeats_the_last_command() -> None:
    elm = adapter(echo=False)
    elm.receive(b"010D\r")
    assert elm.receive(b"\r") == b"41 0D 32 \r\r>"


def test_a_multi_frame_answer_without_headers_has_a_count_and_numbered_lines() -> None:
    elm = adapter(echo=False, spaces=True)
    elm.receive(b"ATSP6\r")
    assert elm.receive(b"0902\r").split(b"\r")[:4] == [
        b"014", b"0: 49 02 01 31 44 34 ", b"1: 47 50 30 30 52 35 35 ", b"2: 42 31 32 33 34 35 36 "]


def test_a_multi_frame_answer_with_headers_shows_the_iso_tp_bytes() -> None:
    elm = adapter(echo=False, spaces=False, headers=True, linefeeds=True)
    elm.receive(b"ATSP6\r")
    assert elm.receive(b"0902\r") == (b"7E81014490201314434\r\n7E82147503030523535\r\n"
                                      b"7E82242313233343536\r\n\r\n>")


def test_legacy_headers_carry_the_checksum() -> None:
    elm = adapter(echo=False, headers=True, protocol="3")
    assert elm.receive(b"ATSP3\r") == b"OK\r\r>"
    assert elm.receive(b"010D\r") == b"BUS INIT: ...OK\r48 6B 10 41 0D 32 43 \r\r>"


def test_unknown_commands_get_a_question_mark() -> None:
    elm = adapter(echo=False)
    assert elm.receive(b"ATXYZ\r") == b"?\r\r>"
    assert elm.receive(b"01G\r") == b"?\r\r>"


def test_an_unsupported_pid_is_no_data() -> None:
    assert adapter(echo=False).receive(b"0105\r").endswith(b"NO DATA\r\r>")


@given(st.binary(max_size=200))
def test_the_simulator_answers_any_input_with_bytes(data: bytes) -> None:
    assert isinstance(adapter().receive(data), bytes)
