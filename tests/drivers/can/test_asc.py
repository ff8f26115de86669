from __future__ import annotations

import io
from pathlib import Path

import can
import pytest
from can_strategies import can_frames
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.can import AscReader, CanFrame, LogLineError

HEADER = "date Sam Sep 30 15:06:13.191 2017\nbase hex  timestamps absolute\ninternal events logged\n"


def read(text: str) -> tuple[list[CanFrame], AscReader]:
    reader = AscReader()
    frames = reader.feed(text.encode("latin-1")) + reader.close()
    return frames, reader


def test_header_is_read_and_not_counted_as_rejection() -> None:
    _, reader = read(HEADER + "// version 9.0.0\nBegin Triggerblock Sam Sep 30 15:06:13.191 2017\n")
    assert reader.header_date == "Sam Sep 30 15:06:13.191 2017"
    assert reader.rejections.total == 0
    assert reader.skipped.snapshot() == {"comment": 1, "header": 4}


def test_classic_frame_with_bit_timing_trailer() -> None:
    frames, _ = read(HEADER + "  17.876708 1  6F9             Rx   d 8 05 0C 00 00 00 00 00 00  Length = 240015 BitCount = 124 ID = 1785\n")
    assert frames == [CanFrame(timestamp=17.876708, arbitration_id=0x6F9, data=bytes.fromhex("050C000000000000"), channel="1")]


def test_extended_id_is_marked_with_x() -> None:
    frames, _ = read(HEADER + "   3.098426 1  18EBFF00x       Rx d 8 01 A0 0F A6 60 3B D1 40\n")
    assert frames[0].is_extended and frames[0].arbitration_id == 0x18EBFF00


def test_remote_frames_with_and_without_requested_length() -> None:
    frames, _ = read(HEADER + "   2.510001 2 100 Tx r\n   2.584921 4 300 Tx r 8 Length = 1704000 BitCount = 145 ID = 768\n")
    assert [(f.is_remote, f.remote_length, f.channel) for f in frames] == [(True, 0, "2"), (True, 8, "4")]


def test_classic_dlc_above_eight_carries_eight_bytes() -> None:
    frames, _ = read(HEADER + "  13.258671 1  3FF             Tx   d D 55 AA 01 02 03 04 05 06  Length = 232016\n")
    assert frames[0].data == bytes.fromhex("55AA010203040506")


def test_error_frames_classic_and_fd() -> None:
    frames, _ = read(
        HEADER
        + "   2.501010 1 ErrorFrame ECC: 10100010\n"
        + "  30.806898 CANFD   5 Tx ErrorFrame Not Acknowledge error, dominant error flag fffe c7 31ca\n"
    )
    assert [(f.is_error, f.channel, f.timestamp) for f in frames] == [(True, "1", 2.50101), (True, "5", 30.806898)]


def test_fd_frame_with_and_without_symbolic_name() -> None:
    trailer = "   102203  133   303000 e0006659 46500250 4b140250 20011736 2001040d"
    frames, reader = read(
        HEADER
        + f"  30.005021 CANFD   1 Rx        300                    1 0 9 12 {' '.join(['AB'] * 12)}{trailer}\n"
        + f"  30.005071 CANFD   3 Rx        30ax  Generic_Name_12  0 1 8  8 01 02 03 04 05 06 07 08{trailer}\n"
    )
    assert reader.rejections.total == 0
    assert frames == [
        CanFrame(timestamp=30.005021, arbitration_id=0x300, is_fd=True, bitrate_switch=True, data=b"\xab" * 12, channel="1"),
        CanFrame(
            timestamp=30.005071,
            arbitration_id=0x30A,
            is_extended=True,
            is_fd=True,
            error_state_indicator=True,
            data=bytes(range(1, 9)),
            channel="3",
        ),
    ]


def test_canfd_event_without_edl_flag_is_a_classic_frame() -> None:
    frames, _ = read(HEADER + "  30.300981 CANFD   3 Tx     50005x      0 0 5 0 140000 73 200050 7a60 46500250 460a0250 20011736 20010205\n")
    assert frames == [
        CanFrame(timestamp=30.300981, arbitration_id=0x50005, is_extended=True, is_remote=True, remote_length=5, channel="3")
    ]


