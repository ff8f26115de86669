from __future__ import annotations

import math

import msgspec
import pytest
from can_strategies import can_frames
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.can import FD_LENGTHS, CanFrame, FrameError, dlc_to_length, length_to_dlc

FRAME_REASONS = {
    "bad_timestamp",
    "id_out_of_range",
    "remote_fd",
    "remote_with_data",
    "bad_remote_length",
    "remote_length_on_data_frame",
    "bad_fd_length",
    "data_too_long",
    "fd_flags_on_classic",
    "error_frame_flags",
}


def test_fd_dlc_maps_to_the_iso_lengths_and_back() -> None:
    assert [dlc_to_length(dlc, is_fd=True) for dlc in range(16)] == [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64,
    ]
    assert [length_to_dlc(length) for length in FD_LENGTHS] == list(range(16))


def test_classic_dlc_above_eight_still_means_eight_bytes() -> None:
    assert [dlc_to_length(dlc, is_fd=False) for dlc in range(9, 16)] == [8] * 7


@pytest.mark.parametrize("length", [9, 13, 33, 63, 65])
def test_length_without_an_fd_dlc_is_rejected(length: int) -> None:
    with pytest.raises(FrameError) as caught:
        length_to_dlc(length)
    assert caught.value.reason == "bad_fd_length"


def test_dlc_outside_a_nibble_is_rejected() -> None:
    with pytest.raises(FrameError) as caught:
        dlc_to_length(16, is_fd=True)
    assert caught.value.reason == "bad_dlc"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"arbitration_id": 0x800}, "id_out_of_range"),
        ({"arbitration_id": -1}, "id_out_of_range"),
        ({"arbitration_id": 0x20000000, "is_extended": True}, "id_out_of_range"),
        ({"arbitration_id": 1, "data": bytes(9)}, "data_too_long"),
        ({"arbitration_id": 1, "is_fd": True, "data": bytes(9)}, "bad_fd_length"),
        ({"arbitration_id": 1, "is_fd": True, "data": bytes(65)}, "bad_fd_length"),
        ({"arbitration_id": 1, "is_remote": True, "is_fd": True}, "remote_fd"),
        ({"arbitration_id": 1, "is_remote": True, "data": b"\x00"}, "remote_with_data"),
        ({"arbitration_id": 1, "is_remote": True, "remote_length": 9}, "bad_remote_length"),
        ({"arbitration_id": 1, "remote_length": 3}, "remote_length_on_data_frame"),
        ({"arbitration_id": 1, "bitrate_switch": True}, "fd_flags_on_classic"),
        ({"arbitration_id": 1, "error_state_indicator": True}, "fd_flags_on_classic"),
        ({"arbitration_id": 1, "is_error": True, "is_remote": True}, "error_frame_flags"),
        ({"arbitration_id": 1, "is_error": True, "is_fd": True}, "error_frame_flags"),
        ({"arbitration_id": 1, "is_error": True, "data": bytes(9)}, "data_too_long"),
        ({"arbitration_id": 1, "timestamp": math.nan}, "bad_timestamp"),
        ({"arbitration_id": 1, "timestamp": -0.5}, "bad_timestamp"),
    ],
)
def test_invalid_frame_is_refused_with_its_reason(fields: dict, reason: str) -> None:
    with pytest.raises(FrameError) as caught:
        CanFrame(**{"timestamp": 1.0, **fields})
    assert caught.value.reason == reason


def test_largest_ids_of_each_kind_are_valid() -> None:
    assert CanFrame(timestamp=0.0, arbitration_id=0x7FF).dlc == 0
    assert CanFrame(timestamp=0.0, arbitration_id=0x1FFFFFFF, is_extended=True).is_extended


def test_dlc_of_fd_and_remote_frames() -> None:
    assert CanFrame(timestamp=0.0, arbitration_id=1, is_fd=True, data=bytes(48)).dlc == 14
    assert CanFrame(timestamp=0.0, arbitration_id=1, is_remote=True, remote_length=6).dlc == 6


def test_frame_is_immutable() -> None:
    frame = CanFrame(timestamp=0.0, arbitration_id=1)
    with pytest.raises(AttributeError):
        frame.arbitration_id = 2  # type: ignore[misc]


@given(
    timestamp=st.floats(allow_nan=True, allow_infinity=True),
    arbitration_id=st.integers(min_value=-2, max_value=2**32),
    flags=st.fixed_dictionaries(
        {
            name: st.booleans()
            for name in ("is_extended", "is_fd", "is_remote", "is_error", "bitrate_switch", "error_state_indicator")
        }
    ),
    remote_length=st.integers(min_value=-1, max_value=10),
    data=st.binary(max_size=70),
)
def test_any_field_values_give_a_valid_frame_or_a_frame_error(
    timestamp: float, arbitration_id: int, flags: dict, remote_length: int, data: bytes
) -> None:
    try:
        frame = CanFrame(
            timestamp=timestamp, arbitration_id=arbitration_id, remote_length=remote_length, data=data, **flags
        )
    except FrameError as exc:
        assert exc.reason in FRAME_REASONS
        return
    assert frame.timestamp >= 0 and math.isfinite(frame.timestamp)
    assert 0 <= frame.arbitration_id <= (0x1FFFFFFF if frame.is_extended or frame.is_error else 0x7FF)
    assert not (frame.is_remote and (frame.is_fd or frame.data))
    assert len(frame.data) in (FD_LENGTHS if frame.is_fd else range(9))


@given(can_frames())
def test_frame_survives_a_msgpack_round_trip(frame: CanFrame) -> None:
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(frame), type=CanFrame) == frame


def test_decoding_an_invalid_frame_from_msgpack_is_a_validation_error() -> None:
    encoded = msgspec.msgpack.encode({"timestamp": 1.0, "arbitration_id": 0x800})
    with pytest.raises(msgspec.ValidationError, match="id_out_of_range"):
        msgspec.msgpack.decode(encoded, type=CanFrame)
