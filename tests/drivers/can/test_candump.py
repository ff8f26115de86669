from __future__ import annotations

import io
import re
from pathlib import Path

import can
import pytest
from can_strategies import can_frames
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.can import (
    AscReader,
    CandumpReader,
    CanFrame,
    LogLineError,
    format_candump_line,
    parse_candump_line,
)


def frame_of(text: str) -> CanFrame:
    return parse_candump_line(f"(1436509052.249713) vcan0 {text}")


def test_line_from_the_candump_manual_parses() -> None:
    frame = parse_candump_line("(1436509052.249713) vcan0 044#2A366C2BBA")
    assert frame == CanFrame(
        timestamp=1436509052.249713, arbitration_id=0x044, data=bytes.fromhex("2A366C2BBA"), channel="vcan0"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123#", {"arbitration_id": 0x123}),
        ("12345678#", {"arbitration_id": 0x12345678, "is_extended": True}),
        ("123#R", {"arbitration_id": 0x123, "is_remote": True}),
        ("123#R0", {"arbitration_id": 0x123, "is_remote": True}),
        ("123#R7", {"arbitration_id": 0x123, "is_remote": True, "remote_length": 7}),
        ("123#R8_9", {"arbitration_id": 0x123, "is_remote": True, "remote_length": 8}),
        ("7A1#r", {"arbitration_id": 0x7A1, "is_remote": True}),
        ("123#00", {"arbitration_id": 0x123, "data": b"\x00"}),
        ("123#1122334455667788", {"arbitration_id": 0x123, "data": bytes.fromhex("1122334455667788")}),
        ("123#1122334455667788_E", {"arbitration_id": 0x123, "data": bytes.fromhex("1122334455667788")}),
        ("32345678#112233", {"arbitration_id": 0x12345678, "is_error": True, "data": bytes.fromhex("112233")}),
        ("123##0112233", {"arbitration_id": 0x123, "is_fd": True, "data": bytes.fromhex("112233")}),
        ("123##1112233", {"arbitration_id": 0x123, "is_fd": True, "bitrate_switch": True, "data": bytes.fromhex("112233")}),
        ("123##2112233", {"arbitration_id": 0x123, "is_fd": True, "error_state_indicator": True, "data": bytes.fromhex("112233")}),
        ("123##3", {"arbitration_id": 0x123, "is_fd": True, "bitrate_switch": True, "error_state_indicator": True}),
        ("123##5AABB", {"arbitration_id": 0x123, "is_fd": True, "bitrate_switch": True, "data": b"\xaa\xbb"}),
    ],
)
def test_can_utils_documented_frame_forms_parse(text: str, expected: dict) -> None:
    assert frame_of(text) == CanFrame(timestamp=1436509052.249713, channel="vcan0", **expected)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "malformed"),
        ("(1.0) vcan0", "malformed"),
        ("(1.0) vcan0 123#00 X", "malformed"),
        ("1.0 vcan0 123#00", "bad_timestamp"),
        ("(1,5) vcan0 123#00", "bad_timestamp"),
        ("(1.0) vcan0 12300", "malformed"),
        ("(1.0) vcan0 1234#00", "bad_id"),
        ("(1.0) vcan0 12G#00", "bad_id"),
        ("(1.0) vcan0 #00", "bad_id"),
        ("(1.0) vcan0 800#00", "id_out_of_range"),
        ("(1.0) vcan0 E0000000#00", "id_out_of_range"),
        ("(1.0) vcan0 123#0", "bad_data"),
        ("(1.0) vcan0 123#11.22", "bad_data"),
        ("(1.0) vcan0 123#001122334455667788", "data_too_long"),
        ("(1.0) vcan0 123#R9", "bad_remote_length"),
        ("(1.0) vcan0 123#1122_E", "bad_dlc"),
        ("(1.0) vcan0 123##", "bad_fd_flags"),
        ("(1.0) vcan0 123##8", "bad_fd_flags"),
        ("(1.0) vcan0 123##0112233445566778899", "bad_fd_length"),
        ("(1.0) vcan0 20000080#R", "error_frame_flags"),
        ("(1.0) vcan0 45123#81:00:12345678#11223344", "can_xl_unsupported"),
    ],
)
def test_bad_line_is_refused_with_its_reason(line: str, reason: str) -> None:
    with pytest.raises(LogLineError) as caught:
        parse_candump_line(line)
    assert caught.value.reason == reason


def test_direction_suffix_is_accepted_and_not_mistaken_for_rtr() -> None:
    frame = parse_candump_line("(1594172463.968006) vcan0 0C8#F000000000000000 R")
    assert not frame.is_remote and frame.data == bytes.fromhex("F000000000000000")