def test_base_dec_reads_ids_and_bytes_in_decimal() -> None:
    frames, _ = read("base dec  timestamps absolute\n 1.000000 1  291  Rx   d 2 255 16\n")
    assert (frames[0].arbitration_id, frames[0].data) == (291, b"\xff\x10")


def test_relative_timestamps_add_up_from_the_start() -> None:
    frames, _ = read(
        "base hex  timestamps relative\n"
        " 0.500000 1  100 Rx d 0\n"
        " 0.250000 1  Statistic: D 0 R 0 XD 0 XR 0 E 0 O 0 B 0.00%\n"
        " 0.250000 1  100 Rx d 0\n"
    )
    assert [frame.timestamp for frame in frames] == [0.5, 1.0]


def test_events_that_are_not_frames_are_skipped_not_rejected() -> None:
    _, reader = read(
        HEADER
        + "   0.000000 Start of measurement\n"
        + "   0.015991 CAN 1 Status:chip status error passive - TxErr: 132 RxErr: 0\n"
        + "   1.015991 1  Statistic: D 0 R 0 XD 0 XR 0 E 0 O 0 B 0.00%\n"
        + "   3.297743 1  J1939TP FEE3p        6    0  0   -   Rx   d 23 A0 0F A6 60\n"
        + "   3.300000 1  123             TxRq d 1 00\n"
    )
    assert reader.rejections.total == 0
    assert reader.skipped["event"] == 5


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (" 1.000000 1  123 Rx d 8 01 02", "length_mismatch"),
        (" 1.000000 1  123 Rx d G 01", "bad_dlc"),
        (" 1.000000 1  123 Rx d 40 01", "bad_dlc"),
        (" 1.000000 1  1G3 Rx d 1 01", "bad_id"),
        (" 1.000000 1  800 Rx d 1 01", "id_out_of_range"),
        (" 1.000000 1  123 Rx d 1 101", "bad_data"),
        (" 1.000000 1  123 Rx q 1 01", "malformed"),
        (" 1.000000 CANFD 1 Rx 123 0 0 9 8 " + "00 " * 8 + "0 0 1000", "length_mismatch"),
        (" 1.000000 CANFD 1 Rx 123 0 0 f 64 " + "00 " * 64 + "0 0 0", "length_mismatch"),
        (" 1.000000 CANFD 1 Rx 123 0 0 8 8 " + "00 " * 8, "malformed"),
        (" 1.000000 CANFD 1 Rx 123 2 0 8 8 " + "00 " * 8 + "0 0 1000", "malformed"),
        ("base octal", "bad_header"),
        ("Hello", "malformed"),
    ],
)
def test_bad_line_is_refused_with_its_reason(line: str, reason: str) -> None:
    with pytest.raises(LogLineError) as caught:
        AscReader().parse_line(line)
    assert caught.value.reason == reason


asc_like_lines = st.one_of(
    st.text(max_size=120),
    st.lists(
        st.sampled_from(
            ["1.5", "0.000001", "1", "2", "CANFD", "Rx", "Tx", "d", "r", "8", "f", "64", "0", "1", "123", "1FFx",
             "ErrorFrame", "FF", "00", "base", "hex", "dec", "timestamps", "relative", "//", "date", "x"]
        ),
        max_size=80,
    ).map(" ".join),
)


@given(st.lists(asc_like_lines, max_size=30))
def test_any_lines_give_frames_or_counted_rejections(lines: list[str]) -> None:
    reader = AscReader()
    for line in lines:
        try:
            reader.parse_line(line)
        except LogLineError:
            pass
    counted = AscReader()
    frames = counted.read_lines(lines)
    assert all(isinstance(frame, CanFrame) for frame in frames)
    # Every line with content is a frame, a rejection or a skipped non-frame: none vanishes.
    assert len(frames) + counted.rejections.total + counted.skipped.total == sum(1 for line in lines if line.split())


@given(st.binary(max_size=400))
def test_reader_takes_any_bytes(blob: bytes) -> None:
    reader = AscReader()
    reader.feed(blob)
    reader.close()


