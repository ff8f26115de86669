from __future__ import annotations

import ctypes

import can
import pytest
from can.interfaces.socketcan.socketcan import build_can_frame, dissect_can_frame
from can_strategies import can_frames
from hypothesis import given
from hypothesis import strategies as st

from carnel.drivers.can import CAN_MTU, CANFD_MTU, CanError, CanFrame, WireError, pack_frame, unpack_frame


class KernelCanFrame(ctypes.Structure):
    """struct can_frame from linux/can.h, laid out by the C compiler's rules."""

    _fields_ = [
        ("can_id", ctypes.c_uint32),
        ("len", ctypes.c_uint8),
        ("pad", ctypes.c_uint8),
        ("res0", ctypes.c_uint8),
        ("len8_dlc", ctypes.c_uint8),
        ("data", ctypes.c_uint8 * 8),
    ]


class KernelCanFdFrame(ctypes.Structure):
    """struct canfd_frame from linux/can.h."""

    _fields_ = [
        ("can_id", ctypes.c_uint32),
        ("len", ctypes.c_uint8),
        ("flags", ctypes.c_uint8),
        ("res0", ctypes.c_uint8),
        ("res1", ctypes.c_uint8),
        ("data", ctypes.c_uint8 * 64),
    ]


def test_mtus_are_the_kernel_struct_sizes() -> None:
    assert ctypes.sizeof(KernelCanFrame) == CAN_MTU == 16
    assert ctypes.sizeof(KernelCanFdFrame) == CANFD_MTU == 72


def test_extended_classic_frame_packs_as_the_kernel_lays_it_out() -> None:
    frame = CanFrame(timestamp=0.0, arbitration_id=0x18EBFF00, is_extended=True, data=b"\x01\xa0\x0f")
    kernel = KernelCanFrame.from_buffer_copy(pack_frame(frame))
    assert kernel.can_id == 0x80000000 | 0x18EBFF00
    assert kernel.len == 3
    assert bytes(kernel.data) == b"\x01\xa0\x0f" + bytes(5)


def test_remote_frame_packs_rtr_flag_and_requested_length() -> None:
    frame = CanFrame(timestamp=0.0, arbitration_id=0x123, is_remote=True, remote_length=5)
    kernel = KernelCanFrame.from_buffer_copy(pack_frame(frame))
    assert (kernel.can_id, kernel.len) == (0x40000000 | 0x123, 5)


def test_fd_frame_packs_fdf_and_brs_flags() -> None:
    frame = CanFrame(timestamp=0.0, arbitration_id=0x14C, is_fd=True, bitrate_switch=True, data=bytes(range(32)))
    kernel = KernelCanFdFrame.from_buffer_copy(pack_frame(frame))
    assert (kernel.can_id, kernel.len, kernel.flags) == (0x14C, 32, 0x04 | 0x01)
    assert bytes(kernel.data)[:32] == bytes(range(32))


def test_kernel_error_frame_unpacks_as_an_error_frame() -> None:
    kernel = KernelCanFrame(can_id=0x20000000 | 0x04, len=8)
    kernel.data[1] = 0x10
    frame = unpack_frame(bytes(kernel), timestamp=5.0, channel="can0")
    assert frame.is_error and frame.arbitration_id == 0x04
    assert frame.data == b"\x00\x10" + bytes(6)


def test_classic_frame_read_from_the_kernel_keeps_timestamp_and_channel() -> None:
    kernel = KernelCanFrame(can_id=0x044, len=5)
    kernel.data[:5] = [0x2A, 0x36, 0x6C, 0x2B, 0xBA]
    frame = unpack_frame(bytes(kernel), timestamp=1436509052.249713, channel="vcan0")
    assert frame == CanFrame(
        timestamp=1436509052.249713, arbitration_id=0x044, data=bytes.fromhex("2A366C2BBA"), channel="vcan0"
    )


@pytest.mark.parametrize("size", [0, 8, 15, 17, 64, 71, 73])
def test_buffer_of_another_size_is_a_wire_error(size: int) -> None:
    with pytest.raises(WireError) as caught:
        unpack_frame(bytes(size), timestamp=0.0)
    assert caught.value.reason == "bad_size"


@pytest.mark.parametrize(
    ("kernel", "reason"),
    [
        (KernelCanFrame(can_id=0x800, len=0), "id_out_of_range"),
        (KernelCanFrame(can_id=0x123, len=9), "bad_length"),
        (KernelCanFdFrame(can_id=0x123, len=9), "bad_fd_length"),
        (KernelCanFdFrame(can_id=0x123, len=65), "bad_length"),
        (KernelCanFdFrame(can_id=0x40000123, len=0), "remote_fd"),
    ],
)
def test_impossible_kernel_frame_is_refused_with_its_reason(kernel: ctypes.Structure, reason: str) -> None:
    with pytest.raises(CanError) as caught:
        unpack_frame(bytes(kernel), timestamp=0.0)
    assert caught.value.reason == reason


@given(can_frames(channel=st.just("can0")))
def test_any_frame_survives_pack_and_unpack(frame: CanFrame) -> None:
    packed = pack_frame(frame)
    assert len(packed) == (CANFD_MTU if frame.is_fd else CAN_MTU)
    assert unpack_frame(packed, timestamp=frame.timestamp, channel="can0") == frame


@given(st.one_of(st.binary(min_size=CAN_MTU, max_size=CAN_MTU), st.binary(min_size=CANFD_MTU, max_size=CANFD_MTU)))
def test_any_kernel_sized_buffer_unpacks_or_raises_a_can_error(buffer: bytes) -> None:
    try:
        frame = unpack_frame(buffer, timestamp=0.0)
    except CanError:
        return
    assert unpack_frame(pack_frame(frame), timestamp=0.0) == frame


@given(can_frames(channel=st.just("can0")).filter(lambda frame: not frame.is_error))
def test_packing_agrees_with_python_can(frame: CanFrame) -> None:
    message = can.Message(
        arbitration_id=frame.arbitration_id,
        is_extended_id=frame.is_extended,
        is_remote_frame=frame.is_remote,
        is_fd=frame.is_fd,
        bitrate_switch=frame.bitrate_switch,
        error_state_indicator=frame.error_state_indicator,
        dlc=frame.remote_length if frame.is_remote else len(frame.data),
        data=frame.data,
    )
    ours = pack_frame(frame)
    theirs = build_can_frame(message)
    # python-can writes its DLC into the last reserved header byte, which the kernel ignores.
    assert ours[:7] + ours[8:] == theirs[:7] + theirs[8:]
    can_id, _, _, data = dissect_can_frame(ours)
    assert can_id & 0x1FFFFFFF == frame.arbitration_id
    assert data == (bytes(frame.remote_length) if frame.is_remote else frame.data)