def test_nanosecond_timestamps_are_read() -> None:
    assert parse_candump_line("(1594172463.968006123) can0 0C8#").timestamp == pytest.approx(1594172463.968006123)


def test_format_writes_candump_layout() -> None:
    fd = CanFrame(timestamp=12.5, arbitration_id=0x1ABCDEF, is_extended=True, is_fd=True, bitrate_switch=True, data=b"\x01\x02", channel="can1")
    assert format_candump_line(fd) == "(0000000012.500000) can1 01ABCDEF##10102"
    remote = CanFrame(timestamp=1.0, arbitration_id=0x7A1, is_remote=True, remote_length=3, channel="can0")
    assert format_candump_line(remote, direction="T") == "(0000000001.000000) can0 7A1#R3 T"
    error = CanFrame(timestamp=1.0, arbitration_id=0x4, is_error=True, data=bytes(8), channel="can0")
    assert format_candump_line(error) == "(0000000001.000000) can0 20000004#0000000000000000"


def test_format_refuses_a_frame_without_a_channel() -> None:
    with pytest.raises(LogLineError) as caught:
        format_candump_line(CanFrame(timestamp=0.0, arbitration_id=1))
    assert caught.value.reason == "bad_channel"


@given(can_frames(), st.sampled_from([None, "T", "R"]))
def test_any_frame_survives_format_and_parse(frame: CanFrame, direction: str | None) -> None:
    assert parse_candump_line(format_candump_line(frame, direction=direction)) == frame


hex_digits = "0123456789ABCDEF"
canonical_lines = st.builds(
    lambda seconds, micros, channel, frame_text, direction: f"({seconds:010d}.{micros:06d}) {channel} {frame_text}{direction}",
    st.integers(0, 2**31 - 1),
    st.integers(0, 999_999),
    st.sampled_from(["can0", "vcan1", "can-2"]),
    st.one_of(
        st.builds(lambda i, d: f"{i:03X}#{d.hex().upper()}", st.integers(0, 0x7FF), st.binary(max_size=8)),
        st.builds(lambda i, d: f"{i:08X}#{d.hex().upper()}", st.integers(0, 0x1FFFFFFF), st.binary(max_size=8)),
        st.builds(lambda i, n: f"{i:03X}#R{n or ''}", st.integers(0, 0x7FF), st.integers(0, 8)),
        st.builds(
            lambda i, f, n, d: f"{i:03X}##{f:X}{d[:n].hex().upper()}",
            st.integers(0, 0x7FF),
            st.integers(0, 3),
            st.sampled_from([0, 1, 8, 12, 16, 20, 24, 32, 48, 64]),
            st.binary(min_size=64, max_size=64),
        ),
        st.builds(lambda e, d: f"{0x20000000 | e:08X}#{d.hex().upper()}", st.integers(0, 0x1FFFFFFF), st.binary(max_size=8)),
    ),
    st.sampled_from(["", " T", " R"]),
)


@given(canonical_lines)
def test_canonical_line_survives_parse_and_format(line: str) -> None:
    direction = line[-1] if line.endswith((" T", " R")) else None
    assert format_candump_line(parse_candump_line(line), direction=direction) == line


line_text = st.one_of(
    st.text(max_size=120),
    st.text(alphabet="()0123456789.#RrTxX_ vcanABCDEFabcdef\t", max_size=80),
    canonical_lines.flatmap(lambda line: st.integers(0, len(line)).map(lambda cut: line[:cut] + line[cut + 1 :])),
)


@given(line_text)
def test_any_text_parses_or_raises_a_log_line_error(line: str) -> None:
    try:
        frame = parse_candump_line(line)
    except LogLineError as exc:
        assert re.fullmatch(r"[a-z_]+", exc.reason)
        return
    assert isinstance(frame, CanFrame)


@given(st.lists(st.one_of(canonical_lines, line_text), max_size=20), st.data())
def test_reader_never_raises_and_chunking_does_not_change_the_result(lines: list[str], data: st.DataObject) -> None:
    blob = "\n".join(lines).encode("utf-8", "surrogatepass")
    whole = CandumpReader()
    expected = whole.feed(blob) + whole.close()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(blob)), max_size=6)))
    chunked = CandumpReader()
    frames = []
    for start, end in zip([0, *cuts], [*cuts, len(blob)], strict=True):
        frames += chunked.feed(blob[start:end])
    frames += chunked.close()
    assert frames == expected
    assert chunked.rejections.snapshot() == whole.rejections.snapshot()