def python_can_message(frame: CanFrame) -> can.Message:
    return can.Message(
        timestamp=frame.timestamp,
        arbitration_id=frame.arbitration_id,
        is_extended_id=frame.is_extended,
        is_remote_frame=frame.is_remote,
        is_error_frame=frame.is_error,
        is_fd=frame.is_fd,
        bitrate_switch=frame.bitrate_switch,
        error_state_indicator=frame.error_state_indicator,
        dlc=frame.remote_length if frame.is_remote else len(frame.data),
        data=frame.data,
        channel=int(frame.channel) - 1,
    )


@given(st.lists(can_frames(channel=st.sampled_from(["1", "2", "3"])), min_size=1, max_size=20))
def test_logs_written_by_python_can_read_back_as_the_same_frames(frames: list[CanFrame]) -> None:
    frames.sort(key=lambda frame: frame.timestamp)
    # python-can's writer keeps no error class or error data, and starts the clock at the first frame.
    frames = [frame if not frame.is_error else CanFrame(timestamp=frame.timestamp, arbitration_id=0, is_error=True, channel=frame.channel) for frame in frames]
    text = io.StringIO()
    writer = can.ASCWriter(text)
    for frame in frames:
        writer.on_message_received(python_can_message(frame))
    written = text.getvalue()
    writer.stop()
    read_back, reader = read(written)
    assert reader.rejections.total == 0
    start = frames[0].timestamp
    assert len(read_back) == len(frames)
    for ours, original in zip(read_back, frames, strict=True):
        assert ours.timestamp == pytest.approx(original.timestamp - start, abs=2e-6)
        assert ours == CanFrame(**{**{f: getattr(original, f) for f in original.__struct_fields__}, "timestamp": ours.timestamp})


# Real data: Vector ASC logs shipped in python-can's sdist. issue_1256.asc and issue_1299.asc are
# captures from CANoe 10 and 12 attached to bug reports; the others are Vector-written samples,
# some edited by hand.

EXPECTED = {
    # file: (frames, rejections)
    "issue_1256.asc": (1457, {}),
    "issue_1299.asc": (4, {}),
    "logfile.asc": (19, {"length_mismatch": 1}),
    "logfile_errorframes.asc": (12, {}),
    "test_CanErrorFrames.asc": (4, {}),
    "test_CanFdMessage.asc": (3, {}),
    "test_CanFdRemoteMessage.asc": (1, {}),
    "test_CanMessage.asc": (2, {}),
    "test_CanRemoteMessage.asc": (3, {}),
    # A hand-made 64-byte line whose flags field says "classic frame" (EDL clear).
    "test_CanFdMessage64.asc": (0, {"length_mismatch": 2}),
    # A classic line with DLC "40", made to test number locales, not a frame Vector writes.
    "single_frame.asc": (0, {"bad_dlc": 1}),
    "single_frame_us_locale.asc": (1, {}),
}


@pytest.mark.parametrize("log_name", sorted(EXPECTED))
def test_real_asc_log_reads_with_expected_counts(python_can_sdist: Path, log_name: str) -> None:
    frames, reader = read((python_can_sdist / "test" / "data" / log_name).read_bytes().decode("latin-1"))
    assert (len(frames), reader.rejections.snapshot()) == EXPECTED[log_name]


@pytest.mark.parametrize(
    "log_name",
    ["issue_1256.asc", "issue_1299.asc", "logfile_errorframes.asc", "test_CanMessage.asc", "test_CanRemoteMessage.asc", "test_CanFdMessage.asc"],
)
def test_real_asc_log_agrees_with_python_can(python_can_sdist: Path, log_name: str) -> None:
    path = python_can_sdist / "test" / "data" / log_name
    frames, _ = read(path.read_bytes().decode("latin-1"))
    with can.ASCReader(str(path)) as theirs:
        messages = list(theirs)
    assert len(frames) == len(messages)
    for frame, message in zip(frames, messages, strict=True):
        assert frame.timestamp == pytest.approx(message.timestamp, abs=1e-9)
        assert (frame.is_error, frame.is_fd) == (message.is_error_frame, message.is_fd)
        if frame.is_error:
            continue
        assert (frame.arbitration_id, frame.is_extended, frame.is_remote, frame.data) == (
            message.arbitration_id,
            message.is_extended_id,
            message.is_remote_frame,
            bytes(message.data),
        )
        assert int(frame.channel) - 1 == message.channel
        assert (frame.bitrate_switch, frame.error_state_indicator) == (message.bitrate_switch, message.error_state_indicator)