@given(st.lists(st.one_of(canonical_lines, line_text, st.just("DROPCOUNT: dropped 1 CAN frame")), max_size=20))
def test_every_line_is_a_frame_a_rejection_or_skipped(lines: list[str]) -> None:
    reader = CandumpReader()
    frames = reader.read_lines(lines)
    assert len(frames) + reader.rejections.total + reader.skipped.total == sum(1 for line in lines if line.strip())


@given(st.binary(max_size=300))
def test_reader_takes_any_bytes(blob: bytes) -> None:
    reader = CandumpReader()
    frames = reader.feed(blob) + reader.close()
    assert all(isinstance(frame, CanFrame) for frame in frames)


def test_reader_counts_bad_lines_and_keeps_the_good_ones() -> None:
    reader = CandumpReader()
    log = (
        b"(1594172461.968006) vcan0 0C8#F000000000000000\n"
        b"(1594172462.126542) vcan0 064#F001FFFFFFFFFFFFFFFF\n"
        b"DROPCOUNT: dropped 3 CAN frames on 'vcan0' socket (total drops 3)\r\n"
        b"\n"
        b"garbage\n"
        b"(1594172462.356874) vcan0 1F4#01020304"
    )
    frames = reader.feed(log) + reader.close()
    assert [frame.arbitration_id for frame in frames] == [0x0C8, 0x1F4]
    assert reader.rejections.snapshot() == {"data_too_long": 1, "malformed": 1}
    assert reader.skipped["dropcount"] == 1


def test_overlong_line_is_dropped_without_losing_the_next() -> None:
    reader = CandumpReader()
    frames = reader.feed(b"(1.000000) can0 123#" + b"00" * 5000)
    frames += reader.feed(b"00\n(2.000000) can0 124#01\n")
    assert [frame.arbitration_id for frame in frames] == [0x124]
    assert reader.rejections.snapshot() == {"line_too_long": 1}


# Real data: the candump -L lines quoted in cantools' test suite (captures from a real CAN FD car
# bus among them) and the ASC captures shipped with python-can, re-encoded as candump -L.

CANDUMP_LOG_LINE = re.compile(r"\([0-9]+\.[0-9]+\)\s+\S+\s+[0-9A-Fa-f]+#[0-9A-Za-z#._]*(?:\s+[TR]\b)?")


def cantools_candump_lines(cantools_sdist: Path) -> list[str]:
    lines: list[str] = []
    for source in sorted((cantools_sdist / "tests").glob("test_*.py")):
        for match in CANDUMP_LOG_LINE.finditer(source.read_text(encoding="utf-8")):
            if match.group(0) not in lines:
                lines.append(match.group(0))
    return lines


def test_real_candump_lines_agree_with_python_can(cantools_sdist: Path) -> None:
    lines = cantools_candump_lines(cantools_sdist)
    assert len(lines) >= 40
    reader = CandumpReader()
    frames = reader.read_lines(lines)
    # One quoted line is a 10-byte classic frame cantools keeps to test its own size check.
    assert reader.rejections.snapshot() == {"data_too_long": 1}
    assert {len(frame.data) for frame in frames if frame.is_fd} >= {32, 48}
    theirs = list(can.CanutilsLogReader(io.StringIO("\n".join(lines) + "\n")))
    theirs = [message for message in theirs if len(message.data) <= 8 or message.is_fd]
    assert len(theirs) == len(frames)
    for frame, message in zip(frames, theirs, strict=True):
        assert frame.timestamp == message.timestamp
        if frame.is_error:
            # can-utils: an 8-digit id with CAN_ERR_FLAG is an error frame; python-can reads
            # these lines its own way.
            continue
        assert frame.channel == message.channel
        assert (frame.arbitration_id, frame.is_extended, frame.is_remote, frame.is_fd, frame.data) == (
            message.arbitration_id,
            message.is_extended_id,
            message.is_remote_frame,
            message.is_fd,
            bytes(message.data),
        )


@pytest.mark.parametrize("log_name", ["issue_1256.asc", "issue_1299.asc", "logfile.asc", "test_CanFdMessage.asc"])
def test_real_asc_capture_survives_conversion_to_candump(python_can_sdist: Path, log_name: str) -> None:
    asc = AscReader()
    frames = asc.feed((python_can_sdist / "test" / "data" / log_name).read_bytes()) + asc.close()
    assert frames
    candump = CandumpReader()
    text = "\n".join(format_candump_line(frame) for frame in frames).encode()
    assert candump.feed(text) + candump.close() == frames
